"""XLSForm expressions (``relevant``, ``constraint``, ``muster_abnormal``) to Muster conditions and back.

XLSForm writes conditions in XPath: ``${fever} = 'yes' and ${temp} >= 37.3``,
``selected(${symptoms}, 'cough')``, ``. >= 35``. Muster keeps the part of
it a condition can say: comparisons of one field with a literal, ``and``,
``or``, ``not()``, ``selected()``, ``contains()``, and ``${x} != ''`` for
"answered". Anything else (arithmetic, other functions, paths, comparing two
fields) is refused with the reason, never approximated.

The tree keeps the spreadsheet's parentheses, so what ``to_xpath`` writes
reads back as the same condition; ``a = 'x' or a = 'y'`` on one field reads
as ``in``, which is also how ``in`` is written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from server.forms.definition import Condition, FormField
from server.i18n import _

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<ref>\$\{(?P<ref_name>[^}]*)\}) |
        (?P<parent_ref>\.\./(?P<parent_name>[A-Za-z_][\w.-]*)) |
        (?P<number>\d+(?:\.\d+)?|\.\d+) |
        (?P<string>'[^']*'|"[^"]*") |
        (?P<op>!=|<=|>=|=|<|>|\+|-|\*|\|) |
        (?P<word>[A-Za-z_][\w.:-]*) |
        (?P<punct>[(),]) |
        (?P<self>\.) |
        (?P<other>\S)
    )""",
    re.X,
)
_COMPARE = {"=": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
_FLIPPED = {"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}
_TO_XPATH = {v: k for k, v in _COMPARE.items()}


class Unsupported(Exception):
    """What Muster cannot represent in an expression: a msgid and its params (the importer reports it by row)."""

    def __init__(self, message: str, **params):
        super().__init__(message.format(**params))
        self.msgid = message
        self.params = params


# --- parsing into a small tree -------------------------------------------------------------------------------


@dataclass
class Node:
    kind: str  # "or", "and", "not", "paren", "cmp", "call", "ref", "self", "lit"
    parts: list[Any]


def _tokens(text: str) -> list[tuple[str, str]]:
    out = []
    for m in _TOKEN.finditer(text):
        kind = next(k for k in ("ref", "parent_ref", "number", "string", "op", "word", "punct", "self", "other") if m.group(k) is not None)
        if kind == "ref":
            out.append(("ref", m.group("ref_name").strip()))
        elif kind == "parent_ref":
            out.append(("ref", m.group("parent_name")))
        else:
            out.append((kind, m.group(kind)))
    return out


class Parser:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise Unsupported(_("the expression ends too early"))
        self.at += 1
        return token

    def expect(self, value: str) -> None:
        token = self.take()
        if token[1] != value:
            raise Unsupported(_("expected '{expected}' but found '{found}'"), expected=value, found=token[1])

    def parse(self) -> Node:
        node = self.either()
        if self.peek() is not None:
            raise Unsupported(_("'{found}' is not understood here"), found=self.peek()[1])
        return node

    def either(self) -> Node:
        return self.chain("or", self.both)

    def both(self) -> Node:
        return self.chain("and", self.comparison)

    def chain(self, word: str, inner) -> Node:
        """``inner (word inner)*``: one node of kind ``word`` ("or", "and") if there are several."""
        parts = [inner()]
        while self.peek() == ("word", word):
            self.take()
            parts.append(inner())
        return parts[0] if len(parts) == 1 else Node(word, parts)

    def comparison(self) -> Node:
        left = self.operand()
        token = self.peek()
        if token and token[0] == "op" and token[1] in _COMPARE:
            self.take()
            right = self.operand()
            return Node("cmp", [_COMPARE[token[1]], left, right])
        return left

    def operand(self) -> Node:
        node = self.term()
        nxt = self.peek()
        if nxt and ((nxt[0] == "op" and nxt[1] in "+-*|") or nxt in (("word", "div"), ("word", "mod"))):
            raise Unsupported(_("arithmetic ('{op}') is not supported"), op=nxt[1])
        return node

    def term(self) -> Node:
        kind, value = self.take()
        if kind == "punct" and value == "(":
            inner = self.either()
            self.expect(")")
            return Node("paren", [inner])
        if kind == "ref":
            return Node("ref", [value])
        if kind == "self":
            return Node("self", [])
        if kind == "number":
            return Node("lit", [Decimal(value)])
        if kind == "op" and value == "-" and self.peek() and self.peek()[0] == "number":
            return Node("lit", [-Decimal(self.take()[1])])
        if kind == "string":
            return Node("lit", [value[1:-1]])
        if kind == "word" and self.peek() == ("punct", "("):
            self.take()
            args = []
            if self.peek() != ("punct", ")"):
                args.append(self.either())
                while self.peek() == ("punct", ","):
                    self.take()
                    args.append(self.either())
            self.expect(")")
            return Node("call", [value, args])
        raise Unsupported(_("'{found}' is not understood here"), found=value)


# --- the tree as a condition --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    fields: dict[str, FormField]  # the fields a condition may name (earlier ones, and this one for constraints)
    this: FormField | None  # what "." means (None in skip logic)


def to_condition(text: str, scope: Scope) -> Condition:
    """The condition an XLSForm expression says, or ``Unsupported`` saying why it cannot be one."""
    return condition_of(Parser(text).parse(), scope)


def condition_of(node: Node, scope: Scope) -> Condition:
    match node.kind:
        case "paren":
            return condition_of(node.parts[0], scope)
        case "or":
            parts = [condition_of(p, scope) for p in node.parts]
            fields = {p.field for p in parts}
            if len(parts) > 1 and all(p.op == "eq" for p in parts) and len(fields) == 1:
                return Condition(field=parts[0].field, op="in", value=[p.value for p in parts])
            return Condition(any=parts)
        case "and":
            return Condition(all=[condition_of(p, scope) for p in node.parts])
        case "cmp":
            return _comparison(*node.parts, scope=scope)
        case "call":
            return _call(node.parts[0], node.parts[1], scope)
    raise Unsupported(_("a condition must compare an answer with a value"))


def _call(name: str, args: list[Node], scope: Scope) -> Condition:
    if name == "not" and len(args) == 1:
        inner = args[0]
        if inner.kind == "or":
            return Condition(none=[condition_of(p, scope) for p in inner.parts])
        return Condition(none=[condition_of(inner, scope)])
    if name in ("selected", "contains") and len(args) == 2 and args[1].kind == "lit" and isinstance(args[1].parts[0], str):
        field, target = _target(args[0], scope)
        value = args[1].parts[0]
        if name == "contains" and target.type == "text":
            return Condition(field=field, op="contains", value=value)
        if name == "selected" and target.type == "multiple_choice":
            return Condition(field=field, op="contains", value=value)
        if name == "selected" and target.type in ("single_choice", "yes_no"):
            return Condition(field=field, op="eq", value=_literal(value, target))
    raise Unsupported(_("the function {function}() is not supported here"), function=name)


def _comparison(op: str, left: Node, right: Node, *, scope: Scope) -> Condition:
    if left.kind in ("lit", "call") and right.kind in ("ref", "self"):
        left, right, op = right, left, _FLIPPED[op]
    if right.kind == "call" and right.parts[0] == "date" and len(right.parts[1]) == 1 and right.parts[1][0].kind == "lit":
        right = right.parts[1][0]
    if left.kind == "call" and left.parts[0] == "string-length" and len(left.parts[1]) == 1:
        raise Unsupported(_("string-length() is supported only as the length limit of a text (. <= N)"))
    if right.kind != "lit":
        raise Unsupported(_("a comparison must be between an answer and a value"))
    field, target = _target(left, scope)
    value = right.parts[0]
    if value == "" and op in ("eq", "ne"):
        answered = Condition(field=field, op="answered")
        return answered if op == "ne" else Condition(none=[answered])
    if target.type in ("yes_no", "single_choice", "text") and op not in ("eq", "ne"):
        raise Unsupported(_("{field} can only be compared with = or !="), field=target.name)
    if target.type in ("multiple_choice", "location", "photo", "note"):
        raise Unsupported(_("{field} cannot be compared with a value (use selected() for several choices)"), field=target.name)
    return Condition(field=field, op=op, value=_literal(value, target))


def _target(node: Node, scope: Scope) -> tuple[str | None, FormField]:
    """The field a reference names (None for ``.``) and its definition."""
    if node.kind == "self" and scope.this is not None:
        return None, scope.this
    if node.kind == "ref":
        name = node.parts[0]
        if name in scope.fields:
            return name, scope.fields[name]
        raise Unsupported(_("it names {field}, which is not an earlier question of the form"), field=name)
    raise Unsupported(_("a condition must compare an answer with a value"))


def _literal(value: Any, target: FormField) -> Any:
    """A literal of the spreadsheet as the answer it compares with (a number, yes/no, a date...)."""
    if target.type in ("number", "temperature"):
        try:
            number = Decimal(value)
        except ArithmeticError:
            raise Unsupported(_("{field} is a number, compared here with '{value}'"), field=target.name, value=str(value)) from None
        return int(number) if number == number.to_integral_value() and "." not in str(value) else float(number)
    if target.type == "yes_no":
        if value not in ("yes", "no"):
            raise Unsupported(_("{field} is yes or no, compared here with '{value}'"), field=target.name, value=str(value))
        return value == "yes"
    return str(value)


# --- a condition as XPath ----------------------------------------------------------------------------------


def to_xpath(cond: Condition, fields: dict[str, FormField], this: FormField | None) -> str:
    """The XLSForm expression of a condition; ``fields`` gives the type of each field it names."""
    for branch, joiner in (("all", " and "), ("any", " or ")):
        parts = getattr(cond, branch)
        if parts is not None:
            return joiner.join(_grouped(p, fields, this) for p in parts)
    if cond.none is not None:
        return f"not({' or '.join(_grouped(p, fields, this) for p in cond.none)})"
    target = fields[cond.field] if cond.field else this
    ref = "${" + cond.field + "}" if cond.field else "."
    if cond.op == "answered":
        return f"{ref} != ''"
    if cond.op == "in":
        return " or ".join(f"{ref} = {_xpath_literal(v, target)}" for v in cond.value)
    if cond.op == "contains":
        return f"{'selected' if target.type == 'multiple_choice' else 'contains'}({ref}, {_xpath_literal(cond.value, target)})"
    return f"{ref} {_TO_XPATH[cond.op]} {_xpath_literal(cond.value, target)}"


def _grouped(cond: Condition, fields: dict[str, FormField], this: FormField | None) -> str:
    text = to_xpath(cond, fields, this)
    composite = cond.all is not None or cond.any is not None or (cond.op == "in" and len(cond.value) > 1)
    return f"({text})" if composite else text


def _xpath_literal(value: Any, target: FormField) -> str:
    if isinstance(value, bool):
        return "'yes'" if value else "'no'"
    if isinstance(value, (int, float)):
        return xpath_number(value)
    text = str(value)
    if target.type == "date":
        return f"date('{text}')"
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    raise Unsupported(_("the value {value} has both kinds of quotes, which XPath cannot write"), value=text)


def xpath_number(x: float) -> str:
    """A number as XPath writes it: never with an exponent, a whole one without ".0"."""
    return str(int(x)) if x == int(x) else format(Decimal(repr(x)), "f")
