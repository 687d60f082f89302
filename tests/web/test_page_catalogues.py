"""The pages' catalogues: both languages have every key, and every key a page uses exists.

A page reads the platform's catalogue (server/web/static/i18n/) and those its
<html data-catalogues="..."> names; its scripts and its HTML may use only keys
found there. Checked on the files, so a missing key fails here before any browser runs.
"""
from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = ROOT / "server" / "web" / "static" / "i18n"
CATALOGUES = sorted({p.parent for p in ROOT.glob("*/**/static/**/i18n/en.json") if ".venv" not in p.parts})
PAGES = sorted(p for p in ROOT.glob("*/**/*.html") if ".venv" not in p.parts and "node_modules" not in p.parts)
# Texts that read the same in both languages.
SAME_IN_BOTH = {"Muster", "English", "中文"}

KEY_IN_HTML = re.compile(r'data-i18n(?:-[a-z-]+)?="([^"]+)"')
KEY_IN_JS = re.compile(r'\bt\(\s*[`"]([a-z0-9_.]+)[`"]')
PREFIX_IN_JS = re.compile(r'\bt\(\s*`([a-z0-9_.]+)\$\{')  # t(`role.${m.role}`): every key with the prefix counts as used
CATALOGUE_ATTR = re.compile(r'data-catalogues="([^"]*)"')
SCRIPT = re.compile(r'<script type="module" src="([^"]+)"')
IMPORT = re.compile(r'^import .* from "([^"]+)";', re.M)


def load(folder: Path, language: str) -> dict:
    return json.loads((folder / f"{language}.json").read_text())


def texts(value) -> list[str]:
    return list(value.values()) if isinstance(value, dict) else [value]


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("folder", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_both_languages_have_the_same_keys_and_placeholders(folder):
    english, chinese = load(folder, "en"), load(folder, "zh-CN")
    assert sorted(set(english) ^ set(chinese)) == []
    for key, value in english.items():
        assert all(texts(value)) and all(texts(chinese[key])), f"{key} is empty"
        assert {f for t in texts(value) for f in fields(t)} == {f for t in texts(chinese[key]) for f in fields(t)}, key
        for text in texts(chinese[key]):
            assert text in SAME_IN_BOTH or re.search(r"[\u4e00-\u9fff]", text), f"{key}: {text!r} is not Chinese"


def static_file(url: str) -> Path | None:
    """The file behind a /static/... or /<package>/static/... URL."""
    if url.startswith("/static/"):
        return ROOT / "server" / "web" / "static" / url.removeprefix("/static/")
    package = url.split("/static/")[0].strip("/")
    for path in ROOT.glob(f"*/**/web/static/{url.split('/static/', 1)[-1]}"):
        inside = path.relative_to(ROOT)  # not the checkout's own folder names (a worktree may be called "contacts")
        if package in inside.parts or package in str(inside):
            return path
    return None


def scripts_of(page: Path) -> list[Path]:
    """The page's module scripts and everything they import, transitively."""
    html = page.read_text()
    todo = [static_file(u) for u in SCRIPT.findall(html)]
    seen: list[Path] = []
    while todo:
        script = todo.pop()
        if script is None or script in seen or not script.exists():
            continue
        seen.append(script)
        for target in IMPORT.findall(script.read_text()):
            todo.append(static_file(target) if target.startswith("/") else (script.parent / target).resolve())
    return seen


def catalogue_folder(url: str) -> Path:
    path = static_file(url + "/en.json")
    assert path is not None and path.exists(), f"no catalogue at {url}"
    return path.parent


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_key_a_page_uses_is_in_its_catalogues(page):
    html = page.read_text()
    folders = [PLATFORM] + [catalogue_folder(u) for m in CATALOGUE_ATTR.findall(html) for u in m.split()]
    known = {key for folder in folders for key in load(folder, "en")}
    used = set(KEY_IN_HTML.findall(html))
    for script in scripts_of(page):
        source = script.read_text()
        used |= set(KEY_IN_JS.findall(source))
        for prefix in PREFIX_IN_JS.findall(source):
            assert any(k.startswith(prefix) for k in known), f"{script.name}: no key starts with {prefix}"
    assert sorted(used - known) == []
