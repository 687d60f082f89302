"""A form version as an XLSForm workbook, which ODK, KoboToolbox and Ona open and Muster imports back unchanged.

Each field is one survey row; each choice field has its own list on the
choices sheet (named after the field); yes/no is ``select_one yes_no``.
A number's range and a text's length limit are written into the constraint
(``. >= 35 and . <= 42 and (...)``), where other tools enforce them and the
import takes them back out. Two columns of Muster's own carry what XLSForm
has no word for, and other tools ignore: ``muster_type`` (``temperature``)
and ``muster_abnormal`` (the abnormal rule, as an expression).
"""
from __future__ import annotations

import io
import re

from server.errors import InvalidInput
from server.forms.definition import FormDefinition, FormField
from server.forms.xlsform.expressions import Unsupported, to_xpath, xpath_number

SURVEY_COLUMNS = ["type", "name", "label", "hint", "required", "relevant", "constraint", "muster_type", "muster_abnormal"]
TYPE_OF = {
    "text": "text", "temperature": "decimal", "date": "date", "time": "time", "location": "geopoint", "photo": "image", "note": "note",
    "yes_no": "select_one yes_no",
}
YES_NO_LIST = "yes_no"


def write_xlsform(title: str, form_id: int, version: int, definition: FormDefinition) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    survey = book.active
    survey.title = "survey"
    _append(survey, SURVEY_COLUMNS)
    choices = book.create_sheet("choices")
    _append(choices, ["list_name", "name", "label"])
    known: dict[str, FormField] = {}
    yes_no_listed = False
    for f in definition.fields:
        known[f.name] = f
        try:
            _append(survey, _row(f, known))
        except Unsupported as e:
            raise InvalidInput("{name} cannot be written as XLSForm: {value}", field=f.name, name=f.name,
                               value=e.params.get("value", "")) from None
        if f.choices:
            for choice in f.choices:
                _append(choices, [_list_name(f), choice.value, choice.label])
        elif f.type == "yes_no" and not yes_no_listed:
            _append(choices, [YES_NO_LIST, "yes", "Yes"])
            _append(choices, [YES_NO_LIST, "no", "No"])
            yes_no_listed = True
    settings = book.create_sheet("settings")
    _append(settings, ["form_title", "form_id", "version"])
    _append(settings, [title, f"muster_form_{form_id}", str(version)])
    for sheet in book.worksheets:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"  # text as text: a label starting with "=" is not a spreadsheet formula
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _list_name(f: FormField) -> str:
    return re.sub(r"\W", "_", f.name)


def _row(f: FormField, known: dict[str, FormField]) -> list[str]:
    if f.type == "number":
        kind = "integer" if f.integer else "decimal"
    elif f.type == "single_choice":
        kind = f"select_one {_list_name(f)}"
    elif f.type == "multiple_choice":
        kind = f"select_multiple {_list_name(f)}"
    else:
        kind = TYPE_OF[f.type]
    earlier = {k: v for k, v in known.items() if k != f.name}
    with_self = known
    bounds = []
    if f.min is not None:
        bounds.append(f". >= {xpath_number(f.min)}")
    if f.max is not None:
        bounds.append(f". <= {xpath_number(f.max)}")
    if f.type == "text" and f.max_length != FormField.model_fields["max_length"].default:
        bounds.append(f"string-length(.) <= {f.max_length}")
    constraint = None
    if f.constraint is not None:
        constraint = to_xpath(f.constraint, with_self, f)
        if bounds and (f.constraint.all is not None or f.constraint.any is not None or f.constraint.op == "in"):
            constraint = f"({constraint})"
    constraint_text = " and ".join(bounds + ([constraint] if constraint else []))
    return [
        kind,
        f.name,
        f.label,
        f.hint or "",
        "yes" if f.required else "",
        to_xpath(f.relevant, earlier, None) if f.relevant else "",
        constraint_text,
        "temperature" if f.type == "temperature" else "",
        to_xpath(f.abnormal, with_self, f) if f.abnormal else "",
    ]


def _append(sheet, row: list) -> None:
    """Append a row without the control characters a worksheet's XML cannot hold.

    A form's texts come from people and from imports: one such character in a
    label must not make the whole version unexportable.
    """
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
