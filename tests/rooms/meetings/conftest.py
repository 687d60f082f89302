"""Meeting tests' switches for the app under test (list these fixtures before ``client`` or ``app``)."""
import pytest


@pytest.fixture
def media_processes(monkeypatch):
    """The SFU as two media worker processes (``ProcessRouter``) instead of workers inside the server process."""
    monkeypatch.setenv("MUSTER_ROOMS_MEDIA_PROCESSES", "true")
    monkeypatch.setenv("MUSTER_ROOMS_MEDIA_WORKERS", "2")
