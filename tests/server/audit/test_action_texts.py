"""Every audit action the server writes, and every kind of thing an entry names, reads as a sentence on the admin page.

The actions are found in the code: each call of ``do_audit``, ``do_audit_orgs``
or a helper that passes its own ``action`` parameter on to them, in the platform
and every capability. The admin page (server/orgs/web/static/audit.js) shows
``admin.audit.action.<code>`` and ``admin.audit.target.<kind>``, so each needs a
text in both languages, and a text no code writes any more is caught too.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("server", "rooms", "notify", "schools")
CATALOGUES = ROOT / "server" / "orgs" / "web" / "static" / "i18n"
ACTION_ARG = 2  # do_audit(tx, actor, action, ...), do_audit_orgs(tx, actor, action, org_ids, ...)


def _callee(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _strings(node: ast.AST) -> set[str]:
    """The literal values an argument may take: a string, either branch of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(node.body) | _strings(node.orelse)
    return set()


def _kinds(node: ast.AST, function: ast.AST) -> set[str]:
    """The kinds a ``target=`` may name: ``("member", id)``, either branch of a conditional, or a local variable set to those."""
    if isinstance(node, ast.Tuple) and node.elts:
        return _strings(node.elts[0])
    if isinstance(node, ast.IfExp):
        return _kinds(node.body, function) | _kinds(node.orelse, function)
    if isinstance(node, ast.Name):
        return {kind for assign in ast.walk(function) if isinstance(assign, ast.Assign)
                for target in assign.targets if isinstance(target, ast.Name) and target.id == node.id
                for kind in _kinds(assign.value, function)}
    return set()


def written() -> tuple[set[str], set[str], list[str]]:
    """The action codes and target kinds of every audit call, and the calls whose action could not be read."""
    actions: set[str] = set()
    kinds: set[str] = set()
    unreadable: list[str] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            for function in ast.walk(tree):
                if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                parameters = {a.arg for a in function.args.args + function.args.kwonlyargs}
                for call in ast.walk(function):
                    if not (isinstance(call, ast.Call) and "audit" in _callee(call) and len(call.args) > ACTION_ARG):
                        continue
                    action = call.args[ACTION_ARG]
                    found = _strings(action)
                    if not found and not (isinstance(action, ast.Name) and action.id in parameters):  # a helper passing its own on
                        unreadable.append(f"{path.relative_to(ROOT)}:{call.lineno}")
                    actions |= found
                    for keyword in call.keywords:
                        if keyword.arg == "target":
                            kinds |= _kinds(keyword.value, function)
    return actions, kinds, unreadable


def test_every_action_the_server_writes_and_every_target_kind_has_a_text_in_both_languages():
    actions, kinds, unreadable = written()
    assert unreadable == []  # an action made at run time could have no text: write it as a literal
    assert {"member.removed", "meeting.ended", "broadcast.sent", "account.device_trusted"} <= actions  # platform, capabilities, helpers
    assert {"member", "meeting", "trusted_device"} <= kinds
    for language in ("en", "zh-CN"):
        catalogue = json.loads((CATALOGUES / f"{language}.json").read_text())
        texts = {key.removeprefix("admin.audit.action."): text for key, text in catalogue.items() if key.startswith("admin.audit.action.")}
        targets = {key.removeprefix("admin.audit.target."): text for key, text in catalogue.items() if key.startswith("admin.audit.target.")}
        assert sorted(texts) == sorted(actions), language
        assert sorted(targets) == sorted(kinds), language
        assert all("{id}" in text for text in targets.values()), language
