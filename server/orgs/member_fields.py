"""What a member's fields may hold: one set of checks, used by the API and by the import.

Each ``clean_*`` takes what a person typed and returns the stored form, or
raises ``InvalidInput`` naming the field.
"""
from __future__ import annotations

import re

from server.accounts.login import normalise_email
from server.errors import InvalidInput
from server.orgs.phones import normalise_phone

# Column sizes of server/orgs/models.py.
NAME_MAX = 200
TITLE_MAX = 200
EMAIL_MAX = 320
EXTERNAL_ID_MAX = 128

MEMBER_ROLES = ("member", "admin", "owner")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def clean_display_name(value: str, *, field: str = "display_name") -> str:
    value = value.strip()
    if not value:
        raise InvalidInput("a name is required", field=field)
    if len(value) > NAME_MAX:
        raise InvalidInput("name is longer than {name_max} characters", field=field, name_max=NAME_MAX)
    return value


def clean_email(value: str | None) -> str | None:
    """Lower-cased, as accounts store it; empty means none."""
    if value is None or not value.strip():
        return None
    value = normalise_email(value)
    if len(value) > EMAIL_MAX or not _EMAIL.match(value):
        raise InvalidInput("'{value}' is not an email address", field="email", value=value[:80])
    return value


def clean_phone(value: str | None, region: str) -> str | None:
    if value is None or not value.strip():
        return None
    return normalise_phone(value.strip(), region)


def clean_title(value: str | None) -> str:
    value = (value or "").strip()
    if len(value) > TITLE_MAX:
        raise InvalidInput("title is longer than {title_max} characters", field="title", title_max=TITLE_MAX)
    return value


def clean_external_id(value: str | None) -> str | None:
    """The organisation's own id for a person (HR number); how a re-import finds them again."""
    value = (value or "").strip()
    if len(value) > EXTERNAL_ID_MAX:
        raise InvalidInput("external_id is longer than {external_id_max} characters", field="external_id", external_id_max=EXTERNAL_ID_MAX)
    return value or None


def clean_role(value: str | None) -> str:
    value = (value or "").strip().lower() or "member"
    if value not in MEMBER_ROLES:
        raise InvalidInput("role must be one of {roles}, not '{value}'", field="role", roles=', '.join(MEMBER_ROLES), value=value[:40])
    return value
