"""Web Push off the event loop: a process of the node's own encrypts, signs and sends the pushes, at the pace it is given.

Each push costs its sender a new key pair and its encryption (RFC 8291:
~0.25 ms) and an HTTP exchange with the push service (~0.5 ms of aiohttp);
on the event loop that fans out live frames, the group notifier's rounds of
pushes held that fan-out up (``bench/fanout.py --mentions 5 --offline 1000``:
p99 358 ms). So the node hands them to one worker process
(``python -m server.channels.push_worker``), started with the node's
channels when Web Push is configured (the first urgent push does not wait
for an interpreter to start) and stopped with them:

* the node reads the browsers and forgets the gone ones
  (server/channels/webpush.py): the worker has no database connection;
* a job is one line of JSON on the worker's stdin (the pushes, each its
  browsers and payload, and the pace); its answer one line on the worker's
  stdout (per push what took it or why nothing did, and the subscriptions
  gone). The VAPID key comes on the first line, never in the arguments or
  the environment;
* the worker paces each job at its ``per_s`` (the group notifier's
  ``MUSTER_GROUP_PUSH_PER_S``, one job at a time: the node's pace, as
  before), a tenth of a second's pushes at a time (``PACE_TICK_S``), with at
  most ``AT_ONCE`` pushes in flight in all, and signs one VAPID token per
  push service for hours instead of one per push. Started one by one every
  1/``per_s`` seconds, each push woke the worker from sleep with its caches
  cold: 0.9 ms of CPU a push at 200 a second, against 0.6 ms in bursts of 20
  (tests/server/channels/test_push_worker.py, bench/fanout.py --offline);
* it runs at a lower priority (``NICE``): where the machine's cores are
  all busy, the kernel runs the node's process, and so the live frames,
  first, and the pushes wait their turn;
* a worker that dies fails its jobs' pushes as retryable; the next push
  starts another.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from dataclasses import astuple, dataclass
from pathlib import Path

import aiohttp

from server.channels.config import ChannelSettings
from server.channels.providers.base import ProviderError, ProviderRejected, ProviderRetryable
from server.channels.webpush import Browser

log = logging.getLogger("muster.channels")

AT_ONCE = 50
PACE_TICK_S = 0.1  # a paced job starts this many seconds' worth of pushes at once
NICE = 10
LINE_LIMIT = 64 << 20  # a job of 10,000 pushes is ~5 MB of JSON
STOP_WAIT_S = 5.0
STOPPED = "the Web Push worker stopped"
BAD_KEY = "the VAPID private key cannot be read"
_ROOT = str(Path(__file__).resolve().parents[2])  # where ``server`` is imported from, for the worker's interpreter


@dataclass(frozen=True)
class Pushed:
    """What became of one push: what took it (``sent``), or why nothing did."""

    sent: str | None
    error: str | None = None
    retryable: bool = False

    def result(self) -> str:
        """``sent``, or the provider error a channel raises."""
        if self.sent is None:
            raise (ProviderRetryable if self.retryable else ProviderRejected)(self.error or STOPPED)
        return self.sent


class _Running:
    """One worker process, the jobs it has not answered yet and the task that reads its answers."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.jobs: dict[int, asyncio.Future] = {}
        self.reader = asyncio.get_running_loop().create_task(self._read())

    @property
    def alive(self) -> bool:
        return self.process.returncode is None and not self.reader.done()

    async def _read(self) -> None:
        try:
            while line := await self.process.stdout.readline():
                answer = json.loads(line)
                future = self.jobs.pop(answer["job"], None)
                if future is not None and not future.done():
                    future.set_result(answer)
        except Exception:
            log.exception("reading the Web Push worker's answers failed")
        finally:
            for future in self.jobs.values():
                if not future.done():
                    future.set_exception(ProviderRetryable(STOPPED))
            self.jobs.clear()

    async def stop(self) -> None:
        """Close its stdin (it stops taking jobs and exits), and kill it if it has not within ``STOP_WAIT_S``."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), STOP_WAIT_S)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        await asyncio.gather(self.reader, return_exceptions=True)


class PushWorker:
    """The node's side: ``push`` hands a job to the worker process (started when first needed) and awaits its answer."""

    def __init__(self, settings: ChannelSettings) -> None:
        self.settings = settings
        self._running: _Running | None = None
        self._starting = asyncio.Lock()
        self._jobs = 0

    @property
    def pid(self) -> int | None:
        return self._running.process.pid if self._running is not None and self._running.alive else None

    async def start(self) -> None:
        """Start the worker process now rather than at the first push."""
        await self._worker()

    async def push(self, pushes: list[tuple[list[Browser], dict]], *, per_s: float | None = None) -> tuple[list[Pushed], list[int]]:
        """Push each payload to its browsers, starting at most ``per_s`` a second; returns what became of each, and the gone subscriptions."""
        if not pushes:
            return [], []
        running = await self._worker()
        self._jobs += 1
        job = self._jobs
        answered = asyncio.get_running_loop().create_future()
        running.jobs[job] = answered
        line = json.dumps({"job": job, "per_s": per_s, "pushes": [[[astuple(b) for b in browsers], payload] for browsers, payload in pushes]})
        try:
            running.process.stdin.write(line.encode() + b"\n")
            await running.process.stdin.drain()
            answer = await answered
        except (ProviderRetryable, ConnectionError):
            running.jobs.pop(job, None)
            return [Pushed(None, STOPPED, retryable=True)] * len(pushes), []
        return [Pushed(*pushed) for pushed in answer["pushed"]], answer["gone"]

    async def _worker(self) -> _Running:
        async with self._starting:
            if self._running is None or not self._running.alive:
                if self._running is not None:
                    await self._running.stop()  # it may still run with its answers unreadable
                self._running = await self._start()
            return self._running

    async def _start(self) -> _Running:
        path = os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH")) if p)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.channels.push_worker", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env=os.environ | {"PYTHONPATH": path}, limit=LINE_LIMIT,
        )
        s = self.settings
        config = {"vapid_private_key": s.vapid_private_key, "vapid_subject": s.vapid_subject, "timeout_s": s.request_timeout_s,
                  "allow_private": s.push_allow_private}
        process.stdin.write(json.dumps(config).encode() + b"\n")
        return _Running(process)

    async def close(self) -> None:
        running, self._running = self._running, None
        if running is not None:
            await running.stop()


# --- the worker process ---------------------------------------------------------------------------------------------


def starts_after(n: int, per_s: float) -> float:
    """When the job's push ``n`` starts, in seconds after the job: ``per_s`` a second, a tick's worth at a time."""
    burst = max(1, round(per_s * PACE_TICK_S))
    return n // burst * burst / per_s


async def _serve() -> None:
    from server.channels.push_endpoints import push_session
    from server.channels.webpush import VapidSigner, push_to_browsers

    os.nice(NICE)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # whatever else prints goes to the node's log, not into the answers
    config = json.loads(await reader.readline())
    try:
        signer = VapidSigner(config["vapid_private_key"], config["vapid_subject"])
    except Exception as e:  # every push is refused, not retried: a worker started again would read the same key
        log.error("the VAPID private key (MUSTER_NOTIFY_VAPID_PRIVATE_KEY) cannot be read: %s", type(e).__name__)
        signer = None
    options = {"timeout": aiohttp.ClientTimeout(total=config["timeout_s"]), "allow_private": config["allow_private"]}
    gate = asyncio.Semaphore(AT_ONCE)

    async def run(job: dict) -> None:
        start, per_s, gone = loop.time(), job["per_s"], []

        async def one(n: int, browsers: list, payload: dict) -> tuple:
            if per_s:
                await asyncio.sleep(max(0.0, start + starts_after(n, per_s) - loop.time()))
            if signer is None:
                return None, BAD_KEY, False
            async with gate:
                try:
                    data = json.dumps(payload).encode()
                    return await push_to_browsers(http, signer, [Browser(*b) for b in browsers], data, gone, **options), None, False
                except ProviderError as e:
                    return None, e.message, isinstance(e, ProviderRetryable)
                except Exception as e:  # a bug fails this push, not the job
                    log.exception("a push failed")
                    return None, f"internal error: {type(e).__name__}", True

        pushed = await asyncio.gather(*(one(n, *push) for n, push in enumerate(job["pushes"])))
        answers.write(json.dumps({"job": job["job"], "pushed": pushed, "gone": gone}).encode() + b"\n")

    running: set[asyncio.Task] = set()
    async with push_session(allow_private=config["allow_private"]) as http:
        while line := await reader.readline():  # until the node closes stdin
            task = loop.create_task(run(json.loads(line)))
            running.add(task)
            task.add_done_callback(running.discard)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


if __name__ == "__main__":
    logging.basicConfig(stream=sys.stderr, level=os.environ.get("MUSTER_LOG_LEVEL", "INFO").upper())
    asyncio.run(_serve())
