"""Checking a respondent's answers against the version of the form they answer.

``check_answers`` is the one gate every submission passes (the API, offline
submissions replayed later, a teacher submitting for a family): answers of
the wrong type, out of range, for a hidden field or missing when required
raise ``InvalidInput`` naming the field; what comes back is the answers in
canonical form and the names of the fields whose abnormal rule matched.

It runs for every submission (1,500 a second in bench/health.py), so a
definition is parsed once per version (``definition_of``: a version never
changes) and compiled once into a plan of
closures: one canonicaliser per field and one predicate per condition, with
the choice sets and ranges already built.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import sys
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.errors import InvalidInput
from server.forms.definition import Condition, FormDefinition, FormField
from server.forms.models import FormVersion

ID_MAX = 2**63 - 1
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")
_LOCATION_KEYS = frozenset(("lat", "lon", "accuracy"))
_FLOAT_MAX = sys.float_info.max

Values = dict[str, Any]
Predicate = Callable[[Values], bool]


@dataclass(frozen=True)
class CheckedAnswers:
    values: dict[str, Any]  # field name -> canonical answer, only fields that were shown and answered
    abnormal: list[str]  # names of fields whose abnormal rule matched


def check_answers(definition: FormDefinition, answers: dict[str, Any]) -> CheckedAnswers:
    plan = definition._plan or _compile(definition)
    if not isinstance(answers, dict):
        raise InvalidInput("the answers must be an object of field names and answers", field="answers")
    for name in answers:
        if name not in plan.names:
            raise InvalidInput("the form has no field {name}", field=name, name=name)
    values: Values = {}
    abnormal: list[str] = []
    for step in plan.steps:
        given = answers.get(step.name)
        if given == "" or given == []:
            given = None
        if step.relevant is not None and not step.relevant(values):
            if given is not None:
                raise InvalidInput("{name} is not asked with these answers", field=step.name, name=step.name)
            continue
        if given is None:
            if step.required:
                raise InvalidInput("{name} is required", field=step.name, name=step.name)
            continue
        values[step.name] = step.canonical(given)
        if step.constraint is not None and not step.constraint(values):
            raise InvalidInput("the answer to {name} is not allowed", field=step.name, name=step.name)
        if step.abnormal is not None and step.abnormal(values):
            abnormal.append(step.name)
    return CheckedAnswers(values, abnormal)


_PARSED: OrderedDict[tuple, FormDefinition] = OrderedDict()
_PARSED_MAX = 1024


def definition_of(version: FormVersion) -> FormDefinition:
    """The parsed (and, once checked, compiled) definition of a stored version, parsed once per version.

    Keyed by the version's id and creation time: a version never changes, and
    the time tells apart versions of another database that reused the id (tests).
    """
    found = parsed_if_cached(version.id, version.created_at)
    if found is not None:
        return found
    found = _PARSED[(version.id, version.created_at)] = FormDefinition.model_validate(version.definition)
    if len(_PARSED) > _PARSED_MAX:
        _PARSED.popitem(last=False)
    return found


def parsed_if_cached(version_id: int, created_at) -> FormDefinition | None:
    """The version's parsed definition if it is in the cache: a caller that knows the key reads no version row."""
    key = (version_id, created_at)
    found = _PARSED.get(key)
    if found is not None:
        _PARSED.move_to_end(key)
    return found


def holds(cond: Condition, values: Values, this: str) -> bool:
    """Whether a condition holds for the answers given so far (``field`` None means the field ``this``)."""
    return compile_condition(cond, this)(values)


# --- one answer ------------------------------------------------------------------------------------------------


def _number_text(x: float) -> str:
    return f"{x:g}"


def canonical(f: FormField, given: Any, *, in_range: bool = True) -> Any:
    """The canonical form of one answer to ``f``, or ``InvalidInput`` naming the field.

    ``in_range=False`` checks the type only (a condition's value: "≥ 37.3" may
    compare with a number the field's range does not reach).
    """
    name = f.name
    match f.type:
        case "number" | "temperature":
            if isinstance(given, bool) or not isinstance(given, (int, float)) or not math.isfinite(given):
                raise InvalidInput("{name} must be a number", field=name, name=name)
            if f.integer:
                if given != int(given):
                    raise InvalidInput("{name} must be a whole number", field=name, name=name)
                given = int(given)
            if in_range and ((f.min is not None and given < f.min) or (f.max is not None and given > f.max)):
                if f.min is not None and f.max is not None:
                    raise InvalidInput("{name} must be between {min} and {max}", field=name, name=name,
                                       min=_number_text(f.min), max=_number_text(f.max))
                if f.min is not None:
                    raise InvalidInput("{name} must be at least {min}", field=name, name=name, min=_number_text(f.min))
                raise InvalidInput("{name} must be at most {max}", field=name, name=name, max=_number_text(f.max))
            return given
        case "yes_no":
            if not isinstance(given, bool):
                raise InvalidInput("{name} must be yes or no", field=name, name=name)
            return given
        case "single_choice":
            if not isinstance(given, str) or given not in {c.value for c in f.choices}:
                raise InvalidInput("{name} must be one of its choices", field=name, name=name)
            return given
        case "multiple_choice":
            order = {c.value: i for i, c in enumerate(f.choices)}
            if not isinstance(given, list) or not all(isinstance(v, str) and v in order for v in given):
                raise InvalidInput("{name} must be one of its choices", field=name, name=name)
            return sorted(set(given), key=order.__getitem__)
        case "date":
            try:
                if isinstance(given, str) and _DATE.match(given):
                    return dt.date.fromisoformat(given).isoformat()
            except ValueError:
                pass
            raise InvalidInput("{name} must be a date (YYYY-MM-DD)", field=name, name=name)
        case "time":
            try:
                if isinstance(given, str) and _TIME.match(given):
                    t = dt.time.fromisoformat(given)
                    return t.isoformat(timespec="minutes" if t.second == 0 else "seconds")
            except ValueError:
                pass
            raise InvalidInput("{name} must be a time (HH:MM)", field=name, name=name)
        case "location":
            return _location(name, given)
        case "photo":
            if isinstance(given, bool) or not isinstance(given, int) or not 0 < given <= ID_MAX:
                raise InvalidInput("{name} must be the id of an uploaded photo", field=name, name=name)
            return given
        case "note":
            raise InvalidInput("{name} is a note and takes no answer", field=name, name=name)
    if not isinstance(given, str):
        raise InvalidInput("{name} must be text", field=name, name=name)
    if len(given) > f.max_length:
        raise InvalidInput("{name} is longer than {max_length} characters", field=name, name=name, max_length=f.max_length)
    return given


def _location(name: str, given: Any) -> dict[str, float]:
    def number(key: str, low: float, high: float) -> float:
        value = given.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and low <= value <= high):
            raise InvalidInput("{name} must be a location: lat and lon in degrees, accuracy in metres", field=name, name=name)
        return float(value)

    if not isinstance(given, dict) or not given.keys() <= _LOCATION_KEYS:
        raise InvalidInput("{name} must be a location: lat and lon in degrees, accuracy in metres", field=name, name=name)
    place = {"lat": number("lat", -90, 90), "lon": number("lon", -180, 180)}
    if given.get("accuracy") is not None:
        place["accuracy"] = number("accuracy", 0, 1e7)
    return place


# --- the compiled plan -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    name: str
    required: bool
    canonical: Callable[[Any], Any]
    relevant: Predicate | None
    constraint: Predicate | None
    abnormal: Predicate | None


@dataclass(frozen=True)
class _Plan:
    names: frozenset[str]
    steps: tuple[_Step, ...]


def _compile(definition: FormDefinition) -> _Plan:
    steps = []
    for f in definition.fields:
        rule = (lambda cond, this=f.name: None if cond is None else compile_condition(cond, this))
        steps.append(_Step(f.name, f.required, _canonicaliser(f), rule(f.relevant), rule(f.constraint), rule(f.abnormal)))
    plan = _Plan(frozenset(f.name for f in definition.fields), tuple(steps))
    definition._plan = plan
    return plan


def _canonicaliser(f: FormField) -> Callable[[Any], Any]:
    """``canonical`` for one field, with the common cases (a number in range, a choice) made without a lookup."""
    if f.type in ("number", "temperature") and not f.integer:
        low, high = (-_FLOAT_MAX if f.min is None else f.min), (_FLOAT_MAX if f.max is None else f.max)  # never ±inf

        def number(given: Any) -> Any:
            if type(given) in (int, float) and low <= given <= high:
                return given
            return canonical(f, given)

        return number
    if f.type == "single_choice":
        allowed = frozenset(c.value for c in f.choices)

        def choice(given: Any) -> Any:
            if type(given) is str and given in allowed:
                return given
            return canonical(f, given)

        return choice
    if f.type == "yes_no":
        return lambda given: given if type(given) is bool else canonical(f, given)
    return lambda given: canonical(f, given)


def compile_condition(cond: Condition, this: str) -> Predicate:
    """A condition as one closure over the answers so far (only answered fields are in them)."""
    for combine, parts in ((all, cond.all), (any, cond.any)):
        if parts is not None:
            compiled = tuple(compile_condition(c, this) for c in parts)
            return lambda values, combine=combine: combine(p(values) for p in compiled)
    if cond.none is not None:
        compiled = tuple(compile_condition(c, this) for c in cond.none)
        return lambda values: not any(p(values) for p in compiled)
    name, value = cond.field or this, cond.value
    match cond.op:
        case "answered":
            return lambda values: name in values
        case "eq":
            return lambda values: name in values and values[name] == value
        case "ne":
            return lambda values: name in values and values[name] != value
        case "in":
            try:
                members: Any = frozenset(value)
            except TypeError:
                members = list(value or ())
            return lambda values: name in values and values[name] in members
        case "contains":
            return lambda values: name in values and _contains(values[name], value)
    compare = {"lt": lambda a: a < value, "le": lambda a: a <= value, "gt": lambda a: a > value, "ge": lambda a: a >= value}.get(cond.op)
    if compare is None:
        return lambda values: False

    def ordered(values: Values) -> bool:
        try:
            return name in values and compare(values[name])
        except TypeError:
            return False

    return ordered


def _contains(answer: Any, value: Any) -> bool:
    try:
        return value in answer
    except TypeError:
        return False
