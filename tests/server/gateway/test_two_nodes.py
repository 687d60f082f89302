"""Two real ``muster serve`` processes on one PostgreSQL and one Redis: an event made on node A
reaches a device connected to node B, and signing a device out on A closes its socket on B."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import pytest

from server.db import Database
from server.db.migrate import upgrade
from server.gateway.frames import CLOSE_UNAUTHENTICATED
from tests import services
from tests.factories import PASSWORD, make_user
from tests.server.gateway.sockets import connect

REPO = Path(__file__).resolve().parents[3]
READY_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(process: subprocess.Popen, port: int, log: Path) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"node on port {port} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    pytest.fail(f"node on port {port} not ready in {READY_TIMEOUT_S}s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def cluster(tmp_path):
    """``(database_url, [url of node A, url of node B])``; the nodes are killed and the database dropped after."""
    services.require_postgres()
    services.require_redis()
    database_url = services.create_postgres_database()
    processes: list[subprocess.Popen] = []
    try:
        upgrade(database_url)
        env = os.environ | {
            "MUSTER_DATABASE_URL": database_url,
            "MUSTER_REDIS_URL": services.REDIS_URL,
            "MUSTER_REDIS_PREFIX": f"muster-test-{uuid.uuid4().hex[:10]}:",
            "MUSTER_SECRET_KEY": "two-nodes-share-one-secret-key",
            "MUSTER_LOG_LEVEL": "WARNING",
        }
        urls = []
        for name in ("a", "b"):
            port = free_port()
            log = tmp_path / f"node-{name}.log"
            with log.open("w") as out:
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "server", "serve", "--port", str(port)],
                        env=env | {"MUSTER_DATA_DIR": str(tmp_path / f"node-{name}"), "MUSTER_NODE_NAME": f"node-{name}"},
                        cwd=REPO,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
            wait_ready(processes[-1], port, log)
            urls.append(f"http://127.0.0.1:{port}")
        yield database_url, urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        services.drop_postgres_database(database_url)


async def sign_in(http: aiohttp.ClientSession, node: str, email: str, device_name: str) -> tuple[str, int]:
    resp = await http.post(f"{node}/api/v1/auth/login", json={"email": email, "password": PASSWORD, "device_name": device_name})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    return body["token"], body["session_id"]


async def test_signing_out_a_device_on_node_a_reaches_sockets_on_node_b(cluster):
    database_url, (node_a, node_b) = cluster
    db = Database(database_url)
    try:
        alice = await make_user(db)
    finally:
        await db.close()

    async with aiohttp.ClientSession() as http:
        phone_token, _ = await sign_in(http, node_a, alice.email, "phone")
        laptop_token, laptop_session = await sign_in(http, node_a, alice.email, "laptop")
        phone = await connect(http, f"{node_b}/api/v1/ws", phone_token)
        laptop = await connect(http, f"{node_b}/api/v1/ws", laptop_token)
        await phone.until_ready()
        await laptop.until_ready()

        resp = await http.delete(f"{node_a}/api/v1/me/devices/{laptop_session}", headers={"Authorization": f"Bearer {phone_token}"})
        assert resp.status == 204, await resp.text()

        (heard,) = await phone.events(1)
        assert heard["event"] == "session.revoked" and heard["data"]["session_ids"] == [laptop_session]
        (laptop_heard,) = await laptop.events(1)
        assert laptop_heard["seq"] == heard["seq"]
        assert await laptop.closed_with() == CLOSE_UNAUTHENTICATED
        await phone.send({"type": "ping"})
        assert await phone.next_frame() == {"type": "pong"}

        # The phone reconnects to node A and resumes after what it saw on node B: nothing new, nothing twice.
        await phone.close()
        phone = await connect(http, f"{node_a}/api/v1/ws", phone_token, user_seq=heard["seq"])
        replayed, ready = await phone.until_ready()
        assert replayed == [] and ready["user_seq"] == heard["seq"]
        await phone.close()
