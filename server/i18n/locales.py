"""Which of the two languages a person reads: Simplified Chinese (``zh-CN``) or English (``en``)."""
from __future__ import annotations

from aiohttp import web

from server.appkeys import PRINCIPAL, SETTINGS

LOCALES = ("zh-CN", "en")


def normalise(tag: str | None) -> str | None:
    """The supported locale a language tag asks for (``zh``, ``zh-Hans-CN``, ``zh_TW`` → ``zh-CN``; ``en-GB`` → ``en``), or None.

    Every Chinese tag reads Simplified Chinese: it is the only Chinese catalogue."""
    if not tag:
        return None
    language = tag.strip().replace("_", "-").split("-")[0].lower()
    return {"zh": "zh-CN", "en": "en"}.get(language)


def from_accept_language(header: str | None) -> str | None:
    """The supported locale the ``Accept-Language`` header prefers most, or None."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        locale = normalise(tag)
        if locale and quality > 0:
            ranked.append((-quality, position, locale))
    return min(ranked)[2] if ranked else None


def request_locale(request: web.Request) -> str:
    """The person's own setting, else what their browser or page asks for, else the server's default."""
    principal = request.get(PRINCIPAL)
    return (
        (principal.locale if principal is not None else None)
        or from_accept_language(request.headers.get("Accept-Language"))
        or request.app[SETTINGS].default_locale
    )
