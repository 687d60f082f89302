"""No automatic garbage collection while an urgent notice is on its way to the devices.

With 10,000 device sockets open a node tracks about a million objects, and a
full collection stops its event loop for 0.5-1.3 s (measured on the 2-core
bench machine). A send allocates enough to set one off, and one falling
between the send's start and the last socket write delays every device by
that much. So automatic collection is off for that second or so; whatever
became due runs after it, when the devices have the notice.
"""
from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_holders = 0
_was_enabled = False


@contextlib.contextmanager
def collection_deferred() -> Iterator[None]:
    """Held by every send in progress; collection comes back (if it was on) when the last one ends."""
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
