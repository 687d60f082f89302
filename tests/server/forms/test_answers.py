"""Answers checked against a definition: every type, required, skip logic, constraints, abnormal rules, and the speed of it."""
from __future__ import annotations

import datetime as dt
import time

import pytest

from server.errors import InvalidInput
from server.forms.answers import check_answers, definition_of, holds
from server.forms.definition import Condition, FormDefinition
from server.forms.definition_checks import check_definition
from server.forms.models import FormVersion
from tests.server.forms.conftest import health

FORM = check_definition(FormDefinition.model_validate(health()))
WELL = {"temperature": 36.6, "symptoms": False}


def refused(answers: dict) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        check_answers(FORM, answers)
    return caught.value


def test_a_well_child_answers_two_questions_and_nothing_is_abnormal():
    checked = check_answers(FORM, WELL)
    assert checked.values == WELL and checked.abnormal == []


def test_a_fever_with_symptoms_is_abnormal_on_both_rules_and_follow_up_questions_open():
    answers = {"temperature": 38.1, "symptoms": True, "which": ["other", "cough", "cough"], "which_other": "rash", "since": "2026-03-01",
               "mood": "ill"}
    checked = check_answers(FORM, answers)
    assert checked.abnormal == ["temperature", "symptoms", "mood"]
    assert checked.values["which"] == ["cough", "other"]  # in the choices' order, once each


@pytest.mark.parametrize("answers, field, words", [
    ({"symptoms": False}, "temperature", "is required"),
    ({"temperature": "36.6", "symptoms": False}, "temperature", "must be a number"),
    ({"temperature": True, "symptoms": False}, "temperature", "must be a number"),
    ({"temperature": 43, "symptoms": False}, "temperature", "between 35 and 42"),
    ({"temperature": float("nan"), "symptoms": False}, "temperature", "must be a number"),
    ({"temperature": 36.6, "symptoms": "no"}, "symptoms", "yes or no"),
    ({**WELL, "which": ["cough"]}, "which", "not asked"),
    ({"temperature": 36.6, "symptoms": True}, "which", "is required"),
    ({"temperature": 36.6, "symptoms": True, "which": ["sneeze"]}, "which", "one of its choices"),
    ({"temperature": 36.6, "symptoms": True, "which": "cough"}, "which", "one of its choices"),
    ({"temperature": 36.6, "symptoms": True, "which": ["other"]}, "which_other", "is required"),
    ({"temperature": 36.6, "symptoms": True, "which": ["other"], "which_other": "x" * 201}, "which_other", "longer than 200"),
    ({"temperature": 36.6, "symptoms": True, "which": ["cough"], "since": "2026-02-30"}, "since", "date"),
    ({"temperature": 36.6, "symptoms": True, "which": ["cough"], "since": "1 March"}, "since", "date"),
    ({**WELL, "checked_at": "25:00"}, "checked_at", "time"),
    ({**WELL, "where": {"lat": 91, "lon": 0}}, "where", "location"),
    ({**WELL, "where": {"lat": 31.2, "lon": 121.5, "alt": 3}}, "where", "location"),
    ({**WELL, "photo": "IMG_1.jpg"}, "photo", "uploaded photo"),
    ({**WELL, "photo": 0}, "photo", "uploaded photo"),
    ({**WELL, "mood": "happy"}, "mood", "one of its choices"),
    ({**WELL, "sleep": 7.5}, "sleep", "whole number"),
    ({**WELL, "sleep": 25}, "sleep", "between 0 and 24"),
    ({**WELL, "sleep": 13}, "sleep", "not allowed"),
    ({**WELL, "thanks": "ok"}, "thanks", "note"),
    ({**WELL, "shoe_size": 38}, "shoe_size", "no field"),
])
def test_a_bad_answer_is_refused_naming_its_field(answers, field, words):
    error = refused(answers)
    assert (error.field, words in error.message) == (field, True), error.message


def test_every_type_comes_back_canonical():
    answers = {**WELL, "checked_at": "07:30:00", "where": {"lat": 31, "lon": 121.5, "accuracy": None}, "photo": 12, "sleep": 8.0,
               "mood": "", "which": []}
    checked = check_answers(FORM, answers)
    assert checked.values == {**WELL, "checked_at": "07:30", "where": {"lat": 31.0, "lon": 121.5}, "photo": 12, "sleep": 8}


def test_conditions_combine_with_all_any_and_none():
    values = {"a": 3, "b": ["x", "y"], "c": "2026-03-01"}
    cond = Condition.model_validate({"all": [
        {"field": "a", "op": "in", "value": [1, 3]},
        {"any": [{"field": "b", "op": "contains", "value": "z"}, {"field": "c", "op": "ge", "value": "2026-01-01"}]},
        {"none": [{"field": "d", "op": "answered"}]},
    ]})
    assert holds(cond, values, "e") is True
    assert holds(cond, values | {"d": 1}, "e") is False
    assert holds(Condition(field="a", op="gt", value="text"), values, "e") is False  # never a TypeError


def test_a_stored_version_is_parsed_once_and_checks_run_in_microseconds():
    made = dt.datetime.now(dt.timezone.utc)
    version = FormVersion(id=10_001, number=1, created_at=made, definition=FORM.model_dump(mode="json", exclude_defaults=True))
    parsed = definition_of(version)
    assert definition_of(FormVersion(id=10_001, created_at=made, definition={"fields": []})) is parsed  # a version never changes
    check_answers(parsed, WELL)
    answers = {"temperature": 38.1, "symptoms": True, "which": ["cough", "other"], "which_other": "rash", "since": "2026-03-01"}
    started = time.perf_counter()
    for _ in range(2000):
        check_answers(parsed, answers)
    per_check_us = (time.perf_counter() - started) / 2000 * 1e6
    assert per_check_us < 200, f"{per_check_us:.0f} µs a check"  # ~15 µs on the shared test machine
