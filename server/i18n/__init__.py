"""Chinese and English for every text a person reads that the server writes.

Texts are English msgids in gettext catalogues (``locales/<lang>/LC_MESSAGES/muster.po``
in the platform and in each capability that has texts of its own), read with Babel
when the process starts: there is no build step and no compiled ``.mo`` file to forget.

- ``_("...")`` marks a text for extraction and returns it unchanged; it is translated
  where it is shown, in the reader's locale (``translate``). Given as a placeholder's
  value (``whose=_("this account")``) it is translated along with the text it fills.
- An error's message is its msgid with ``{placeholders}``; the error middleware
  translates it into the request's locale (server/app.py); a WebSocket error frame is
  in the socket's person's chosen language (server/gateway/hub.py).
- A body that fails its pydantic model: the reason by the error's type (validation.py);
  a validator raises ``InvalidValue("...", **values)`` for a reason of its own.
- ``request_locale`` picks the locale: the person's setting, then ``Accept-Language``
  (pages send the language chosen on the page), then ``MUSTER_DEFAULT_LOCALE``.

``python -m server.i18n.extract`` adds new msgids to every catalogue; the tests
fail while any msgid has no Chinese translation (tests/server/i18n/test_catalogues.py).
"""
from server.i18n.catalogue import Text, translate
from server.i18n.locales import LOCALES, from_accept_language, normalise, request_locale


def _(msgid: str) -> Text:
    """Marks ``msgid`` for extraction; translated later, where a person reads it."""
    return Text(msgid)


__all__ = ["LOCALES", "Text", "_", "from_accept_language", "normalise", "request_locale", "translate"]
