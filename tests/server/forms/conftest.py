"""Building blocks of the forms tests: a health-report definition, and forms made through the API."""
from __future__ import annotations

import copy

import pytest

from tests.server.orgs.conftest import OrgFixture, new_org, ok

HEALTH = {
    "fields": [
        {"name": "temperature", "type": "temperature", "label": "Temperature (°C)", "required": True, "min": 35, "max": 42,
         "abnormal": {"op": "ge", "value": 37.3}},
        {"name": "symptoms", "type": "yes_no", "label": "Any symptoms?", "required": True, "abnormal": {"op": "eq", "value": True}},
        {"name": "which", "type": "multiple_choice", "label": "Which symptoms?", "required": True,
         "choices": [{"value": "cough", "label": "Cough"}, {"value": "fever", "label": "Fever"}, {"value": "other", "label": "Other"}],
         "relevant": {"field": "symptoms", "op": "eq", "value": True}},
        {"name": "which_other", "type": "text", "label": "What else?", "required": True, "max_length": 200,
         "relevant": {"field": "which", "op": "contains", "value": "other"}},
        {"name": "since", "type": "date", "label": "Since when?", "relevant": {"field": "symptoms", "op": "eq", "value": True}},
        {"name": "checked_at", "type": "time", "label": "Measured at"},
        {"name": "where", "type": "location", "label": "Where are you?"},
        {"name": "photo", "type": "photo", "label": "A photo of the thermometer"},
        {"name": "mood", "type": "single_choice", "label": "How do you feel?",
         "choices": [{"value": "good", "label": "Good"}, {"value": "tired", "label": "Tired"}, {"value": "ill", "label": "Ill"}],
         "abnormal": {"op": "eq", "value": "ill"}},
        {"name": "sleep", "type": "number", "label": "Hours slept", "integer": True, "min": 0, "max": 24,
         "constraint": {"op": "ne", "value": 13}},
        {"name": "thanks", "type": "note", "label": "Thank you"},
    ]
}


def health() -> dict:
    return copy.deepcopy(HEALTH)


async def make_form(client, org, person, title: str = "Daily health report", definition: dict | None = None) -> dict:
    body = {"title": title, "definition": definition or health()}
    return await ok(await client.post(org.url("/forms"), json=body, headers=person.headers), 201)


@pytest.fixture
async def org(db) -> OrgFixture:
    return await new_org(db)
