"""A foreign key's ``ON DELETE`` action done by a trigger on the parent table, for child rows written too many at a time
(a notice's 480,000 recipients) or too often (a city's submissions) to check a key on each.

PostgreSQL checks a foreign key for every row inserted: an index lookup and a
``FOR KEY SHARE`` lock of the parent's row, most of a bulk insert's time. A
trigger on the parent costs an insert nothing and does the key's action when
parent rows are deleted, by cascade too: per statement on PostgreSQL (the
deleted rows as a transition table), per row on SQLite. The child's column
needs an index. Migrations call these; a change here changes what they would
do on a new database, so it is a new function, not an edit.
"""
from __future__ import annotations


def on_parent_delete(dialect: str, name: str, *, parent: str, child: str, column: str, set_null: bool = False) -> list[str]:
    """The statements making trigger ``name``: deleting rows of ``parent`` deletes the rows of ``child`` whose ``column``
    holds their id (``set_null``: sets it to NULL instead)."""
    if dialect == "postgresql":
        action = (f"UPDATE {child} c SET {column} = NULL FROM old_rows o WHERE c.{column} = o.id" if set_null
                  else f"DELETE FROM {child} c USING old_rows o WHERE c.{column} = o.id")
        return [
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {action}; RETURN NULL; END $$",
            f"CREATE TRIGGER {name} AFTER DELETE ON {parent} REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
        ]
    action = f"UPDATE {child} SET {column} = NULL WHERE {column} = old.id" if set_null else f"DELETE FROM {child} WHERE {column} = old.id"
    return [f"CREATE TRIGGER {name} AFTER DELETE ON {parent} BEGIN {action}; END"]


def drop_on_parent_delete(dialect: str, name: str) -> str:
    """Undo ``on_parent_delete`` (on SQLite a migration that rebuilt the parent in batch mode took the trigger with it)."""
    return f"DROP FUNCTION {name}() CASCADE" if dialect == "postgresql" else f"DROP TRIGGER IF EXISTS {name}"
