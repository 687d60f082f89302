"""The loaded catalogues: one merged msgid → text table per locale.

The platform's catalogue and each capability's (``Capability.locales``) are read
once, on first use; English is the msgid itself, so only Chinese needs a table.
"""
from __future__ import annotations

import functools
from pathlib import Path

from babel.messages.pofile import read_po

PLATFORM_LOCALES = Path(__file__).parent / "locales"
DOMAIN = "muster"


def catalogue_dirs() -> list[Path]:
    from server import capabilities

    return [PLATFORM_LOCALES] + [cap.locales for cap in capabilities.load() if cap.locales is not None]


def po_path(folder: Path, locale: str) -> Path:
    return folder / locale.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def table(locale: str) -> dict[str, str]:
    texts: dict[str, str] = {}
    if locale == "en":
        return texts
    for folder in catalogue_dirs():
        path = po_path(folder, locale)
        if path.exists():
            with path.open("rb") as f:
                for message in read_po(f, locale=locale.replace("-", "_")):
                    if message.id and message.string and not message.fuzzy:
                        texts[message.id] = message.string
    return texts


class Text(str):
    """A msgid marked with ``_()``: as a placeholder's value it is translated too (``whose=_("this account")``)."""


def translate(locale: str, msgid: str, **params) -> str:
    """``msgid`` in ``locale`` (English if it has no translation), with its ``{placeholders}`` filled."""
    texts = table(locale)
    text = texts.get(msgid, msgid)
    if not params:
        return text
    params = {name: texts.get(value, value) if isinstance(value, Text) else value for name, value in params.items()}
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):  # a translation that names a placeholder wrongly: the tests catch it
        return msgid.format(**params)
