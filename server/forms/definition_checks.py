"""The sanity of a whole definition, checked when a version is saved (the builder, the API, an XLSForm import).

The pydantic models check each part's shape; this checks what needs the
whole list: names are unique, a condition names the field itself or an
earlier one (so answers are checked in one pass, top to bottom, and skip
logic cannot loop), each operator suits the type of the field it tests and
its value is an answer that field could have (stored canonical: a date
compared as ``"2026-03-01"``), choices are unique, ranges are ranges. Each
refusal is a 400 whose ``field`` is the path of the part at fault
(``definition.fields.3.relevant``), so the builder can point at it.
"""
from __future__ import annotations

import math
from typing import Any

from server.errors import InvalidInput
from server.forms.answers import canonical
from server.forms.definition import Condition, FormDefinition, FormField

RANGED = ("number", "temperature")
CHOICES = ("single_choice", "multiple_choice")
ORDERED = ("number", "temperature", "date", "time")
# What each operator may test; "answered" tests any field that takes an answer.
OPS_FOR = {
    "eq": ("text", "number", "temperature", "single_choice", "date", "time", "yes_no"),
    "ne": ("text", "number", "temperature", "single_choice", "date", "time", "yes_no"),
    "lt": ORDERED, "le": ORDERED, "gt": ORDERED, "ge": ORDERED,
    "in": ("text", "number", "temperature", "single_choice", "date", "time"),
    "contains": ("text", "multiple_choice"),
}
MAX_DEPTH = 4  # all/any/none nested in each other
MAX_CONDITIONS = 50  # leaves in one rule


def check_definition(definition: FormDefinition, path: str = "definition") -> FormDefinition:
    """Refuse a definition that could not be answered sensibly; condition values come back canonical."""
    earlier: dict[str, FormField] = {}
    for i, f in enumerate(definition.fields):
        at = f"{path}.fields.{i}"
        if f.name in earlier:
            raise InvalidInput("two fields are named {name}", field=f"{at}.name", name=f.name)
        _check_field(f, at)
        for rule in ("relevant", "constraint", "abnormal"):
            cond = getattr(f, rule)
            if cond is not None:
                scope = earlier if rule == "relevant" else earlier | {f.name: f}
                _check_condition(cond, f, scope, f"{at}.{rule}", depth=1, count=[0], needs_field=rule == "relevant")
        earlier[f.name] = f
    return definition


def _check_field(f: FormField, at: str) -> None:
    name = f.name
    if f.type in CHOICES:
        if not f.choices:
            raise InvalidInput("{name} needs at least one choice", field=f"{at}.choices", name=name)
        seen = set()
        for j, choice in enumerate(f.choices):
            if choice.value in seen:
                raise InvalidInput("{name} has the choice {value} twice", field=f"{at}.choices.{j}.value", name=name, value=choice.value)
            seen.add(choice.value)
    elif f.choices:
        raise InvalidInput("{name}: only single and multiple choice fields have choices", field=f"{at}.choices", name=name)
    for bound in ("min", "max"):
        value = getattr(f, bound)
        if value is not None and (f.type not in RANGED or not math.isfinite(value)):
            raise InvalidInput("{name}: only number and temperature fields have a range", field=f"{at}.{bound}", name=name)
    if f.type == "temperature" and (f.min is None or f.max is None):
        raise InvalidInput("{name}: a temperature needs a range (min and max)", field=f"{at}.min", name=name)
    if f.min is not None and f.max is not None and f.min > f.max:
        raise InvalidInput("{name}: min is larger than max", field=f"{at}.min", name=name)
    if f.integer and f.type != "number":
        raise InvalidInput("{name}: only number fields can be whole numbers only", field=f"{at}.integer", name=name)
    if f.type == "note":
        for rule in ("required", "constraint", "abnormal"):
            if getattr(f, rule):
                raise InvalidInput("{name} is a note: it takes no answer, so it cannot be required or checked", field=f"{at}.{rule}", name=name)


def _check_condition(cond: Condition, this: FormField, scope: dict[str, FormField], at: str, *, depth: int, count: list[int], needs_field: bool) -> None:
    name = this.name
    branches = [b for b in ("all", "any", "none") if getattr(cond, b) is not None]
    if branches:
        if len(branches) > 1 or cond.op is not None or cond.field is not None or cond.value is not None:
            raise InvalidInput("{name}: a condition is either one test or all/any/none of conditions", field=at, name=name)
        if depth >= MAX_DEPTH:
            raise InvalidInput("{name}: conditions are nested more than {limit} deep", field=at, name=name, limit=MAX_DEPTH)
        parts = getattr(cond, branches[0])
        if not parts:
            raise InvalidInput("{name}: {branch} needs at least one condition", field=f"{at}.{branches[0]}", name=name, branch=branches[0])
        for k, part in enumerate(parts):
            _check_condition(part, this, scope, f"{at}.{branches[0]}.{k}", depth=depth + 1, count=count, needs_field=needs_field)
        return
    count[0] += 1
    if count[0] > MAX_CONDITIONS:
        raise InvalidInput("{name}: a rule has more than {limit} conditions", field=at, name=name, limit=MAX_CONDITIONS)
    if cond.op is None:
        raise InvalidInput("{name}: a condition needs an op, or all/any/none of conditions", field=f"{at}.op", name=name)
    if cond.field is None and needs_field:
        raise InvalidInput("{name}: skip logic names the earlier field it depends on", field=f"{at}.field", name=name)
    target = scope.get(cond.field or name)
    if target is None:
        raise InvalidInput("{name}: the condition names {target}, which is not an earlier field", field=f"{at}.field", name=name,
                           target=cond.field)
    if target.type == "note":
        raise InvalidInput("{name}: the condition tests {target}, a note, which has no answer", field=f"{at}.field", name=name, target=target.name)
    if cond.op == "answered":
        if cond.value is not None:
            raise InvalidInput("{name}: 'answered' takes no value", field=f"{at}.value", name=name)
        return
    if target.type not in OPS_FOR[cond.op]:
        raise InvalidInput("{name}: {op} cannot test {target} (a {type} field)", field=f"{at}.op", name=name, op=cond.op,
                           target=target.name, type=target.type)
    cond.value = _canonical_value(cond, target, name, f"{at}.value")


def _canonical_value(cond: Condition, target: FormField, name: str, at: str) -> Any:
    def one(value: Any) -> Any:
        if cond.op == "contains":
            if target.type == "multiple_choice":
                return canonical(target, [value])[0] if isinstance(value, str) else canonical(target, value)
            return canonical(target, value, in_range=False)
        return canonical(target, value, in_range=False)

    refused = InvalidInput("{name}: the condition compares {target} with a value it cannot have", field=at, name=name, target=target.name)
    if cond.op == "in" and (not isinstance(cond.value, list) or not cond.value or len(cond.value) > 200):
        raise refused
    try:
        return [one(v) for v in cond.value] if cond.op == "in" else one(cond.value)
    except InvalidInput:
        raise refused from None
