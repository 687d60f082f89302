"""A PostgreSQL cluster and a Redis of the test's own, to stop, kill and start again, and a link to cut.

Fault tests must never touch the machine's shared services (127.0.0.1:5432 and
:6379, used by every other test run): they start these instead, each on a free
port of 127.0.0.1, and restart them on the same port so that running nodes find
them again. PostgreSQL runs with ``fsync=off`` (the test restarts the server,
never the machine, so what reached the kernel survives) but with synchronous
commits, so every acknowledged commit is in the WAL before the answer.
"""
from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from tests import services


def _newest_pg_bin() -> Path:
    """Debian's server programs of the newest PostgreSQL installed (``/usr/lib/postgresql/<major>/bin``)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0)
    return found[-1] if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = Path(os.environ["MUSTER_TEST_PG_BIN"]) if os.environ.get("MUSTER_TEST_PG_BIN") else _newest_pg_bin()
PG_USER = "postgres"  # initdb refuses to run as root; the cluster's files belong to this account


def _as_postgres(*argv: str) -> list[str]:
    return list(argv) if os.geteuid() != 0 else ["runuser", "-u", PG_USER, "--", *argv]


class PrivatePostgres:
    """One cluster in a temporary folder (trust authentication, user ``postgres``), on ``port``.

    ``stop()`` shuts it down the given way (``immediate``: the postmaster and every backend quit at once, as in a
    crash); ``start()`` starts it again on the same port and returns once it accepts connections."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            services.missing(f"PostgreSQL server programs in {PG_BIN} (apt-get install postgresql)")
        self.folder = Path(tempfile.mkdtemp(prefix="muster-pg-"))
        if os.geteuid() == 0:
            account = pwd.getpwnam(PG_USER)
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        self.data = self.folder / "data"
        self.port = services.free_port()
        subprocess.run(_as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                                    "--locale=C", "--no-sync"), check=True, capture_output=True)
        self.running = False

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self, timeout_s: float = 30) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off -c full_page_writes=off "
                   "-c shared_buffers=32MB -c max_connections=200")
        subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "server.log"), "-o", options,
                                    "-w", "-t", str(int(timeout_s)), "start"), check=True, capture_output=True)
        self.running = True

    def stop(self, mode: str = "immediate") -> None:
        subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"), check=True, capture_output=True)
        self.running = False

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def remove(self) -> None:
        if self.running:
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class PrivateRedis:
    """One ``redis-server`` on ``port`` with no persistence (a restart loses everything, as pub/sub does anyway)."""

    def __init__(self, folder: Path, *config_lines: str) -> None:
        self.program = services.require_redis_server()
        self.port = services.free_port()
        self.conf = folder / "redis.conf"
        self.conf.write_text("\n".join([f"port {self.port}", "bind 127.0.0.1", 'save ""', "appendonly no", f"dir {folder}", *config_lines]) + "\n")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen([self.program, str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        services.wait_for_port("127.0.0.1", self.port, self.process)

    def kill(self) -> None:
        """SIGKILL: every connection drops at once, nothing is said to the clients."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


class Link:
    """A TCP link from a free port to ``127.0.0.1:target_port`` that the test can cut (every connection through it
    dropped, new ones refused, as when the network fails between two hosts) and mend. It forwards in a thread of
    its own, so that it works before, during and after a test's event loop."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = services.free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="link", daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def mend(self) -> None:
        """Accept connections (again)."""
        self._call(self._listen())

    def cut(self) -> None:
        self._call(self._cut())

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def _call(self, coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.transport.abort()
            self._writers.discard(writer)
