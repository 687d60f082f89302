"""Meeting tests' switches for the app under test (list these fixtures before ``client`` or ``app``)."""
import pytest


@pytest.fixture
def media_processes(monkeypatch):
    """The SFU as two media worker processes (``ProcessRouter``), whatever the machine's core count (the default is one per core)."""
    monkeypatch.setenv("MUSTER_ROOMS_MEDIA_PROCESSES", "true")
    monkeypatch.setenv("MUSTER_ROOMS_MEDIA_WORKERS", "2")


@pytest.fixture
def in_process_media(monkeypatch):
    """One SFU worker inside the server process (``LocalRouter``), for tests that look at the worker's own state."""
    monkeypatch.setenv("MUSTER_ROOMS_MEDIA_PROCESSES", "false")
    monkeypatch.setenv("MUSTER_ROOMS_MEDIA_WORKERS", "1")


@pytest.fixture
def short_media_timeout(monkeypatch):
    """A participant whose media goes quiet is removed after 2 s instead of 8."""
    monkeypatch.setenv("MUSTER_ROOMS_MEDIA_TIMEOUT_S", "2")
