"""Importing an XLSForm (the spreadsheet convention of ODK, KoboToolbox and Ona) as a Muster form definition.

pyxform reads the workbook: its survey, choices and settings sheets, its
aliases (``select one`` / ``select_one``, ``image`` / ``photo``), ``or_other``
(a choice ``other`` and a text question ``<name>_other`` asked when it is
picked) and its own checks (a choice list that does not exist, a reference
to no question); a workbook pyxform refuses is refused with its message.
Muster then maps each question, row by row:

==========================  ===============================================
text, integer, decimal      text, number (whole if integer)
decimal + muster_type       temperature (the range from the constraint)
range                       number from ``start`` to ``end``
select_one / _multiple      single / multiple choice, from the choices sheet
select_one of yes and no    yes/no (answers true and false)
date, time                  date, time
geopoint                    location
image                       photo
note                        note
acknowledge                 yes/no
==========================  ===============================================

``relevant``, ``constraint`` (a number's ``. >= a and . <= b`` becomes its
range, a text's ``string-length(.) <= n`` its length), ``required`` (yes/no)
and the Muster column ``muster_abnormal`` become conditions (expressions.py).

What Muster cannot represent is reported by spreadsheet row, never dropped
in silence. Anything that changes what is asked or accepted (a repeat, a
type Muster has not, an expression it cannot say, cascading choices, a
``required`` that is an expression) refuses the import with the whole list
(400, ``problems``). What only changes how the form looks or what it
records besides the answers (groups, flattened, with their skip logic
passed to their questions; other languages' labels; appearance, defaults,
constraint messages; metadata such as ``start`` or ``deviceid``;
calculations, which Muster does not compute) is imported with a warning per
row. A calculation or metadata field that a condition names refuses the
import, since that condition cannot be kept.
"""
from __future__ import annotations

import copy
import io
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from server.errors import InvalidInput, TooLarge
from server.forms.definition import Condition, FormDefinition, FormField
from server.forms.definition_checks import check_definition
from server.forms.xlsform.expressions import Node, Parser, Scope, Unsupported, condition_of, to_condition
from server.i18n import _, translate
from server.i18n.validation import validation_error

MAX_UNPACKED_BYTES = 16 << 20  # a form's workbook is small; a zip that unpacks past this is not one

SIMPLE_TYPES = {
    "text": "text", "integer": "number", "decimal": "number", "date": "date", "time": "time", "geopoint": "location",
    "photo": "photo", "note": "note", "acknowledge": "yes_no", "select one": "single_choice",
    "select all that apply": "multiple_choice", "range": "number",
}
METADATA_TYPES = {
    "start", "end", "today", "deviceid", "subscriberid", "simserial", "phonenumber", "username", "email", "audit",
    "start-geopoint", "background-audio", "background-geopoint",
}
# Keys of pyxform's question that the mapping reads; any other is a column not kept.
READ_KEYS = {"type", "name", "label", "hint", "bind", "choices", "itemset", "list_name", "parameters", "muster_type", "muster_abnormal",
             "children", "control"}
READ_BIND = {"relevant", "constraint", "required"}
COLUMN_OF = {"jr:constraintMsg": "constraint_message", "jr:requiredMsg": "required_message", "readonly": "read_only",
             "calculate": "calculation", "appearance": "appearance"}
REQUIRED = {"yes": True, "true": True, "true()": True, "no": False, "false": False, "false()": False}


@dataclass(frozen=True)
class Problem:
    """Something about one row (or the whole workbook: row None), as a msgid with its values, read in any language."""

    row: int | None
    message: str
    params: dict = field(default_factory=dict)
    reason: Unsupported | None = None  # why an expression cannot be kept, translated into ``{reason}``

    def text(self, locale: str) -> str:
        params = dict(self.params)
        if self.reason is not None:
            params["reason"] = translate(locale, self.reason.msgid, **self.reason.params)
        return translate(locale, self.message, **params)


class XlsformRefused(InvalidInput):
    """A 400 with every problem by row: nothing was imported."""

    code = "xlsform_unsupported"

    def __init__(self, problems: list[Problem]):
        super().__init__(_("the XLSForm has {count} parts Muster cannot represent, listed by row; nothing was imported"),
                         field="file", count=len(problems))
        self.problems = problems

    def as_json(self, locale: str = "en") -> dict:
        body = super().as_json(locale)
        body["problems"] = [{"row": p.row, "message": p.text(locale)} for p in self.problems]
        return body


@dataclass
class Imported:
    title: str
    definition: FormDefinition
    warnings: list[Problem]


def read_xlsform(data: bytes) -> Imported:
    """The definition an XLSForm workbook says, with warnings; ``XlsformRefused`` if any part cannot be represented."""
    from pyxform.builder import create_survey_element_from_dict
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import workbook_to_json
    from pyxform.xls2json_backends import get_xlsform, xlsx_to_dict

    _check_archive(data)
    try:
        sheets = xlsx_to_dict(io.BytesIO(data))
        if not sheets.get("survey"):
            raise InvalidInput("the workbook has no survey sheet: is it an XLSForm?", field="file")
        warnings: list[str] = []
        survey = workbook_to_json(workbook_dict=get_xlsform(copy.deepcopy(sheets)), form_name=None, fallback_form_name=None,
                                  default_language=None, warnings=warnings)
        create_survey_element_from_dict(copy.deepcopy(survey)).to_xml(validate=False, warnings=warnings)
    except PyXFormError as e:
        raise InvalidInput("pyxform cannot read this XLSForm: {error}", field="file", error=str(e)[:500]) from None
    reader = _Reader(sheets, survey.get("default_language") or "default")
    reader.walk(survey.get("children", []), [])
    definition = reader.definition()
    settings = (sheets.get("settings") or [{}])[0]
    title = str(settings.get("form_title") or settings.get("form_id") or "XLSForm")[:200]
    return Imported(title, definition, reader.warnings)


def _check_archive(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile:
        raise InvalidInput("the file is not an XLSX workbook", field="file") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise TooLarge("the workbook unpacks to {unpacked:,} bytes; a form's takes at most {limit:,}", field="file",
                       unpacked=unpacked, limit=MAX_UNPACKED_BYTES)


class _Reader:
    def __init__(self, sheets: dict, language: str):
        self.rows = {}
        for i, row in enumerate(sheets["survey"]):
            if row.get("name") and row["name"] not in self.rows:
                self.rows[row["name"]] = i + 2  # the header is row 1
        self.language = language
        self.languages: set[str] = set()
        self.fields: list[FormField] = []
        self.field_rows: list[int | None] = []
        self.known: dict[str, FormField] = {}
        self.not_kept: dict[str, int | None] = {}  # calculations and metadata: a condition naming them cannot be kept
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.last_row: int | None = None

    # --- walking pyxform's survey ---------------------------------------------------------------------------

    def walk(self, children: list[dict], relevant: list[Condition]) -> None:
        for element in children:
            kind, name = element.get("type"), element.get("name", "")
            row = self.rows.get(name, self.last_row)
            self.last_row = row
            if kind == "group":
                if name == "meta" and (element.get("control") or {}).get("bodyless"):
                    continue  # pyxform's own instanceID
                condition = self.condition_of(element, "relevant", row, Scope(self.known, None))
                self.warnings.append(Problem(row, _("row {row}: the group {name} is flattened: its questions are asked one after another"),
                                             {"row": row, "name": name}))
                self._not_kept(element, row, ignore={"children"})
                self.walk(element.get("children", []), relevant + ([condition] if condition else []))
            elif kind in ("repeat", "loop"):
                self.errors.append(Problem(row, _("row {row}: the repeat {name} is not supported: a Muster form asks each question once"),
                                           {"row": row, "name": name}))
            elif kind in METADATA_TYPES:
                self.not_kept[name] = row
                self.warnings.append(Problem(row, _("row {row}: {name} ({type}) is not recorded: Muster keeps who submitted and when"),
                                             {"row": row, "name": name, "type": kind}))
            elif kind == "calculate":
                self.not_kept[name] = row
                self.warnings.append(Problem(row, _("row {row}: the calculation {name} is not computed: Muster forms have no calculations"),
                                             {"row": row, "name": name}))
            elif kind in SIMPLE_TYPES:
                self._question(element, kind, row, relevant)
            else:
                self.errors.append(Problem(row, _("row {row}: the type {type} of {name} is not supported"), {"row": row, "type": kind, "name": name}))

    def _question(self, element: dict, kind: str, row: int | None, relevant: list[Condition]) -> None:
        name = element.get("name", "")
        spec: dict[str, Any] = {"name": name, "type": SIMPLE_TYPES[kind], "label": self._label(element.get("label")) or name}
        hint = self._label(element.get("hint"))
        if hint:
            spec["hint"] = hint
        if kind == "integer":
            spec["integer"] = True
        if kind in ("select one", "select all that apply"):
            if not element.get("choices"):
                self.errors.append(Problem(row, _("row {row}: {name} takes its choices from a file, which is not supported"),
                                           {"row": row, "name": name}))
                return
            choices = [{"value": c.get("name", ""), "label": self._label(c.get("label")) or c.get("name", "")} for c in element.get("choices", [])]
            if kind == "select one" and {c["value"] for c in choices} == {"yes", "no"} and len(choices) == 2:
                spec["type"] = "yes_no"
            else:
                spec["choices"] = choices
        if kind == "acknowledge":
            self.warnings.append(Problem(row, _("row {row}: the acknowledgement {name} is asked as yes or no"), {"row": row, "name": name}))
        if kind == "range":
            self._range(element, spec, row)
        muster_type = str(element.get("muster_type") or "").strip()
        if muster_type == "temperature" and spec["type"] == "number":
            spec["type"] = "temperature"
            spec.pop("integer", None)
        elif muster_type:
            self.errors.append(Problem(row, _("row {row}: muster_type {value} is not one Muster knows"), {"row": row, "value": muster_type}))
        bind = element.get("bind") or {}
        required = str(bind.get("required", "no")).strip()
        if required.lower() not in REQUIRED:
            self.errors.append(Problem(row, _("row {row}: required must be yes or no, not an expression"), {"row": row}))
        spec["required"] = REQUIRED.get(required.lower(), False)
        self._not_kept(element, row, ignore=set())
        try:
            draft = FormField.model_validate(spec)
        except ValidationError as e:
            self._invalid(validation_error(e.errors()[0]), row)
            return
        own = self.condition_of(element, "relevant", row, Scope(self.known, None))
        conditions = relevant + ([own] if own else [])
        updates: dict[str, Any] = {}
        if conditions:
            updates["relevant"] = conditions[0] if len(conditions) == 1 else Condition(all=conditions)
        with_self = Scope(self.known | {name: draft}, draft)
        updates |= self._constraint(bind.get("constraint"), draft, row, with_self)
        abnormal = element.get("muster_abnormal")
        if abnormal:
            updates["abnormal"] = self._parse("muster_abnormal", str(abnormal), row, with_self)
        final = draft.model_copy(update=updates)
        self.fields.append(final)
        self.field_rows.append(row)
        self.known[name] = final

    def _range(self, element: dict, spec: dict, row: int | None) -> None:
        parameters = element.get("parameters") or {}
        try:
            start, end, step = (Decimal(str(parameters.get(k, default))) for k, default in (("start", 1), ("end", 10), ("step", 1)))
        except ArithmeticError:
            self.errors.append(Problem(row, _("row {row}: the range's start, end and step must be numbers"), {"row": row}))
            return
        spec["min"], spec["max"] = float(min(start, end)), float(max(start, end))
        spec["integer"] = all(v == v.to_integral_value() for v in (start, end, step))
        self.warnings.append(Problem(row, _("row {row}: the range {name} is asked as a number from {min} to {max}"),
                                     {"row": row, "name": spec["name"], "min": f"{start:f}", "max": f"{end:f}"}))

    # --- expressions ------------------------------------------------------------------------------------------

    def condition_of(self, element: dict, key: str, row: int | None, scope: Scope) -> Condition | None:
        text = (element.get("bind") or {}).get(key)
        return self._parse(key, str(text), row, scope) if text else None

    def _parse(self, column: str, text: str, row: int | None, scope: Scope) -> Condition | None:
        try:
            return to_condition(text, scope)
        except Unsupported as e:
            self._unsupported(column, text, row, self._explained(e))
            return None

    def _explained(self, e: Unsupported) -> Unsupported:
        """Naming a calculation or metadata says why: it is not kept."""
        name = e.params.get("field")
        if name in self.not_kept:
            return Unsupported(_("it names {field}, which Muster does not keep (row {row})"), field=name, row=self.not_kept[name])
        return e

    def _unsupported(self, column: str, text: str, row: int | None, reason: Unsupported) -> None:
        self.errors.append(Problem(row, _("row {row}: the {column} '{expression}' cannot be kept: {reason}"),
                                   {"row": row, "column": column, "expression": text[:200]}, reason))

    def _constraint(self, text: Any, draft: FormField, row: int | None, scope: Scope) -> dict[str, Any]:
        """A number's range and a text's length limit taken out of its constraint; the rest stays the constraint."""
        if not text:
            return {}
        text = str(text)
        try:
            tree = Parser(text).parse()
            terms = tree.parts if tree.kind == "and" else [tree]
            updates: dict[str, Any] = {}
            rest = []
            for term in terms:
                taken = _bound(term, draft)
                if taken is not None and taken[0] not in updates:
                    updates[taken[0]] = taken[1]
                else:
                    rest.append(term)
            if rest:
                parts = [condition_of(t, scope) for t in rest]
                updates["constraint"] = parts[0] if len(parts) == 1 else Condition(all=parts)
            return updates
        except Unsupported as e:
            self._unsupported("constraint", text, row, self._explained(e))
            return {}

    # --- the result -------------------------------------------------------------------------------------------

    def _label(self, label: Any) -> str:
        if isinstance(label, dict):
            self.languages.update(label)
            chosen = label.get(self.language) or label.get("default") or next(iter(label.values()), "")
            return str(chosen).strip()
        return str(label or "").strip()

    def _not_kept(self, element: dict, row: int | None, *, ignore: set[str]) -> None:
        columns = sorted(
            {k for k in element if k not in READ_KEYS | ignore}
            | {COLUMN_OF.get(k, k) for k in (element.get("bind") or {}) if k not in READ_BIND}
            | {COLUMN_OF.get(k, k) for k in (element.get("control") or {}) if k not in (element.get("parameters") or {})}
            | ({"parameters"} if element.get("parameters") and element.get("type") != "range" else set())
        )
        if "choice_filter" in columns:
            self.errors.append(Problem(row, _("row {row}: choice_filter (cascading choices) is not supported"), {"row": row}))
            columns.remove("choice_filter")
        if columns:
            self.warnings.append(Problem(row, _("row {row}: not kept: {columns}"), {"row": row, "columns": ", ".join(columns)}))

    def _invalid(self, error: InvalidInput, row: int | None) -> None:
        self.errors.append(Problem(row, _("row {row}: {reason}"), {"row": row}, Unsupported(error.msgid, **error.params)))

    def definition(self) -> FormDefinition:
        if len(self.languages) > 1:
            others = sorted(self.languages - {self.language})
            self.warnings.insert(0, Problem(None, _("labels are kept in {language} only, not in {others}"),
                                            {"language": self.language, "others": ", ".join(others)}))
        if not self.fields and not self.errors:
            self.errors.append(Problem(None, _("the XLSForm has no question Muster can ask")))
        if not self.errors:
            try:
                fields = [f.model_dump(exclude_defaults=True) for f in self.fields]  # validated whole: model_copy did not
                return check_definition(FormDefinition.model_validate({"fields": fields}))
            except ValidationError as e:
                self._at_field(validation_error(e.errors()[0]))
            except InvalidInput as e:
                self._at_field(e)
        raise XlsformRefused(self.errors)

    def _at_field(self, error: InvalidInput) -> None:
        """An error of the whole definition, told at the row of the field it is about."""
        parts = (error.field or "").split(".")
        index = next((int(p) for p in parts[parts.index("fields") + 1:][:1] if p.isdigit()), None) if "fields" in parts else None
        row = self.field_rows[index] if index is not None and index < len(self.field_rows) else None
        self._invalid(error, row)


def _bound(term: Node, draft: FormField) -> tuple[str, Any] | None:
    """``. >= a`` / ``. <= b`` on a number, ``string-length(.) <= n`` on a text: (what it sets, its value), else None."""
    if term.kind != "cmp":
        return None
    op, left, right = term.parts
    if right.kind != "lit" or not isinstance(right.parts[0], Decimal):
        return None
    if draft.type in ("number", "temperature") and left.kind == "self" and op in ("ge", "le"):
        return ("min" if op == "ge" else "max"), float(right.parts[0])
    if (draft.type == "text" and op == "le" and left.kind == "call" and left.parts[0] == "string-length"
            and len(left.parts[1]) == 1 and left.parts[1][0].kind == "self"):
        return "max_length", int(right.parts[0])
    return None
