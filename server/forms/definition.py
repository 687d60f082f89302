"""What a form version is made of: typed fields, conditions for skip logic, validation and "abnormal" flags.

A definition is stored as JSON on ``form_versions.definition`` and parsed
with these models wherever answers are checked, so what the builder page
saves, what the XLSForm import produces and what a submission is checked
against are one shape. The models check the shape of each part; what needs
the whole definition (a condition names an earlier field, choices are
unique, min ≤ max) is ``check_definition`` in ``definition_checks.py``, run
when a version is saved.

The answer each type takes (``answers.py`` checks and canonicalises it):

=================  ==============================================================
text               a string of at most ``max_length`` characters
number             a finite number within ``min``..``max`` (whole if ``integer``)
temperature        a number of °C within ``min``..``max`` (required: the range)
single_choice      one choice's ``value``
multiple_choice    a list of choice values (kept in the choices' order)
date, time         ``"YYYY-MM-DD"``, ``"HH:MM"`` (or ``"HH:MM:SS"``)
yes_no             ``true`` or ``false``
location           ``{"lat": ..., "lon": ..., "accuracy": metres or absent}``
photo              the id of a file uploaded as a form photo (``photos.py``)
note               nothing: a text shown to the respondent, never answered
=================  ==============================================================

An empty string or an empty list counts as no answer.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

FieldType = Literal[
    "text", "number", "temperature", "single_choice", "multiple_choice", "date", "time", "yes_no", "location", "photo",
    "note",
]
FIELD_TYPES: tuple[str, ...] = FieldType.__args__  # type: ignore[attr-defined]
Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
Op = Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "contains", "answered"]
MAX_FIELDS = 200


class Condition(BaseModel):
    """``field op value``, or ``all``/``any``/``none`` of conditions: skip logic (``relevant``), constraints and abnormal rules.

    ``field`` None means the field the condition belongs to (a constraint or
    an abnormal rule: "this answer ≥ 37.3"). A condition about a field that
    was not answered (or not asked) holds only as ``none: [{op: answered}]``.
    """

    model_config = ConfigDict(extra="forbid")

    field: Name | None = None
    op: Op | None = None
    value: Any = None
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    none: list[Condition] | None = None  # none of these holds (XLSForm's ``not(...)``)


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    value: Annotated[str, Field(min_length=1, max_length=64)]
    label: Annotated[str, Field(min_length=1, max_length=200)]


class FormField(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name
    type: FieldType
    label: Annotated[str, Field(min_length=1, max_length=500)]
    hint: Annotated[str, Field(max_length=500)] | None = None  # shown under the label
    required: bool = False
    choices: Annotated[list[Choice], Field(max_length=200)] = []
    min: float | None = None  # number, temperature: the range an answer must be in
    max: float | None = None
    integer: bool = False  # number: whole numbers only
    max_length: Annotated[int, Field(ge=1, le=10_000)] = 1000
    relevant: Condition | None = None  # shown (and answerable) only when this holds
    constraint: Condition | None = None  # an answer must make this hold (``field`` None means this field)
    abnormal: Condition | None = None  # an answer that makes this hold flags the submission


class FormDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: Annotated[list[FormField], Field(min_length=1, max_length=MAX_FIELDS)]

    _plan: Any = PrivateAttr(default=None)  # the compiled checks of answers.py, made on first use
