"""CPU time of every process that works for the server under test, for the benches' per-CPU-second figures.

That is the server's process (``node``), its children (``workers``: the Web
Push worker, server/channels/push_worker.py) and, on PostgreSQL, the
backends serving the bench's database (``database``: found by their process
title, which names the database). With SQLite the database works inside the
server's process. PostgreSQL's shared background processes (WAL writer,
checkpointer) serve every database of the cluster and are not counted.

Processes are sampled every ``every_s`` while the meter runs: one that starts
meanwhile counts from zero, one that ends counts up to its last sample.
"""
from __future__ import annotations

import asyncio
import contextlib

import psutil


def _cpu(process: psutil.Process) -> tuple[float, float]:
    times = process.cpu_times()
    return times.user, times.system


class CpuMeter:
    def __init__(self, server_pid: int, database: str | None = None, every_s: float = 0.5) -> None:
        self.server = psutil.Process(server_pid)
        self.database = database
        self.every_s = every_s
        self._first: dict[int, tuple[str, float, float]] = {}  # pid -> (part, user, system) when first seen
        self._last: dict[int, tuple[str, float, float]] = {}
        self._task: asyncio.Task | None = None

    def _processes(self):
        yield "node", self.server
        with contextlib.suppress(psutil.Error):
            for child in self.server.children(recursive=True):
                yield "workers", child
        if self.database:
            title = f" {self.database} "
            for process in psutil.process_iter(["name", "cmdline"]):
                if process.info["name"] == "postgres" and title in " ".join(process.info["cmdline"] or ()) + " ":
                    yield "database", process

    def sample(self, *, starting: bool = False) -> None:
        for part, process in self._processes():
            with contextlib.suppress(psutil.Error):
                key = (process.pid, process.create_time())
                user, system = _cpu(process)
                self._last[key] = (part, user, system)
                self._first.setdefault(key, (part, user, system) if starting else (part, 0.0, 0.0))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            await asyncio.to_thread(self.sample)

    def start(self) -> None:
        self._first.clear()
        self._last.clear()
        self.sample(starting=True)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> dict[str, float]:
        """Seconds of CPU per part since ``start``: node (with node_user/node_sys), workers, database, and all of them."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.sample()
        used = {"node_user": 0.0, "node_sys": 0.0, "workers": 0.0, "database": 0.0}
        for key, (part, user, system) in self._last.items():
            _, user0, system0 = self._first[key]
            if part == "node":
                used["node_user"] += user - user0
                used["node_sys"] += system - system0
            else:
                used[part] += (user - user0) + (system - system0)
        used["node"] = used["node_user"] + used["node_sys"]
        used["all"] = used["node"] + used["workers"] + used["database"]
        return {k: round(v, 2) for k, v in used.items()}
