"""Group fan-out benchmark: 10,000 members of one group connected over WebSocket to one node.

    python bench/fanout.py                          # full size: 10,000 members, 10 msg/s for 60 s
    python bench/fanout.py --members 2000 --duration 10
    python bench/fanout.py --mentions 5 --offline 1000  # with mention notifications and batched Web Push on

It starts ``python -m server serve`` on a fresh PostgreSQL database (dropped
at the end), seeds an organisation with one group of N members (users,
device sessions and group rows inserted directly, then ``ANALYZE``d as
autovacuum would have by then: without statistics PostgreSQL's generic plans
for the statements a post repeats can scan all N members' rows, as they did
on the test cluster, which runs with autovacuum off), and connects every member
with a minimal WebSocket client (raw asyncio protocol, split over
``--client-procs`` processes so the measuring side costs as little CPU as
possible). Then:

1. one warm-up message (the node loads the group's member set: reported as
   ``cold_all_ms``), then one measured message: p50/p99 of post→received over
   all members, and the time until the last member had it (``all_ms``);
2. ``--rate`` messages per second for ``--duration`` seconds: deliveries per
   CPU-second of everything that works for the server (bench/cpu.py: its
   process, its push worker and its PostgreSQL backends, user+system time
   from /proc, from the first post until every frame arrived; per part in
   ``cpu``, and per CPU-second of the server's process alone in
   ``deliveries_per_node_cpu_s``), lost and duplicated frames, the p99
   over messages of "delivered to all" (``sustained_all_p99_ms``) and how
   long the phase took (``sustained_s``: more than ``--duration`` when the
   node or the machine cannot keep up);
3. server memory per idle connection: RSS after all members connected and
   idle, minus RSS before the first connection, divided by N.

With ``--mentions M`` every sustained message mentions M members picked at
random (each gets a ``group.mentions`` badge event, and a Web Push if they
are offline); with ``--offline K`` the group has K more members who are not
connected and whose browsers are subscribed to Web Push at a fake push
service (tests/notify/fake_push.py, which checks VAPID and decrypts each
message): the node's group notifier batches what they missed, one push per
``--push-batch-s`` window (``pushes`` in the result), and its push worker
process encrypts and sends them (``cpu.workers``). The push service runs in
a process of its own, so that decrypting neither delays this process's
event loop, which stamps each post's send time, nor counts as the server's
work; it still takes a share of the machine's cores. A round of pushes
follows every window for as long as messages come, so a sustained phase
that runs late (a loaded machine) also sends more pushes.

The clients and the server share this machine's cores, so latency includes
the clients' own scheduling. Over loopback the kernel runs the receiving
side of every send (TCP receive, waking the client) inside the sender's
system call, so ``cpu.node_sys`` also counts work that a server sending over
a network card would not do (about 45% of the send's kernel time in a perf
profile of a 2,000-member run). Progress goes to stderr; the last line of stdout
is one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import resource
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from server.accounts.auth import hash_token, new_token  # noqa: E402
from server.db import Database, utcnow  # noqa: E402
from server.db.migrate import upgrade  # noqa: E402
from cpu import CpuMeter  # noqa: E402  (bench/, beside this file)
from rawws import RawDevice  # noqa: E402

DEFAULT_POSTGRES = os.environ.get("MUSTER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerNode:
    """``python -m server serve`` in a subprocess, with its own data directory; used by bench/upload.py too."""

    def __init__(self, data_dir: Path, database_url: str = "", log_name: str = "server.log", **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = os.environ | {"MUSTER_DATA_DIR": str(data_dir), "MUSTER_LOG_LEVEL": "WARNING", "MUSTER_SECRET_KEY": secrets.token_urlsafe(48)}
        if database_url:
            env["MUSTER_DATABASE_URL"] = database_url
        env |= {f"MUSTER_{k.upper()}": v for k, v in settings.items()}
        self._log = (data_dir.parent / log_name).open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--migrate", "--port", str(self.port)],
            env=env,
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=raise_fd_limit,
        )
        self.ps = psutil.Process(self.process.pid)

    async def wait_ready(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise SystemExit(f"server exited with {self.process.returncode}; see {self._log.name}")
                try:
                    async with http.get(f"{self.url}/readyz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise SystemExit("server not ready in time")

    def rss(self) -> int:
        return self.ps.memory_info().rss

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


# --- seeding ------------------------------------------------------------------


async def seed(database_url: str, members: int, browsers: list[dict] = ()) -> tuple[int, int, str, list[str], list[int]]:
    """An organisation, its owner, one group of ``members`` people (owner included) and one more per Web Push
    subscription in ``browsers`` (no device session); returns the ids, the connecting members' tokens and every member's id."""
    from sqlalchemy import insert, select, text

    from server.accounts.models import DeviceSession, User
    from server.channels.models import PushSubscription
    from server.groups.models import Group, GroupMember
    from server.orgs.models import Membership, Organisation

    db = Database(database_url)
    now = utcnow()
    tokens = [new_token() for _ in range(members)]
    connecting, members = members, members + len(browsers)
    try:
        async with db.transaction() as tx:
            org = Organisation(name="Bench", slug=f"bench-{uuid.uuid4().hex[:8]}")
            tx.session.add(org)
            await tx.session.flush()
            await tx.session.execute(
                insert(User), [{"kind": "person", "name": f"Member {i}", "email": f"m{i}@bench.example", "totp_enabled": False, "created_at": now} for i in range(members)]
            )
            ids = list(await tx.session.scalars(select(User.id).order_by(User.id)))
            group = Group(org_id=org.id, name="Everyone", last_seq=0, member_limit=members, allow_guests=False, created_by=ids[0])
            tx.session.add(group)
            await tx.session.flush()
            for start in range(0, members, 2000):
                chunk = range(start, min(start + 2000, members))
                await tx.session.execute(
                    insert(Membership),
                    [{"org_id": org.id, "user_id": ids[i], "role": "owner" if i == 0 else "member", "display_name": f"Member {i}", "title": "", "created_at": now} for i in chunk],
                )
                await tx.session.execute(
                    insert(GroupMember),
                    [{"org_id": org.id, "group_id": group.id, "user_id": ids[i], "role": "owner" if i == 0 else "member", "read_seq": 0, "muted": False, "joined_at": now} for i in chunk],
                )
                sessions = [
                    {"user_id": ids[i], "token_hash": hash_token(tokens[i]), "device_name": "bench", "user_agent": "", "ip": "", "created_at": now, "last_seen_at": now, "expires_at": now.replace(year=now.year + 1)}
                    for i in chunk if i < connecting
                ]
                if sessions:
                    await tx.session.execute(insert(DeviceSession), sessions)
            if browsers:
                await tx.session.execute(
                    insert(PushSubscription),
                    [{"user_id": ids[connecting + i], "endpoint": b["endpoint"], "p256dh": b["keys"]["p256dh"], "auth": b["keys"]["auth"], "created_at": now}
                     for i, b in enumerate(browsers)],
                )
        async with db.transaction() as tx:
            await tx.session.execute(text("ANALYZE"))  # what autovacuum does to tables grown like these (the test cluster runs without it)
        return org.id, group.id, tokens[0], tokens, ids
    finally:
        await db.close()


# --- the measuring clients ----------------------------------------------------------


class MemberSocket(RawDevice):
    """A group member's device: notes which group messages arrived, and when."""

    MESSAGE_PREFIX = b'{"type":"group.message"'

    def __init__(self, host: str, port: int, token: str, stats: "WorkerStats", ready: asyncio.Future) -> None:
        super().__init__(host, port, token, ready)
        self.stats = stats
        self.seen = bytearray()

    def connection_lost(self, exc) -> None:
        self.stats.closed += 1
        super().connection_lost(exc)

    def on_text(self, payload: bytes, now: float) -> None:
        if payload.startswith(self.MESSAGE_PREFIX):
            at = payload.find(b'"seq":') + 6
            end = at
            while payload[end] in b"0123456789":
                end += 1
            self.stats.received(self, int(payload[at:end]), now)
        elif not self.ready.done() and payload.startswith(b'{"type":"ready"'):
            self.ready.set_result(None)


class WorkerStats:
    def __init__(self) -> None:
        self.delivered = 0
        self.duplicated = 0
        self.closed = 0
        self.first_at: dict[int, list[float]] = {}  # seq -> receive times, for the measured single message
        self.last_at: dict[int, float] = {}  # seq -> when the last of this worker's members got it
        self.track_all_times_of: int | None = None

    def received(self, sock: MemberSocket, seq: int, now: float) -> None:
        seen = sock.seen
        if len(seen) <= seq:
            seen.extend(bytes(seq + 1 - len(seen) + 64))
        if seen[seq]:
            self.duplicated += 1
            return
        seen[seq] = 1
        self.delivered += 1
        if seq == self.track_all_times_of:
            self.first_at.setdefault(seq, []).append(now)
        if now > self.last_at.get(seq, 0.0):
            self.last_at[seq] = now


def client_worker(host: str, port: int, tokens: list[str], pipe) -> None:
    """One process: connect its share of members, then answer the main process's commands over ``pipe``."""
    raise_fd_limit()
    asyncio.run(_client_worker(host, port, tokens, pipe))


async def _client_worker(host: str, port: int, tokens: list[str], pipe) -> None:
    loop = asyncio.get_running_loop()
    stats = WorkerStats()
    limit = asyncio.Semaphore(64)
    sockets: list[MemberSocket] = []

    async def connect(token: str) -> None:
        async with limit:
            ready = loop.create_future()
            _transport, protocol = await loop.create_connection(lambda: MemberSocket(host, port, token, stats, ready), host, port)
            sockets.append(protocol)
            await asyncio.wait_for(ready, 60)

    results = await asyncio.gather(*(connect(t) for t in tokens), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    pipe.send({"connected": len(tokens) - len(failures), "failed": len(failures), "error": repr(failures[0]) if failures else None})
    commands: asyncio.Queue = asyncio.Queue()
    loop.add_reader(pipe.fileno(), lambda: commands.put_nowait(pipe.recv()))
    while True:
        command = await commands.get()
        if command[0] == "track":
            stats.track_all_times_of = command[1]
        elif command[0] == "report":
            pipe.send(
                {"delivered": stats.delivered, "duplicated": stats.duplicated, "closed": stats.closed, "first_at": stats.first_at, "last_at": stats.last_at}
            )
        elif command[0] == "stop":
            for s in sockets:
                if s.transport is not None:
                    s.transport.close()
            return


class Clients:
    def __init__(self, host: str, port: int, tokens: list[str], procs: int) -> None:
        ctx = multiprocessing.get_context("fork")
        self.pipes, self.processes = [], []
        for i in range(procs):
            here, there = ctx.Pipe()
            process = ctx.Process(target=client_worker, args=(host, port, tokens[i::procs], there), daemon=True)
            process.start()
            self.pipes.append(here)
            self.processes.append(process)

    async def _ask_all(self, command=None) -> list[dict]:
        if command is not None:
            for pipe in self.pipes:
                pipe.send(command)
        return [await asyncio.to_thread(pipe.recv) for pipe in self.pipes]

    async def connected(self) -> list[dict]:
        return await self._ask_all()

    def track(self, seq: int) -> None:
        for pipe in self.pipes:
            pipe.send(("track", seq))

    async def report(self) -> dict:
        reports = await self._ask_all(("report",))
        merged = {"delivered": 0, "duplicated": 0, "closed": 0, "first_at": {}, "last_at": {}}
        for r in reports:
            for key in ("delivered", "duplicated", "closed"):
                merged[key] += r[key]
            for seq, times in r["first_at"].items():
                merged["first_at"].setdefault(seq, []).extend(times)
            for seq, at in r["last_at"].items():
                merged["last_at"][seq] = max(at, merged["last_at"].get(seq, 0.0))
        return merged

    def stop(self) -> None:
        for pipe in self.pipes:
            pipe.send(("stop",))
        for process in self.processes:
            process.join(10)


# --- the push service ------------------------------------------------------------------


def push_service_worker(public_key: str, count: int, pipe) -> None:
    """The fake push service with ``count`` subscribed browsers, in a process of its own; answers ``report``/``stop`` over ``pipe``."""
    asyncio.run(_push_service_worker(public_key, count, pipe))


async def _push_service_worker(public_key: str, count: int, pipe) -> None:
    from tests.notify.fake_push import FakePushService

    service = FakePushService(public_key)
    await service.start()
    browsers = [service.subscribe() for _ in range(count)]
    pipe.send([b.as_browser_gives_it() for b in browsers])
    commands: asyncio.Queue = asyncio.Queue()
    asyncio.get_running_loop().add_reader(pipe.fileno(), lambda: commands.put_nowait(pipe.recv()))
    while (command := await commands.get()) != "stop":
        if command == "arrivals":  # bench/health.py: when each browser got which kind of push
            pipe.send([[(m["at"], m["payload"].get("type")) for m in b.messages] for b in browsers])
        else:
            pipe.send({"pushes": sum(len(b.messages) for b in browsers), "refused": len(service.refused)})
    await service.stop()


class PushService:
    """The fake push service (tests/notify/fake_push.py) in a forked process: decrypting the pushes is neither the
    server's work nor the work of this process's event loop, which stamps each post's send time."""

    def __init__(self, public_key: str, count: int) -> None:
        self.pipe, there = multiprocessing.get_context("fork").Pipe()
        self.process = multiprocessing.get_context("fork").Process(target=push_service_worker, args=(public_key, count, there), daemon=True)
        self.process.start()

    async def browsers(self) -> list[dict]:
        return await asyncio.to_thread(self.pipe.recv)

    async def report(self) -> dict:
        self.pipe.send("report")
        return await asyncio.to_thread(self.pipe.recv)

    async def arrivals(self) -> list[list[tuple[float, str]]]:
        """Per browser, in the order ``browsers`` gave them: (time.time() it arrived, its payload's ``type``) of each push."""
        self.pipe.send("arrivals")
        return await asyncio.to_thread(self.pipe.recv)

    def stop(self) -> None:
        self.pipe.send("stop")
        self.process.join(10)


# --- the run -----------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def wait_delivered(clients: Clients, expected: int, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        report = await clients.report()
        if report["delivered"] >= expected or time.monotonic() > deadline:
            return report
        await asyncio.sleep(0.25)


async def run(args: argparse.Namespace) -> dict:
    import asyncpg

    admin = DEFAULT_POSTGRES
    name = f"muster_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    database_url = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/" + name
    tmp = Path(tempfile.mkdtemp(prefix="muster-fanout-"))
    node = None
    clients = None
    push_service = None
    try:
        await asyncio.to_thread(upgrade, database_url)
        push = {}
        browsers = []
        if args.offline:
            from tests.notify.fake_push import vapid_keys

            private, public = vapid_keys()
            push_service = PushService(public, args.offline)
            browsers = await push_service.browsers()
            push = {"notify_vapid_private_key": private, "notify_vapid_public_key": public, "notify_push_allow_private": "true"}
        log(f"seeding {args.members} members" + (f" and {args.offline} away with Web Push" if args.offline else ""))
        org_id, group_id, owner_token, tokens, member_ids = await seed(database_url, args.members, browsers)
        node = ServerNode(tmp / "data", database_url, ws_heartbeat_s="20", group_push_batch_s=str(args.push_batch_s), **push)
        await node.wait_ready()
        messages_url = f"{node.url}/api/v1/orgs/{org_id}/groups/{group_id}/messages"
        headers = {"Authorization": f"Bearer {owner_token}"}
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{node.url}/api/v1/orgs/{org_id}/groups/{group_id}", headers=headers) as resp:
                assert resp.status == 200, await resp.text()
            await asyncio.sleep(1)
            rss_before = node.rss()
            log(f"connecting {args.members} members over {args.client_procs} client processes")
            started = time.monotonic()
            clients = Clients("127.0.0.1", node.port, tokens, args.client_procs)
            connected = await clients.connected()
            failed = sum(c["failed"] for c in connected)
            log(f"connected {sum(c['connected'] for c in connected)} in {time.monotonic() - started:.1f}s, failed {failed} {[c['error'] for c in connected if c['error']]}")
            await asyncio.sleep(3)
            rss_idle = node.rss()

            rng = random.Random(1)

            async def post(seq_expected: int, body: str, mentions: int = 0) -> float:
                sent_at = time.time()
                named = rng.sample(member_ids[1:], mentions) if mentions else []
                async with http.post(messages_url, json={"body": body, "mentions": named}, headers=headers) as resp:
                    assert resp.status == 201, await resp.text()
                    assert (await resp.json())["seq"] == seq_expected
                return sent_at

            cold_at = await post(1, "warm-up")
            report = await wait_delivered(clients, args.members, 30)
            cold_all_ms = (report["last_at"].get(1, cold_at) - cold_at) * 1000
            clients.track(2)
            await asyncio.sleep(0.5)
            measured_at = await post(2, "measured")
            report = await wait_delivered(clients, 2 * args.members, 30)
            latencies = [(t - measured_at) * 1000 for t in report["first_at"].get(2, [])]
            single_lost = args.members - len(latencies)
            log(f"one message: {len(latencies)} delivered, p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms")

            count = int(args.rate * args.duration)
            log(f"sustained: {count} messages at {args.rate}/s")
            meter = CpuMeter(node.process.pid, name)
            meter.start()
            delivered_before = report["delivered"]
            sent: dict[int, float] = {}
            start = time.monotonic()
            for i in range(count):
                await asyncio.sleep(max(0.0, start + i / args.rate - time.monotonic()))
                sent[3 + i] = await post(3 + i, f"message {i}", args.mentions)
            report = await wait_delivered(clients, (2 + count) * args.members, 60)
            cpu = await meter.stop()
            sustained_s = time.monotonic() - start
            delivered = report["delivered"] - delivered_before
            log(f"sustained: done, {delivered} deliveries, CPU {cpu}")
            all_ms = [(report["last_at"][seq] - at) * 1000 for seq, at in sent.items() if seq in report["last_at"]]
            rss_after = node.rss()
            pushes = {"pushes": 0, "refused": 0}
            if push_service is not None:
                await asyncio.sleep(args.push_batch_s + 2)  # the last window's pushes
                pushes = await push_service.report()
        return {
            "members": args.members,
            "connected": sum(c["connected"] for c in connected),
            "p50_ms": round(percentile(latencies, 50), 1),
            "p99_ms": round(percentile(latencies, 99), 1),
            "all_ms": round(max(latencies), 1),
            "cold_all_ms": round(cold_all_ms, 1),
            "lost": single_lost + (count * args.members - delivered),
            "duplicated": report["duplicated"],
            "messages": count,
            "sustained_s": round(sustained_s, 1),
            "deliveries": delivered,
            "cpu": cpu,
            "deliveries_per_cpu_s": round(delivered / cpu["all"]) if cpu["all"] else None,
            "deliveries_per_node_cpu_s": round(delivered / cpu["node"]) if cpu["node"] else None,
            "sustained_all_p50_ms": round(statistics.median(all_ms), 1) if all_ms else None,
            "sustained_all_p99_ms": round(percentile(all_ms, 99), 1) if all_ms else None,
            "rss_per_conn_kb": round((rss_idle - rss_before) / args.members / 1024, 1),
            "server_rss_mb": round(rss_after / 2**20, 1),
            "mentions_per_message": args.mentions,
            "offline_with_push": args.offline,
            "pushes": pushes["pushes"],
            "push_refused": pushes["refused"],
        }
    finally:
        if push_service is not None:
            push_service.stop()
        if clients is not None:
            clients.stop()
        if node is not None:
            node.stop()
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--members", type=int, default=10_000, help="members of the group, all connected (default 10000)")
    parser.add_argument("--rate", type=float, default=10.0, help="messages per second in the sustained phase (default 10)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of the sustained phase (default 60)")
    parser.add_argument("--client-procs", type=int, default=2, help="processes sharing the client sockets (default 2)")
    parser.add_argument("--mentions", type=int, default=0, help="members each sustained message mentions (default 0)")
    parser.add_argument("--offline", type=int, default=0, help="more members, not connected, subscribed to Web Push (default 0)")
    parser.add_argument("--push-batch-s", type=float, default=5.0, help="the node's Web Push batching window (default 5)")
    args = parser.parse_args()
    raise_fd_limit()
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
