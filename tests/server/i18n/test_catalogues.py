"""Every text the server writes for a person exists in Chinese, and can: no error message is an f-string."""
from __future__ import annotations

import re
import string
import subprocess
import sys

from babel.messages.pofile import read_po

from server.i18n import extract
from server.i18n.catalogue import po_path


SAME_IN_BOTH = {"Muster"}  # the product's name


def test_every_msgid_in_the_code_has_a_chinese_translation():
    # In a process of its own: CPython 3.11's ast module keeps one recursion counter per interpreter, and a thread an
    # earlier test left running that parses at the same moment fails this parse ("AST constructor recursion depth mismatch").
    run = subprocess.run([sys.executable, "-m", "server.i18n.extract", "--check"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, "run `python -m server.i18n.extract` and translate:\n" + run.stdout + run.stderr


def test_no_error_message_is_an_f_string():
    errors = extract.all_error_classes()
    found = [place for package in extract.packages() for place in extract.f_string_errors(package.code, errors)]
    assert found == [], "write these as msgid + keyword values (server/errors.py):\n" + "\n".join(found)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_translations_keep_the_placeholders_of_their_msgid():
    wrong = []
    for package in extract.packages():
        with po_path(package.locales, "zh-CN").open("rb") as f:
            for message in read_po(f):
                if message.id and message.string and _fields(message.id) != _fields(message.string):
                    wrong.append(f"{message.id!r} → {message.string!r}")
    assert wrong == []


def test_chinese_translations_are_chinese():
    not_chinese = []
    for package in extract.packages():
        with po_path(package.locales, "zh-CN").open("rb") as f:
            for message in read_po(f):
                if message.id and message.string and message.string not in SAME_IN_BOTH and not re.search(r"[\u4e00-\u9fff]", message.string):
                    not_chinese.append(message.id)
    assert not_chinese == []
