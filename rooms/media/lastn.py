"""Which video a receiver gets: last-N by speaking order, a pin, the screen share.

``SpeakingOrder`` keeps video publishers ordered by how recently each was the
dominant speaker (those who never spoke after them, in order of publishing);
a receiver's N video slots show the first N of that order, skipping itself,
with its pinned participant, if any, first. Slot 0 is the stage. A screen share
is not a participant's camera: it has its own slot and goes to everyone but the
sharer (the most recently started share wins).
"""
from __future__ import annotations

from collections.abc import Hashable


class SpeakingOrder:
    def __init__(self) -> None:
        self._order: list[Hashable] = []

    def add(self, source: Hashable) -> None:
        if source not in self._order:
            self._order.append(source)

    def remove(self, source: Hashable) -> None:
        if source in self._order:
            self._order.remove(source)

    def promote(self, source: Hashable) -> None:
        """The source just became the dominant speaker: it moves to the front."""
        if source in self._order:
            self._order.remove(source)
            self._order.insert(0, source)

    def __iter__(self):
        return iter(self._order)

    def __contains__(self, source: Hashable) -> bool:
        return source in self._order


def select_video(order: SpeakingOrder, receiver: Hashable, n: int, pinned: Hashable | None = None) -> list[Hashable]:
    """The sources for a receiver's ``n`` video slots, stage first."""
    chosen: list[Hashable] = []
    if pinned is not None and pinned != receiver and pinned in order:
        chosen.append(pinned)
    for source in order:
        if len(chosen) >= n:
            break
        if source != receiver and source not in chosen:
            chosen.append(source)
    return chosen


class ScreenShares:
    def __init__(self) -> None:
        self._shares: list[Hashable] = []  # oldest first

    def start(self, source: Hashable) -> None:
        if source in self._shares:
            self._shares.remove(source)
        self._shares.append(source)

    def stop(self, source: Hashable) -> None:
        if source in self._shares:
            self._shares.remove(source)

    def current(self) -> Hashable | None:
        return self._shares[-1] if self._shares else None

    def for_receiver(self, receiver_owns: set[Hashable]) -> Hashable | None:
        """The share a receiver sees: the current one unless it is the receiver's own."""
        for source in reversed(self._shares):
            if source not in receiver_owns:
                return source
        return None
