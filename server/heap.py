"""Giving back to the system the memory a large piece of work has freed: after an import, say.

CPython hands freed objects back to glibc's malloc, which keeps the freed
pages in its arenas (one per thread that allocated: an import's worker
threads have theirs) for the next allocation instead of returning them.
``malloc_trim(0)`` returns the free pages of every arena: after importing a
share of a city in one process, 3-15 MB of the 25-50 MB it had grown (the rest
is a heap left fragmented: schools/imports/apart.py runs imports apart for
that). It takes milliseconds, so it runs after a job, never per request. Without glibc (musl, macOS) there is nothing to call and nothing happens.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc


def _malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_trim = _malloc_trim()


def give_back_memory() -> None:
    """Collect what only cycles still hold, then return the heap's free pages to the system."""
    gc.collect()
    if _trim is not None:
        _trim(0)
