"""The one error hierarchy. Raise these anywhere; server/app.py maps them to JSON once.

Every error answers ``{"error": {"code", "message", "field"}}`` with its HTTP status.
The message is an English msgid with ``{placeholders}`` filled from keyword
arguments, ``InvalidInput("at most {limit} attachments", field="attachments", limit=10)``,
so that it can be answered in the reader's language (server/i18n/); never an f-string.
"""
from __future__ import annotations


class MusterError(Exception):
    status = 400
    code = "bad_request"
    retry_after_s: int | None = None  # answered as ``Retry-After`` when set (``TryLater``)

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None, **params):
        self.msgid = message
        self.params = params
        self.message = message.format(**params) if params else message
        super().__init__(self.message)
        self.field = field
        if code:
            self.code = code

    def as_json(self, locale: str = "en") -> dict:
        from server.i18n import translate

        message = translate(locale, self.msgid, **self.params) if locale != "en" else self.message
        return {"error": {"code": self.code, "message": message, "field": self.field}}


class InvalidInput(MusterError):
    status = 400
    code = "invalid"


class Unauthenticated(MusterError):
    status = 401
    code = "unauthenticated"


class Forbidden(MusterError):
    status = 403
    code = "forbidden"


class NotFound(MusterError):
    """Also what another organisation's resources look like: they do not exist for you."""

    status = 404
    code = "not_found"


class Conflict(MusterError):
    status = 409
    code = "conflict"


class Gone(MusterError):
    status = 410
    code = "gone"


class PreconditionFailed(MusterError):
    """A required request header (e.g. a protocol version) is missing or has another value."""

    status = 412
    code = "precondition_failed"


class TooLarge(MusterError):
    status = 413
    code = "too_large"


class UnsupportedMediaType(MusterError):
    status = 415
    code = "unsupported_media_type"


class TryLater(MusterError):
    """Refused for now, not for good: answered with ``Retry-After``."""

    def __init__(self, message: str, *, retry_after_s: int, **kw):
        super().__init__(message, **kw)
        self.retry_after_s = retry_after_s


class RateLimited(TryLater):
    status = 429
    code = "rate_limited"


class Unavailable(TryLater):
    """Not now: something the request needs cannot be reached (the database; nothing was stored unless answered), or the
    server is full (a livestream's WebRTC viewers). Retry-After says when to ask again."""

    status = 503
    code = "unavailable"
