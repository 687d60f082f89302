"""Rooms tests run on loopback: aioice in this process gathers 127.0.0.1 only (it skips loopback by default).

This is what lets the tests' own WebRTC clients (aiortc peers, probe clients)
reach an SFU listening on 127.0.0.1. With the in-process router the meeting
layer restricts this process itself; with media worker processes only the
workers are restricted, so without this fixture the clients would offer only
the machine's other interfaces and never connect.

Also the switches of the app under test that meetings and livestreams share (``media_processes``,
``in_process_media``, ``short_media_timeout``: list them before ``client`` or ``app``).
"""
import pytest

from rooms.media.transport import restrict_host_addresses


@pytest.fixture(autouse=True)
def loopback_only():
    restrict_host_addresses(["127.0.0.1"])
    yield
    restrict_host_addresses(None)


@pytest.fixture
def short_media_timeout(monkeypatch):
    """A participant (a meeting's seat, a stream's publisher) whose media goes quiet is removed after 2 s instead of 8
    (list it before ``client`` or ``app``)."""
    monkeypatch.setenv("MUSTER_ROOMS_MEDIA_TIMEOUT_S", "2")


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
