"""Pydantic's validation errors in the reader's language.

English stays pydantic's own text (``"title: String should have at least 1 character"``); other
languages get the reason of the error's type, filled from its context, after the field's path.
A validator whose reason a person should read raises ``InvalidValue(msgid, **params)``; any other
reason stays English.
"""
from __future__ import annotations

from pydantic_core import ErrorDetails

from server.errors import InvalidInput
from server.i18n import _, translate


class InvalidValue(ValueError):
    """A validator's refusal as a msgid with keyword values, like the errors of server/errors.py."""

    def __init__(self, msgid: str, **params):
        self.msgid, self.params = msgid, params
        super().__init__(msgid.format(**params) if params else msgid)


REASONS = {
    "missing": _("Field required"),
    "string_too_short": _("String should have at least {min_length} characters"),
    "string_too_long": _("String should have at most {max_length} characters"),
    "too_short": _("should have at least {min_length} items, not {actual_length}"),
    "too_long": _("should have at most {max_length} items, not {actual_length}"),
    "greater_than": _("Input should be greater than {gt}"),
    "greater_than_equal": _("Input should be greater than or equal to {ge}"),
    "less_than": _("Input should be less than {lt}"),
    "less_than_equal": _("Input should be less than or equal to {le}"),
    "int_parsing": _("Input should be a valid integer"),
    "int_type": _("Input should be a valid integer"),
    "int_from_float": _("Input should be a valid integer"),
    "float_parsing": _("Input should be a valid number"),
    "float_type": _("Input should be a valid number"),
    "bool_parsing": _("Input should be a valid boolean"),
    "bool_type": _("Input should be a valid boolean"),
    "string_type": _("Input should be a valid string"),
    "list_type": _("Input should be a valid list"),
    "dict_type": _("Input should be an object"),
    "model_type": _("Input should be an object"),
    "literal_error": _("Input should be {expected}"),
    "enum": _("Input should be {expected}"),
    "string_pattern_mismatch": _("String should match pattern '{pattern}'"),
    "url_parsing": _("Input should be a valid URL"),
    "url_type": _("Input should be a valid URL"),
    "url_scheme": _("URL scheme should be {expected_schemes}"),
    "json_invalid": _("Invalid JSON: {error}"),
    "datetime_parsing": _("Input should be a valid date and time"),
    "datetime_from_date_parsing": _("Input should be a valid date and time"),
    "datetime_type": _("Input should be a valid date and time"),
    "date_parsing": _("Input should be a valid date"),
    "date_from_datetime_parsing": _("Input should be a valid date"),
}


class InvalidField(InvalidInput):
    """A value that failed its model: ``<field>: <reason>``, the reason translated by the error's type."""

    def __init__(self, english: str, reason: str, *, field: str | None, **params):
        super().__init__(reason, field=field, **params)
        self.message = english

    def as_json(self, locale: str = "en") -> dict:
        body = super().as_json(locale)
        if locale != "en" and self.field:
            body["error"]["message"] = f"{self.field}: {body['error']['message']}"
        return body


def validation_error(error: ErrorDetails) -> InvalidInput:
    """The 400 of the first of a ValidationError's ``errors()``."""
    field = ".".join(str(p) for p in error["loc"]) or None
    if error["type"] == "extra_forbidden":
        return InvalidInput("unknown field '{name}'", field=field, name=field)
    english = error["msg"] if not field else f"{field}: {error['msg']}"
    ctx = error.get("ctx") or {}
    cause = ctx.get("error")
    if error["type"] == "value_error" and isinstance(cause, InvalidValue):
        return InvalidField(english, cause.msgid, field=field, **cause.params)
    reason = REASONS.get(error["type"])
    if reason is None:
        return InvalidField(english, error["msg"], field=field)
    params = {k: v if isinstance(v, int | float) else str(v) for k, v in ctx.items()}
    for choices in ("expected", "expected_schemes"):  # "'a', 'b' or 'c'": the "or" is English
        if choices in params:
            params[choices] = params[choices].replace(" or ", ", ")
    return InvalidField(english, reason, field=field, **params)


def translated_reason(locale: str, error: ErrorDetails) -> str:
    """Only the reason, in ``locale`` (for a model built inside a handler, whose fields the caller did not name)."""
    built = validation_error(error)
    return translate(locale, built.msgid, **built.params) if locale != "en" else str(error["msg"])
