"""No automatic garbage collection while an urgent notice is on its way to the devices.

With 10,000 device sockets open a node tracks about a million objects, and a
full collection stops its event loop for 0.5-1.3 s (measured on the 2-core
bench machine). A send allocates enough to set one off, and one falling
between the send's start and the last socket write delays every device by
that much. So automatic collection is off for that second or so, and the
collection that became due runs when the last send ends, when the devices
have the notice: left to the thresholds it came later, at whatever the node
did next (the escalation bench's calls, due 10 s after a send, started
150 ms late because of it).
"""
from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_holders = 0
_was_enabled = False


@contextlib.contextmanager
def collection_deferred() -> Iterator[None]:
    """Held by every send in progress; collection comes back (if it was on) when the last one ends, with a full collection."""
    global _holders, _was_enabled
    if _holders == 0:
        _was_enabled = gc.isenabled()
        gc.disable()
    _holders += 1
    try:
        yield
    finally:
        _holders -= 1
        if _holders == 0 and _was_enabled:
            gc.enable()
            gc.collect()
