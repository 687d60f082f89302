"""Urgent broadcast benchmark: delivery to 10,000 connected devices, then 10,000 escalation calls paced at 100/s.

    python bench/urgent.py                                  # full size
    python bench/urgent.py --recipients 1000 --steps 1000   # quicker

It starts ``python -m server serve`` on a fresh PostgreSQL database (dropped
at the end), with notify pointed at the fake Twilio-compatible provider of
tests/notify/fake_provider.py running in this process, and seeds people
directly in the database (no passwords, one device session each).

1. **Delivery.** ``--recipients`` people each connect one device with the
   ``websockets`` client (hello, ready), then one broadcast is sent to all of
   them. For every device: send→delivered = the moment its
   ``broadcast.received`` event arrived minus the moment the send request
   left (wall clock, same machine). Each device then acknowledges
   ``delivered`` over its socket; ``lost`` counts devices that never got
   the event plus recipients whose delivered receipt is not in the database.
2. **Escalation.** ``--steps`` other people, with phones and no device,
   are sent a broadcast whose policy calls everyone not confirmed after
   ``--due-after`` seconds, so every call step falls due at the same moment.
   The fake provider allows ``--call-rate`` calls per second (429 past it),
   and Muster is configured with the same rate. The i-th call to reach the
   provider cannot be earlier than due + i/rate; ``lateness`` is how much
   later than that it came. ``doubled`` counts calls the provider accepted
   twice (the same number, or the same idempotency key sent again after
   being accepted); ``lost`` counts people never called.

Progress goes to stderr; the last line of stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
import websockets  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from notify.models import BroadcastRecipient  # noqa: E402
from server.db import Database  # noqa: E402
from server.db.migrate import upgrade_async  # noqa: E402
from tests import services  # noqa: E402
from tests.notify.fake_provider import FakeProvider  # noqa: E402
from tests.notify.people import make_crowd  # noqa: E402


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def send(http: aiohttp.ClientSession, base: str, org_id: int, token: str, user_ids: list[int], policy: dict) -> dict:
    async with http.post(f"{base}/api/v1/orgs/{org_id}/broadcasts", headers={"Authorization": f"Bearer {token}"},
                         json={"title": "Code red", "body": "Every nurse on ward 3: evacuation drill now.", "recipients": {"user_ids": user_ids},
                               "policy": policy}) as resp:
        if resp.status != 201:
            raise SystemExit(f"send failed: {resp.status} {await resp.text()}")
        return await resp.json()


class Device:
    """One recipient's device: says hello, waits for the broadcast, acknowledges it."""

    def __init__(self, ws_url: str, token: str) -> None:
        self.ws_url, self.token = ws_url, token
        self.received_at: float | None = None
        self.acked = False
        self.ready = asyncio.Event()
        self.error: str | None = None
        self.ws = None

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, retrying a few times: on a loaded machine a handshake can time out."""
        for attempt in range(5):
            try:
                await self._connected(stop)
                return
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as e:
                if self.ready.is_set() or attempt == 4:
                    self.error = f"{type(e).__name__}: {e}"
                    self.ready.set()  # give up: counted as lost
                    return
                await asyncio.sleep(1.0)

    async def _connected(self, stop: asyncio.Event) -> None:
        async with connect(self.ws_url, max_queue=None, ping_interval=None, open_timeout=120) as ws:
            self.ws = ws
            await ws.send(json.dumps({"type": "hello", "token": self.token, "user_seq": 0}))
            async for raw in ws:
                frame = json.loads(raw)
                if frame["type"] == "ready":
                    self.ready.set()
                elif frame["type"] == "event" and frame["event"] == "broadcast.received" and self.received_at is None:
                    self.received_at = time.time()
                    await ws.send(json.dumps({"type": "broadcast.receipt", "broadcast_id": frame["data"]["broadcast_id"], "state": "delivered"}))
                elif frame["type"] == "broadcast.receipt.saved":
                    self.acked = True
                    if stop.is_set():
                        return
                if stop.is_set() and self.acked:
                    return


async def delivery_part(args, db: Database, base: str) -> dict:
    org_id, _, admin_token, members = await make_crowd(db, args.recipients, phones=False, tag=f"d{os.getpid()}")
    log(f"delivery: seeded {len(members)} people; connecting their devices")
    ws_url = base.replace("http://", "ws://") + "/api/v1/ws"
    devices = [Device(ws_url, token) for _, token in members]
    stop = asyncio.Event()
    gate = asyncio.Semaphore(args.connect_concurrency)

    async def run(device: Device) -> None:
        async with gate:
            task = asyncio.create_task(device.run(stop))
            await asyncio.wait([task, asyncio.create_task(device.ready.wait())], return_when=asyncio.FIRST_COMPLETED)
        await task

    tasks = [asyncio.create_task(run(d)) for d in devices]
    started = time.monotonic()
    while sum(d.ready.is_set() for d in devices) < len(devices):
        if time.monotonic() - started > 600:
            raise SystemExit("devices did not all connect in 10 minutes")
        await asyncio.sleep(0.5)
    failed = [d.error for d in devices if d.error]
    log(f"delivery: {len(devices) - len(failed)} devices ready in {time.monotonic() - started:.1f} s ({len(failed)} could not connect"
        + (f", e.g. {failed[0]}" if failed else "") + "); sending")
    await asyncio.sleep(1.0)
    async with aiohttp.ClientSession() as http:
        sent_at = time.time()
        broadcast = await send(http, base, org_id, admin_token, [m for m, _ in members], {"sms_after_s": None, "call_after_s": None,
                                                                                         "repeats": 0, "repeat_interval_s": 60})
        log(f"delivery: the send request took {(time.time() - sent_at) * 1000:.0f} ms")
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline and not all(d.acked or d.error for d in devices):
        await asyncio.sleep(0.2)
    stop.set()
    for d in devices:
        if d.ws is not None:
            await d.ws.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies = [(d.received_at - sent_at) * 1000 for d in devices if d.received_at is not None]
    async with db.transaction() as tx:
        stored = await tx.session.scalar(
            select(func.count()).select_from(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast["id"], BroadcastRecipient.stage >= 1)
        )
    never_received = len(devices) - len(latencies)
    log(f"delivery: {len(latencies)} received, {stored} delivered receipts stored")
    return {
        "recipients": len(devices),
        "delivered_p50_ms": round(percentile(latencies, 50), 1),
        "delivered_p99_ms": round(percentile(latencies, 99), 1),
        "delivered_max_ms": round(max(latencies), 1) if latencies else None,
        "lost": never_received + (len(devices) - stored if never_received == 0 else 0),
        "receipts_stored": stored,
    }


async def escalation_part(args, db: Database, base: str, fake: FakeProvider) -> dict:
    org_id, _, admin_token, members = await make_crowd(db, args.steps, phones=True, tag=f"e{os.getpid()}")
    log(f"escalation: seeded {len(members)} people with phones; sending, calls due after {args.due_after} s")
    fake.requests.clear()
    fake.sent.clear()
    async with aiohttp.ClientSession() as http:
        broadcast = await send(http, base, org_id, admin_token, [m for m, _ in members],
                               {"sms_after_s": None, "call_after_s": args.due_after, "repeats": 0, "repeat_interval_s": 60})
    due = dt.datetime.fromisoformat(broadcast["created_at"]).timestamp() + args.due_after
    forced_s = args.steps / args.call_rate
    deadline = time.time() + args.due_after + forced_s * 1.5 + 60
    while time.time() < deadline and len(fake.sent) < args.steps:
        await asyncio.sleep(5.0)
        log(f"escalation: {len(fake.sent)} calls so far")
    await asyncio.sleep(2.0)  # anything sent twice would arrive now
    calls = sorted(fake.sent.values(), key=lambda s: s.at)
    lateness = [(c.at - (due + i / args.call_rate)) * 1000 for i, c in enumerate(calls)]
    accepted_keys = Counter(r["key"] for r in fake.requests if r["answer"] == "ok")
    per_number = Counter(c.to for c in calls)
    doubled = sum(n - 1 for n in accepted_keys.values() if n > 1) + sum(n - 1 for n in per_number.values() if n > 1)
    return {
        "escalations": len(calls),
        "escalation_lost": args.steps - len(per_number),
        "lateness_p50_ms": round(percentile(lateness, 50), 1),
        "lateness_p99_ms": round(percentile(lateness, 99), 1),
        "doubled": doubled,
        "provider_429": sum(1 for r in fake.requests if r["answer"] == "429"),
        "forced_s": forced_s,
        "last_call_after_due_s": round(calls[-1].at - due, 2) if calls else None,
    }


async def main(args) -> dict:
    services.require_postgres()
    url = await asyncio.to_thread(services.create_postgres_database)
    fake = FakeProvider(rate_per_s=args.call_rate, burst=max(1, int(args.call_rate)))
    await fake.start()
    db = Database(url)
    server = None
    workdir = Path(tempfile.mkdtemp(prefix="muster-urgent-"))
    try:
        await upgrade_async(url)
        port = free_port()
        env = {
            **os.environ, "MUSTER_DATABASE_URL": url, "MUSTER_DATA_DIR": str(workdir), "MUSTER_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "MUSTER_LOG_LEVEL": "WARNING", "MUSTER_WS_SEND_QUEUE": "4096",
            "MUSTER_NOTIFY_PROVIDER": "twilio", "MUSTER_NOTIFY_TWILIO_BASE_URL": fake.url, "MUSTER_NOTIFY_TWILIO_ACCOUNT_SID": fake.account_sid,
            "MUSTER_NOTIFY_TWILIO_AUTH_TOKEN": fake.auth_token, "MUSTER_NOTIFY_FROM_NUMBER": "+441632960000",
            "MUSTER_NOTIFY_CALLS_PER_S": str(args.call_rate), "MUSTER_NOTIFY_ENGINE_IDLE_S": "0.2",
        }
        server = await services.start_muster_server(env, port, workdir / "server.log")
        base = f"http://127.0.0.1:{port}"
        result: dict = {"bench": "urgent"}
        if args.recipients:
            result |= await delivery_part(args, db, base)
        if args.steps:
            result |= await escalation_part(args, db, base, fake)
        result["lost"] = result.get("lost", 0) + result.pop("escalation_lost", 0)
        return result
    finally:
        if server is not None and server.returncode is None:
            server.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(server.wait(), 20)
            except TimeoutError:
                server.kill()
        await db.close()
        await fake.stop()
        await asyncio.to_thread(services.drop_postgres_database, url)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Needs PostgreSQL at 127.0.0.1:5432 (MUSTER_TEST_POSTGRES).")
    parser.add_argument("--recipients", type=int, default=10_000, help="devices connected for the delivery part (0 skips it)")
    parser.add_argument("--steps", type=int, default=10_000, help="escalation calls due at the same moment (0 skips that part)")
    parser.add_argument("--call-rate", type=float, default=100.0, help="calls per second the fake provider allows")
    parser.add_argument("--due-after", type=int, default=10, help="seconds after sending that every call falls due")
    parser.add_argument("--connect-concurrency", type=int, default=100, help="devices connecting at once (the server has a pool of 40 database connections)")
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for every device to receive and acknowledge")
    return parser.parse_args(argv)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(parse_args()))), flush=True)
