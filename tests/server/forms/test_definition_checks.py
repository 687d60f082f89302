"""A definition is checked whole when it is saved: each refusal names the part at fault."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from server.errors import InvalidInput
from server.forms.definition import FormDefinition
from server.forms.definition_checks import check_definition
from tests.server.forms.conftest import health


def changed(index: int, **values) -> dict:
    definition = health()
    definition["fields"][index].update(values)
    return definition


@pytest.mark.parametrize("definition, field, words", [
    (changed(1, name="temperature"), "definition.fields.1.name", "two fields"),
    (changed(2, choices=[]), "definition.fields.2.choices", "at least one choice"),
    (changed(2, choices=[{"value": "a", "label": "A"}, {"value": "a", "label": "B"}]), "definition.fields.2.choices.1.value", "twice"),
    (changed(1, choices=[{"value": "a", "label": "A"}]), "definition.fields.1.choices", "only single and multiple"),
    (changed(0, min=40, max=36), "definition.fields.0.min", "larger than max"),
    (changed(0, min=None), "definition.fields.0.min", "needs a range"),
    (changed(3, min=1), "definition.fields.3.min", "only number and temperature"),
    (changed(0, integer=True), "definition.fields.0.integer", "only number fields"),
    (changed(10, required=True), "definition.fields.10.required", "note"),
    (changed(2, relevant={"field": "which_other", "op": "answered"}), "definition.fields.2.relevant.field", "not an earlier field"),
    (changed(2, relevant={"field": "which", "op": "answered"}), "definition.fields.2.relevant.field", "not an earlier field"),
    (changed(2, relevant={"op": "answered"}), "definition.fields.2.relevant.field", "skip logic names"),
    (changed(2, relevant={"field": "nothing", "op": "answered"}), "definition.fields.2.relevant.field", "not an earlier field"),
    (changed(2, relevant={"field": "symptoms", "op": "eq", "value": "yes"}), "definition.fields.2.relevant.value", "cannot have"),
    (changed(2, relevant={"field": "symptoms", "op": "gt", "value": True}), "definition.fields.2.relevant.op", "cannot test"),
    (changed(3, relevant={"field": "which", "op": "contains", "value": "sneeze"}), "definition.fields.3.relevant.value", "cannot have"),
    (changed(3, relevant={"field": "which", "op": "eq", "value": "cough"}), "definition.fields.3.relevant.op", "cannot test"),
    (changed(4, relevant={"field": "temperature", "op": "in", "value": []}), "definition.fields.4.relevant.value", "cannot have"),
    (changed(4, relevant={"field": "temperature", "op": "answered", "value": 1}), "definition.fields.4.relevant.value", "takes no value"),
    (changed(4, relevant={"field": "symptoms", "op": "eq", "value": True, "all": []}), "definition.fields.4.relevant", "either one test"),
    (changed(4, relevant={"any": []}), "definition.fields.4.relevant.any", "at least one condition"),
    (changed(4, relevant={"field": "symptoms"}), "definition.fields.4.relevant.op", "needs an op"),
    (changed(4, relevant={"all": [{"any": [{"none": [{"all": [{"field": "symptoms", "op": "answered"}]}]}]}]}),
     "definition.fields.4.relevant.all.0.any.0.none.0", "nested"),
    (changed(4, constraint={"op": "ge", "value": "yesterday"}), "definition.fields.4.constraint.value", "cannot have"),
    (changed(5, relevant={"field": "thanks", "op": "answered"}), "definition.fields.5.relevant.field", "not an earlier field"),
    (changed(0, abnormal={"any": [{"op": "ge", "value": 37.3}] * 51}), "definition.fields.0.abnormal.any.50", "more than 50"),
])
def test_a_definition_that_cannot_be_answered_sensibly_is_refused_naming_the_part(definition, field, words):
    with pytest.raises(InvalidInput) as caught:
        check_definition(FormDefinition.model_validate(definition))
    assert (caught.value.field, words in caught.value.message) == (field, True), caught.value.message


def test_a_note_is_never_tested_and_field_names_are_identifiers():
    definition = health()
    definition["fields"].append({"name": "after", "type": "text", "label": "After", "relevant": {"field": "thanks", "op": "answered"}})
    with pytest.raises(InvalidInput, match="a note"):
        check_definition(FormDefinition.model_validate(definition))
    with pytest.raises(ValidationError):
        FormDefinition.model_validate(changed(0, name="体温"))


def test_condition_values_are_stored_canonical():
    definition = changed(4, constraint={"op": "ge", "value": "2026-03-01"})
    definition["fields"][5]["constraint"] = {"op": "in", "value": ["07:30:00", "08:00"]}
    checked = check_definition(FormDefinition.model_validate(definition))
    assert checked.fields[5].constraint.value == ["07:30", "08:00"]
