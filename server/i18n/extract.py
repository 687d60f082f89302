"""Finds every msgid in the code and adds the new ones to each catalogue.

    python -m server.i18n.extract        # update every muster.po (new msgids get an empty translation)
    python -m server.i18n.extract --check  # exit 1 if a catalogue lacks a msgid or a translation

A msgid is the literal text of ``_("...")``, of ``translate(locale, "...")``, or the message literal of an error raised
from the one hierarchy in server/errors.py (``InvalidInput("...", field=...)``, also
through subclasses defined anywhere) or of a validator's ``InvalidValue("...")``. An error message must be a literal with
``{placeholders}`` and keyword values, never an f-string, or it could not be
translated: ``f_string_errors`` lists those for the tests.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from server.i18n.catalogue import DOMAIN, po_path
from server.i18n.locales import LOCALES

ROOT = Path(__file__).resolve().parents[2]
BASE_ERRORS = {
    "MusterError", "InvalidInput", "Unauthenticated", "Forbidden", "NotFound", "Conflict", "Gone",
    "PreconditionFailed", "TooLarge", "UnsupportedMediaType", "RateLimited",
    "InvalidValue",  # a validator's refusal (server/i18n/validation.py)
}


@dataclass(frozen=True)
class Package:
    """A folder of code and the catalogue folder its msgids go to."""

    code: Path
    locales: Path


def packages() -> list[Package]:
    from server import capabilities

    found = [Package(ROOT / "server", ROOT / "server" / "i18n" / "locales")]
    for cap in capabilities.load():
        if cap.locales is not None:
            found.append(Package(cap.locales.parent, cap.locales))
    return found


def _sources(folder: Path) -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(), str(path))) for path in sorted(folder.rglob("*.py"))]


def _callee(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def error_classes(trees: list[ast.Module]) -> set[str]:
    """The names of every class of the error hierarchy, the platform's and those subclassed elsewhere."""
    names = set(BASE_ERRORS)
    classes = [n for tree in trees for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    grew = True
    while grew:
        grew = False
        for cls in classes:
            bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", None) for b in cls.bases}
            if cls.name not in names and bases & names:
                names.add(cls.name)
                grew = True
    return names


def _message_calls(tree: ast.Module, errors: set[str]):
    """(call, its msgid argument) of ``_(msgid)``, ``translate(locale, msgid, ...)`` and ``SomeError(msgid, ...)``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            name = _callee(node)
            if name == "_" or name in errors:
                yield node, node.args[0]
            elif name == "translate" and len(node.args) > 1:
                yield node, node.args[1]


def msgids(folder: Path, errors: set[str]) -> dict[str, list[tuple[str, int]]]:
    """msgid → where it occurs (file relative to the repository, line)."""
    found: dict[str, list[tuple[str, int]]] = {}
    for path, tree in _sources(folder):
        for call, first in _message_calls(tree, errors):
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value:
                found.setdefault(first.value, []).append((str(path.relative_to(ROOT)), call.lineno))
    return found


def f_string_errors(folder: Path, errors: set[str]) -> list[str]:
    """``file:line`` of each error raised with an f-string message (untranslatable)."""
    return [
        f"{path.relative_to(ROOT)}:{call.lineno}"
        for path, tree in _sources(folder)
        for call, first in _message_calls(tree, errors)
        if isinstance(first, ast.JoinedStr)
    ]


def all_error_classes() -> set[str]:
    return error_classes([tree for package in packages() for _, tree in _sources(package.code)])


def update(check: bool) -> list[str]:
    """Brings every catalogue up to date with the code; returns the problems found (missing msgids or translations)."""
    errors = all_error_classes()
    problems = []
    for package in packages():
        found = msgids(package.code, errors)
        for locale in LOCALES:
            if locale == "en":
                continue
            path = po_path(package.locales, locale)
            catalog = Catalog(locale=locale.replace("-", "_"), domain=DOMAIN, project="Muster")
            if path.exists():
                with path.open("rb") as f:
                    catalog = read_po(f, locale=locale.replace("-", "_"))
            for msgid, places in found.items():
                message = catalog.get(msgid)
                if message is None:
                    problems.append(f"{path.relative_to(ROOT)}: no entry for {msgid!r} ({places[0][0]}:{places[0][1]})")
                    catalog.add(msgid, "", locations=places)
                else:
                    message.locations = places
                    if not message.string:
                        problems.append(f"{path.relative_to(ROOT)}: no translation of {msgid!r}")
            for message in list(catalog):
                if message.id and message.id not in found:
                    catalog.delete(message.id)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("wb") as f:
                    write_po(f, catalog, sort_output=True, omit_header=False, width=0)
    return problems


if __name__ == "__main__":
    check = "--check" in sys.argv
    problems = update(check)
    for problem in problems:
        print(problem)
    sys.exit(1 if check and problems else 0)
