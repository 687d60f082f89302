"""Keyframe requests (PLI/FIR) towards a publisher, throttled.

Every subscriber that joins, switches to a source or loses packets asks for a
keyframe; forwarding each request would make a publisher in a 300-seat meeting
send keyframes back to back. One request per source per ``interval`` reaches
the publisher; the keyframe it triggers serves everyone who asked.
"""
from __future__ import annotations


class KeyframeRequestThrottle:
    __slots__ = ("interval", "_last")

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._last: float | None = None

    def allow(self, now: float) -> bool:
        """True if a request may go to the publisher now (and records it)."""
        if self._last is not None and now - self._last < self.interval:
            return False
        self._last = now
        return True

    def reset(self) -> None:
        """Let the next request through (the publisher just connected and has no keyframe on its way)."""
        self._last = None
