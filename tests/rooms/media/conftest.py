"""Media tests run on loopback: aioice is told to gather 127.0.0.1 only (it skips loopback by default)."""
import pytest

from rooms.media.transport import restrict_host_addresses


@pytest.fixture(autouse=True)
def loopback_only():
    restrict_host_addresses(["127.0.0.1"])
    yield
    restrict_host_addresses(None)
