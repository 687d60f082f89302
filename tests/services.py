"""The real services tests talk to, and the rule for when one is missing.

Outside CI a missing service skips the tests that need it; with CI=true it fails them.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as redis

POSTGRES_ADMIN_URL = os.environ.get("MUSTER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("MUSTER_TEST_REDIS", "redis://127.0.0.1:6379/0")
CHROMIUM = os.environ.get("MUSTER_TEST_CHROMIUM", "/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[1]
# The one secret key every node of a test shares, long and random like a real one (muster serve refuses less).
NODES_SECRET_KEY = secrets.token_urlsafe(48)
IN_CI = os.environ.get("CI", "").lower() == "true"


def missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required when CI=true", pytrace=False)
    pytest.skip(f"{what} is not available")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_postgres() -> None:
    if not port_open("127.0.0.1", 5432):
        missing("PostgreSQL at 127.0.0.1:5432")


def require_redis() -> None:
    if not port_open("127.0.0.1", 6379):
        missing("Redis at 127.0.0.1:6379")


def require_redis_server() -> str:
    """The redis-server program, for tests that run a Redis of their own (a password, a restart)."""
    path = shutil.which("redis-server")
    if not path:
        missing("redis-server (apt-get install redis-server)")
    return path


@contextlib.contextmanager
def private_redis(folder: Path, *config_lines: str):
    """A redis-server of the test's own on a free port, with these extra config lines; yields the port, stops it after."""
    from tests.faults.private import PrivateRedis

    server = PrivateRedis(folder, *config_lines)
    server.start()
    try:
        yield server.port
    finally:
        server.stop()


def wait_for_port(host: str, port: int, process: subprocess.Popen, timeout_s: float = 10) -> None:
    """Wait until ``process`` listens on ``port``; fail if it exits or takes too long."""
    deadline = time.monotonic() + timeout_s
    while not port_open(host, port):
        if process.poll() is not None:
            pytest.fail(f"{process.args[0]} exited with {process.returncode} before listening on {port}")
        if time.monotonic() > deadline:
            pytest.fail(f"nothing listened on {host}:{port} in {timeout_s} s")
        time.sleep(0.05)


def require_chromium() -> str:
    path = shutil.which(CHROMIUM) or shutil.which("chromium")
    if not path:
        missing("Chromium (apt-get install chromium)")
    return path


def create_postgres_database(admin_url: str = POSTGRES_ADMIN_URL) -> str:
    """A fresh, uniquely named database on the server of ``admin_url``; returns its SQLAlchemy async URL."""
    import asyncpg

    name = f"muster_t_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/" + name


def drop_postgres_database(url: str, admin_url: str = POSTGRES_ADMIN_URL) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]

    async def drop() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


async def kill_bus_subscriber(subscriber_name: str) -> None:
    """Cut a node's Redis subscriber connection (``CLIENT KILL``), the way a Redis restart or a network blip does."""
    admin = redis.from_url(REDIS_URL)
    try:
        (subscriber,) = [c for c in await admin.client_list() if c["name"] == subscriber_name]
        await admin.client_kill_filter(_id=subscriber["id"])
    finally:
        await admin.aclose()


async def start_muster_server(env: dict, port: int, log_path: Path | None = None) -> asyncio.subprocess.Process:
    """A real ``muster serve`` process on ``port``, returned once ``/healthz`` answers (at most 60 s)."""
    out = open(log_path, "ab") if log_path is not None else asyncio.subprocess.DEVNULL
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "server", "serve", "--port", str(port), env=env, stdout=out, stderr=out)
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return process
            except aiohttp.ClientError:
                pass
            if process.returncode is not None:
                raise RuntimeError("the server exited" + (f"; see {log_path}" if log_path else ""))
            await asyncio.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not come up in 60 s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Nodes:
    database_url: str
    urls: list[str]
    processes: list[subprocess.Popen]


@contextlib.contextmanager
def muster_nodes(tmp_path: Path, names: list[str], env: dict | None = None, ready_timeout_s: float = 60, *,
                 postgres_admin_url: str | None = None, redis_url: str | None = None, node_env: dict[str, dict] | None = None):
    """Real ``muster serve`` processes sharing a fresh PostgreSQL database and Redis; killed, and the database dropped, after.

    The machine's shared services unless given others (a test's own, tests/faults/private.py); ``node_env`` adds
    variables to one node's environment (by name)."""
    if postgres_admin_url is None:
        require_postgres()
    if redis_url is None:
        require_redis()
    postgres_admin_url, redis_url = postgres_admin_url or POSTGRES_ADMIN_URL, redis_url or REDIS_URL
    database_url = create_postgres_database(postgres_admin_url)
    processes: list[subprocess.Popen] = []
    try:
        from server.db.migrate import upgrade

        upgrade(database_url)
        shared = os.environ | {
            "MUSTER_DATABASE_URL": database_url, "MUSTER_REDIS_URL": redis_url,
            "MUSTER_REDIS_PREFIX": f"muster-test-{uuid.uuid4().hex[:10]}:", "MUSTER_SECRET_KEY": NODES_SECRET_KEY,
            "MUSTER_LOG_LEVEL": "WARNING", **(env or {}),
        }
        urls = []
        for name in names:
            port = free_port()
            log = tmp_path / f"node-{name}.log"
            with log.open("w") as out:
                processes.append(subprocess.Popen(
                    [sys.executable, "-m", "server", "serve", "--port", str(port)],
                    env=shared | {"MUSTER_DATA_DIR": str(tmp_path / f"node-{name}"), "MUSTER_NODE_NAME": f"node-{name}"} | (node_env or {}).get(name, {}),
                    cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                ))
            _wait_ready(processes[-1], port, log, ready_timeout_s)
            urls.append(f"http://127.0.0.1:{port}")
        yield Nodes(database_url, urls, processes)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        drop_postgres_database(database_url, postgres_admin_url)


def _wait_ready(process: subprocess.Popen, port: int, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
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
    pytest.fail(f"node on port {port} not ready in {timeout_s}s:\n{log.read_text()[-3000:]}")


def require_nginx() -> str:
    path = shutil.which("nginx") or shutil.which("/usr/sbin/nginx")
    if not path:
        missing("nginx (apt-get install nginx)")
    return path


@contextlib.contextmanager
def nginx_in_front(tmp_path: Path, node_urls: list[str], ready_timeout_s: float = 10):
    """``deploy/nginx.conf`` itself, in front of ``node_urls``: its base URL (HTTPS, a self-signed certificate).

    Only what cannot be the same on a test machine is rewritten: the upstream
    servers, the listening ports, the certificate's path, the log and the cache directory.
    """
    nginx = require_nginx()
    tls = tmp_path / "tls"
    tls.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(tls / "privkey.pem"), "-out", str(tls / "fullchain.pem")], check=True, capture_output=True)
    http_port, https_port = free_port(), free_port()
    servers = "".join(f"        server {url.removeprefix('http://')} max_fails=3 fail_timeout=10s;\n" for url in node_urls)
    conf = (REPO / "deploy" / "nginx.conf").read_text()
    conf, upstreams = re.subn(r"(?:        server 127\.0\.0\.1:\d+ [^\n]*;\n)+", servers, conf)
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{http_port};").replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    conf = conf.replace("/etc/muster/tls", str(tls)).replace("/var/log/nginx/access.log", str(tmp_path / "access.log"))
    conf = conf.replace("/var/cache/nginx/muster-hls", str(tmp_path / "hls-cache"))
    assert upstreams == 3 and str(https_port) in conf, "deploy/nginx.conf changed shape: update nginx_in_front"
    (tmp_path / "nginx.conf").write_text(conf)
    # started as root, nginx's workers would run as nobody, who may not write the cache under the test's own directory
    as_root = " user root;" if os.geteuid() == 0 else ""
    process = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "nginx-error.log"),
                                "-g", f"daemon off; pid {tmp_path / 'nginx.pid'};{as_root}"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + ready_timeout_s
        while not port_open("127.0.0.1", https_port):
            if process.poll() is not None or time.monotonic() > deadline:
                log = tmp_path / "nginx-error.log"
                pytest.fail(f"nginx did not start:\n{log.read_text() if log.exists() else ''}")
            time.sleep(0.05)
        yield f"https://127.0.0.1:{https_port}"
    finally:
        process.terminate()
        process.wait(10)
