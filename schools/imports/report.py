"""What one import did: counts by table, the rows not imported (with their table, row number, column and why),
the children no longer in their school's roll (archived as departed), and classes whose group could not follow."""
from __future__ import annotations

from dataclasses import dataclass, field

from server.i18n import translate

MAX_LISTED = 1000  # errors and departed children listed in the report; the counts are always complete
COUNTS = (
    "units_created", "units_updated", "staff_created", "staff_updated", "staff_invited", "students_created", "students_updated",
    "students_transferred", "students_restored", "guardians_created", "links_created", "departed",
)


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A row not imported. ``message`` is a msgid with ``{placeholders}`` from ``params``, read in the reader's language."""

    source: str  # the sheet or file
    row: int | None
    field: str | None
    message: str
    params: dict = field(default_factory=dict)

    def text(self, locale: str = "en") -> str:
        return translate(locale, self.message, **self.params)


@dataclass
class ImportReport:
    rows_total: int = 0
    rows_done: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    failed: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    departed: list[dict] = field(default_factory=list)  # {"id", "external_id", "name"} of the first MAX_LISTED
    groups_over_cap: list[int] = field(default_factory=list)  # classes whose group was left as it was

    def count(self, name: str, amount: int = 1) -> None:
        self.counts[name] += amount

    def fail(self, problem: RowProblem) -> None:
        self.failed += 1
        if len(self.errors) < MAX_LISTED:
            self.errors.append(problem)

    def as_json(self) -> dict:
        """The report as stored on the job (schools/imports/jobs.py)."""
        return {
            "counts": self.counts, "failed": self.failed, "departed": self.departed, "groups_over_cap": self.groups_over_cap,
            "errors": [{"source": e.source, "row": e.row, "field": e.field, "message": e.message, "params": e.params} for e in self.errors],
        }
