"""Checking a respondent's answers against the version of the form they answer.

``check_answers`` is the one gate every submission passes (the API, offline
submissions replayed later, a teacher submitting for a family): answers of
the wrong type, out of range, for a hidden field or missing when required
raise ``InvalidInput`` naming the field; what comes back is the answers in
canonical form and the names of the fields whose abnormal rule matched.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.errors import InvalidInput
from server.forms.definition import Condition, FormDefinition, FormField


@dataclass(frozen=True)
class CheckedAnswers:
    values: dict[str, Any]  # field name -> canonical answer, only fields that were shown and answered
    abnormal: list[str]  # names of fields whose abnormal rule matched


def check_answers(definition: FormDefinition, answers: dict[str, Any]) -> CheckedAnswers:
    known = {f.name for f in definition.fields}
    for name in answers:
        if name not in known:
            raise InvalidInput("the form has no field {name}", field=name, name=name)
    values: dict[str, Any] = {}
    abnormal: list[str] = []
    for f in definition.fields:
        given = answers.get(f.name)
        if f.relevant is not None and not holds(f.relevant, values, f.name):
            if given is not None:
                raise InvalidInput("{name} is not asked with these answers", field=f.name, name=f.name)
            continue
        if given is None:
            if f.required:
                raise InvalidInput("{name} is required", field=f.name, name=f.name)
            continue
        values[f.name] = check_value(f, given)
        if f.constraint is not None and not holds(f.constraint, values, f.name):
            raise InvalidInput("the answer to {name} is not allowed", field=f.name, name=f.name)
        if f.abnormal is not None and holds(f.abnormal, values, f.name):
            abnormal.append(f.name)
    return CheckedAnswers(values, abnormal)


def check_value(f: FormField, given: Any) -> Any:
    """The canonical form of one answer, or ``InvalidInput`` naming the field."""
    if f.type in ("number", "temperature"):
        if isinstance(given, bool) or not isinstance(given, (int, float)):
            raise InvalidInput("{name} must be a number", field=f.name, name=f.name)
        if (f.min is not None and given < f.min) or (f.max is not None and given > f.max):
            raise InvalidInput("{name} is out of range", field=f.name, name=f.name)
        return given
    if f.type == "yes_no":
        if not isinstance(given, bool):
            raise InvalidInput("{name} must be yes or no", field=f.name, name=f.name)
        return given
    if f.type == "single_choice":
        if given not in {c.value for c in f.choices}:
            raise InvalidInput("{name} must be one of its choices", field=f.name, name=f.name)
        return given
    if f.type == "multiple_choice":
        allowed = {c.value for c in f.choices}
        if not isinstance(given, list) or not all(isinstance(v, str) and v in allowed for v in given):
            raise InvalidInput("{name} must be one of its choices", field=f.name, name=f.name)
        return sorted(set(given))
    if not isinstance(given, str) or len(given) > f.max_length:
        raise InvalidInput("{name} must be text", field=f.name, name=f.name)
    return given


def holds(cond: Condition, values: dict[str, Any], this: str) -> bool:
    """Whether a condition holds for the answers given so far (``field`` None means the field being checked)."""
    if cond.all is not None:
        return all(holds(c, values, this) for c in cond.all)
    if cond.any is not None:
        return any(holds(c, values, this) for c in cond.any)
    value = values.get(cond.field or this)
    if cond.op == "answered":
        return value is not None
    if value is None:
        return False
    try:
        match cond.op:
            case "eq": return value == cond.value
            case "ne": return value != cond.value
            case "lt": return value < cond.value
            case "le": return value <= cond.value
            case "gt": return value > cond.value
            case "ge": return value >= cond.value
            case "in": return value in cond.value
            case "contains": return cond.value in value
    except TypeError:
        return False
    return False
