"""Active speaker detection from the RFC 6464 audio-level header extension, without decoding audio.

Each audio packet carries the publisher's own measurement of its level
(-dBov, 0 loudest, 127 silence). ``observe`` folds it into a per-source
exponential moving average (about 200 ms at 50 packets/s); ``tick`` (a few
times a second) ranks the sources. Two kinds of hysteresis keep the selection
from flickering between people talking at similar volume:

* the forwarded set (``selected``, top N + 1 so that every receiver can skip
  itself and still get N) only admits a newcomer that is louder than the
  quietest member by ``margin``;
* the dominant speaker (on stage for video) changes only after a challenger has
  been the loudest, by ``margin``, for ``hold`` seconds.

Cost per audio packet: one dict lookup and a multiply-add; per tick: one sort
of the sources that spoke recently.
"""
from __future__ import annotations

from collections.abc import Hashable

AUDIBLE_LEVEL = 90  # RFC 6464 level (-dBov) at or below which audio counts as sound, not silence


class _Level:
    __slots__ = ("smoothed", "last_seen")

    def __init__(self) -> None:
        self.smoothed = 0.0
        self.last_seen = 0.0


class ActiveSpeakers:
    def __init__(self, top_n: int = 3, *, alpha: float = 0.1, margin: float = 6.0, hold: float = 0.5, timeout: float = 1.0) -> None:
        self.top_n = top_n
        self.alpha = alpha
        self.margin = margin
        self.hold = hold
        self.timeout = timeout
        self._levels: dict[Hashable, _Level] = {}
        self.selected: list[Hashable] = []  # loudest first, up to top_n + 1
        self.dominant: Hashable | None = None
        self._challenger: Hashable | None = None
        self._challenger_since = 0.0

    def observe(self, source: Hashable, level: int, now: float) -> None:
        state = self._levels.get(source)
        if state is None:
            state = self._levels[source] = _Level()
        state.smoothed += self.alpha * ((127 - level) - state.smoothed)
        state.last_seen = now

    def remove(self, source: Hashable) -> None:
        self._levels.pop(source, None)
        if source in self.selected:
            self.selected.remove(source)
        if self.dominant == source:
            self.dominant = None
        if self._challenger == source:
            self._challenger = None

    def loudness(self, source: Hashable, now: float) -> float:
        state = self._levels.get(source)
        if state is None or now - state.last_seen > self.timeout:
            return 0.0
        return state.smoothed

    def tick(self, now: float) -> bool:
        """Re-rank the sources; return True if the dominant speaker changed."""
        ranked = sorted(self._levels, key=lambda s: self.loudness(s, now), reverse=True)
        capacity = self.top_n + 1
        selected = [s for s in self.selected if s in self._levels]
        for candidate in ranked:
            if candidate in selected:
                continue
            if len(selected) < capacity:
                selected.append(candidate)
                continue
            weakest = min(selected, key=lambda s: self.loudness(s, now))
            if self.loudness(candidate, now) > self.loudness(weakest, now) + self.margin:
                selected[selected.index(weakest)] = candidate
            else:
                break  # ranked is sorted: nobody after this one can qualify either
        selected.sort(key=lambda s: self.loudness(s, now), reverse=True)
        self.selected = selected
        return self._update_dominant(ranked, now)

    def _update_dominant(self, ranked: list[Hashable], now: float) -> bool:
        if not ranked or self.loudness(ranked[0], now) <= 0:
            return False
        loudest = ranked[0]
        if self.dominant is None:
            self.dominant = loudest
            return True
        if loudest == self.dominant or self.loudness(loudest, now) <= self.loudness(self.dominant, now) + self.margin:
            self._challenger = None
            return False
        if loudest != self._challenger:
            self._challenger, self._challenger_since = loudest, now
            return False
        if now - self._challenger_since < self.hold:
            return False
        self.dominant, self._challenger = loudest, None
        return True

    def loudest_for(self, receiver: Hashable) -> list[Hashable]:
        """The audio sources a receiver hears: the selected ones but itself, at most ``top_n``."""
        return [s for s in self.selected if s != receiver][: self.top_n]
