"""Chinese and English for every text a person reads that the server writes.

Texts are English msgids in gettext catalogues (``locales/<lang>/LC_MESSAGES/muster.po``
in the platform and in each capability that has texts of its own), read with Babel
when the process starts: there is no build step and no compiled ``.mo`` file to forget.

- ``_("...")`` marks a text for extraction and returns it unchanged; it is translated
  where it is shown, in the reader's locale (``translate``).
- An error's message is its msgid with ``{placeholders}``; the error middleware
  translates it into the request's locale (server/app.py).
- ``request_locale`` picks the locale: the person's setting, then ``Accept-Language``
  (pages send the language chosen on the page), then ``MUSTER_DEFAULT_LOCALE``.

``python -m server.i18n.extract`` adds new msgids to every catalogue; the tests
fail while any msgid has no Chinese translation (tests/server/test_i18n.py).
"""
from server.i18n.catalogue import translate
from server.i18n.locales import LOCALES, from_accept_language, normalise, request_locale


def _(msgid: str) -> str:
    """Marks ``msgid`` for extraction; translated later, where a person reads it."""
    return msgid


__all__ = ["LOCALES", "_", "from_accept_language", "normalise", "request_locale", "translate"]
