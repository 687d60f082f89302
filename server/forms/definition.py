"""What a form version is made of: typed fields, conditions for skip logic, validation and "abnormal" flags.

A definition is stored as JSON on ``form_versions.definition`` and parsed
with these models wherever answers are checked, so what the builder page
saves, what the XLSForm import produces and what a submission is checked
against are one shape.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FieldType = Literal[
    "text", "number", "temperature", "single_choice", "multiple_choice", "date", "time", "yes_no", "location", "photo",
]
Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]


class Condition(BaseModel):
    """``field op value``, or ``all``/``any`` of conditions: skip logic (``relevant``), constraints and abnormal rules."""

    model_config = ConfigDict(extra="forbid")

    field: Name | None = None
    op: Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "contains", "answered"] | None = None
    value: Any = None
    all: list[Condition] | None = None
    any: list[Condition] | None = None


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Annotated[str, Field(min_length=1, max_length=64)]
    label: Annotated[str, Field(min_length=1, max_length=200)]


class FormField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    type: FieldType
    label: Annotated[str, Field(min_length=1, max_length=500)]
    required: bool = False
    choices: list[Choice] = []
    min: float | None = None  # number, temperature: the range an answer must be in
    max: float | None = None
    max_length: Annotated[int, Field(ge=1, le=10_000)] = 1000
    relevant: Condition | None = None  # shown (and answerable) only when this holds
    constraint: Condition | None = None  # an answer must make this hold (``field`` None means this field)
    abnormal: Condition | None = None  # an answer that makes this hold flags the submission


class FormDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: Annotated[list[FormField], Field(min_length=1, max_length=200)]
