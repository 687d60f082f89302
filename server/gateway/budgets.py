"""How many frames a device may send: token buckets per socket and per user, and the flood rule.

Every client frame costs tokens (1, or what its handler declared with
``Hub.on(..., cost=)``: more for a frame sent on to others or one that costs
the server real work) from two buckets: its socket's (``MUSTER_WS_FRAME_RATE``
tokens a second, up to ``MUSTER_WS_FRAME_BURST``) and its user's, shared by
all of that user's sockets on this node (``MUSTER_WS_USER_FRAME_RATE``/
``_BURST``), so opening more sockets buys nothing. A frame either bucket cannot
pay for is refused whole (an error frame ``rate_limited``; nothing is taken),
and a socket that keeps sending regardless, more than
``MUSTER_WS_FLOOD_REFUSALS`` refused frames within ``FLOOD_WINDOW_S``, is closed
with 4029. Per-user limits are per node: a user's sockets on two nodes have a
bucket on each.

Costs are on what a device sends, never on the fan-out: one flooding sender
cannot make others' sockets overflow (4008), and deliveries pay nothing.
A bucket is two floats and a clock read per frame.
"""
from __future__ import annotations

import time
from enum import Enum

FLOOD_WINDOW_S = 10.0


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved; starts full."""

    __slots__ = ("rate", "burst", "tokens", "at")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.at = rate, burst, burst, now

    def _refill(self, now: float) -> float:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        return self.tokens

    def can_pay(self, cost: float, now: float) -> bool:
        return self._refill(now) >= cost

    def pay(self, cost: float) -> None:
        """After ``can_pay`` said yes, at the same moment."""
        self.tokens -= cost

    def full(self, now: float) -> bool:
        return self._refill(now) >= self.burst


class Verdict(Enum):
    ACCEPTED = "accepted"
    REFUSED = "refused"  # over a limit: drop this frame, tell the device
    FLOODING = "flooding"  # refused too often: close the socket (4029)


class FrameBudget:
    """One socket's limits: its own bucket, its user's (shared with the user's other sockets here), and its refusals."""

    __slots__ = ("own", "user", "_refusals")

    def __init__(self, own: TokenBucket, user: TokenBucket, flood_refusals: int, now: float) -> None:
        self.own, self.user = own, user
        self._refusals = TokenBucket(flood_refusals / FLOOD_WINDOW_S, flood_refusals, now)

    def charge(self, cost: float, now: float | None = None) -> Verdict:
        """Take ``cost`` from both buckets, or from neither when either cannot pay."""
        if now is None:
            now = time.monotonic()
        if self.own.can_pay(cost, now) and self.user.can_pay(cost, now):
            self.own.pay(cost)
            self.user.pay(cost)
            return Verdict.ACCEPTED
        if self._refusals.can_pay(1, now):
            self._refusals.pay(1)
            return Verdict.REFUSED
        return Verdict.FLOODING
