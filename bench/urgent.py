"""Urgent broadcast benchmark: delivery to 10,000 connected devices, then 10,000 escalation calls paced at 100/s.

    python bench/urgent.py                                  # full size
    python bench/urgent.py --recipients 1000 --steps 1000   # quicker

It starts ``python -m server serve`` on a fresh PostgreSQL database (dropped
at the end), with notify pointed at the fake Twilio-compatible provider of
tests/notify/fake_provider.py running in this process, and seeds people
directly in the database (no passwords, one device session each).

1. **Delivery.** ``--recipients`` people each connect one device (hello,
   ready; a minimal WebSocket client, its sockets spread over
   ``--client-procs`` processes so that measuring costs little of the CPU the
   server needs), then one broadcast is sent to all of them. For every device: send→delivered = the moment its
   ``broadcast.received`` event arrived minus the moment the send request
   left (wall clock, same machine). Each device then acknowledges
   ``delivered`` over its socket; ``lost`` counts devices that never got
   the event plus recipients whose delivered receipt is not in the database,
   ``duplicated`` devices that got it twice. ``server_cpu_s`` is the CPU time
   of everything that works for the server (bench/cpu.py: its process, its
   children and its PostgreSQL backends; per part in ``cpu``) from the send
   until every receipt was saved.
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
import multiprocessing
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
from sqlalchemy import func, select  # noqa: E402

from notify.models import BroadcastRecipient  # noqa: E402
from server.db import Database  # noqa: E402
from server.db.migrate import upgrade_async  # noqa: E402
from tests import services  # noqa: E402
from tests.notify.fake_provider import FakeProvider  # noqa: E402
from tests.notify.people import make_crowd  # noqa: E402
from cpu import CpuMeter  # noqa: E402  (bench/, beside this file)
from rawws import RawDevice, connect_all, masked_text  # noqa: E402


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


_RECEIVED = b'{"type":"event","seq":'
_RECEIVED_EVENT = b'"event":"broadcast.received"'


class Device(RawDevice):
    """One recipient's device: notes when the broadcast arrived, and acknowledges it."""

    def __init__(self, port: int, token: str, ready: asyncio.Future) -> None:
        super().__init__("127.0.0.1", port, token, ready)
        self.received_at: float | None = None
        self.received_twice = False
        self.acked = False

    def on_text(self, payload: bytes, now: float) -> None:
        """The broadcast is recognised without parsing the whole frame: the clients' CPU is the server's too."""
        if payload.startswith(_RECEIVED) and _RECEIVED_EVENT in payload:
            at = payload.index(b'"broadcast_id":') + 15
            self.on_received(int(payload[at : payload.index(b",", at)]), now)
        else:
            self.on_frame(json.loads(payload))

    def on_received(self, broadcast_id: int, now: float) -> None:
        if self.received_at is not None:
            self.received_twice = True
            return
        self.received_at = now
        receipt = {"type": "broadcast.receipt", "broadcast_id": broadcast_id, "state": "delivered"}
        self.transport.write(masked_text(json.dumps(receipt).encode()))

    def on_frame(self, frame: dict) -> None:
        if frame["type"] == "broadcast.receipt.saved":
            self.acked = True
        elif frame["type"] == "ready" and not self.ready.done():
            self.ready.set_result(None)


def device_worker(port: int, tokens: list[str], concurrency: int, pipe) -> None:
    """One client process: connect its share of devices, then answer the main process's ``report``/``stop`` over ``pipe``."""
    asyncio.run(_device_worker(port, tokens, concurrency, pipe))


async def _device_worker(port: int, tokens: list[str], concurrency: int, pipe) -> None:
    loop = asyncio.get_running_loop()
    devices, failures = await connect_all(lambda token, ready: Device(port, token, ready), tokens, "127.0.0.1", port, concurrency)
    pipe.send({"ready": len(devices), "error": repr(failures[0]) if failures else None})
    commands: asyncio.Queue = asyncio.Queue()
    loop.add_reader(pipe.fileno(), lambda: commands.put_nowait(pipe.recv()))
    while (command := await commands.get()) != "stop":
        pipe.send({"received": [d.received_at for d in devices if d.received_at is not None], "acked": sum(d.acked for d in devices),
                   "twice": sum(d.received_twice for d in devices)} if command == "report" else {"acked": sum(d.acked for d in devices)})
    for d in devices:
        d.transport.close()


class Devices:
    """The devices, spread over ``procs`` client processes (forked, so they share nothing with the main loop), each
    running ``worker(port, its tokens, concurrency, pipe)`` (bench/health.py has devices of its own). With several
    ports (nodes), process i connects to the i-th, round robin."""

    def __init__(self, port: int | list[int], tokens: list[str], procs: int, concurrency: int, worker=device_worker) -> None:
        ctx = multiprocessing.get_context("fork")
        ports = port if isinstance(port, list) else [port]
        self.pipes, self.processes = [], []
        for i in range(procs):
            here, there = ctx.Pipe()
            process = ctx.Process(target=worker, args=(ports[i % len(ports)], tokens[i::procs], max(1, concurrency // procs), there), daemon=True)
            process.start()
            self.pipes.append(here)
            self.processes.append(process)

    async def ask(self, command: str | None = None) -> list[dict]:
        if command is not None:
            for pipe in self.pipes:
                pipe.send(command)
        return [await asyncio.to_thread(pipe.recv) for pipe in self.pipes]

    def stop(self) -> None:
        for pipe in self.pipes:
            pipe.send("stop")
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.kill()


async def delivery_part(args, db: Database, base: str, server_pid: int) -> dict:
    org_id, _, admin_token, members = await make_crowd(db, args.recipients, phones=False, tag=f"d{os.getpid()}")
    log(f"delivery: seeded {len(members)} people; connecting their devices from {args.client_procs} client processes")
    started = time.monotonic()
    devices = Devices(int(base.rsplit(":", 1)[1]), [token for _, token in members], args.client_procs, args.connect_concurrency)
    try:
        connected = await devices.ask()
        ready = sum(c["ready"] for c in connected)
        errors = [c["error"] for c in connected if c["error"]]
        log(f"delivery: {ready} devices ready in {time.monotonic() - started:.1f} s ({len(members) - ready} could not connect"
            + (f", e.g. {errors[0]}" if errors else "") + "); sending")
        await asyncio.sleep(1.0)
        meter = CpuMeter(server_pid, db.url.rsplit("/", 1)[1])
        meter.start()
        async with aiohttp.ClientSession() as http:
            sent_at = time.time()
            broadcast = await send(http, base, org_id, admin_token, [m for m, _ in members], {"sms_after_s": None, "call_after_s": None,
                                                                                             "repeats": 0, "repeat_interval_s": 60})
            send_ms = (time.time() - sent_at) * 1000
        log(f"delivery: the send request took {send_ms:.0f} ms")
        deadline = time.monotonic() + args.wait
        while time.monotonic() < deadline and sum(c["acked"] for c in await devices.ask("count")) < ready:
            await asyncio.sleep(0.2)
        cpu = await meter.stop()
        reports = await devices.ask("report")
    finally:
        devices.stop()
    latencies = [(at - sent_at) * 1000 for r in reports for at in r["received"]]
    async with db.transaction() as tx:
        stored = await tx.session.scalar(
            select(func.count()).select_from(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast["id"], BroadcastRecipient.stage >= 1)
        )
    never_received = len(members) - len(latencies)
    log(f"delivery: {len(latencies)} received, {stored} delivered receipts stored")
    return {
        "recipients": len(members),
        "delivered_p50_ms": round(percentile(latencies, 50), 1),
        "delivered_p99_ms": round(percentile(latencies, 99), 1),
        "delivered_max_ms": round(max(latencies), 1) if latencies else None,
        "send_request_ms": round(send_ms, 1),
        "lost": never_received + (len(members) - stored if never_received == 0 else 0),
        "duplicated": sum(r["twice"] for r in reports),
        "receipts_stored": stored,
        "server_cpu_s": cpu["all"],
        "cpu": cpu,
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
            # The escalation part calls --steps people once each, --due-after seconds after sending: allow exactly that.
            "MUSTER_NOTIFY_CALLS_PER_ORG_PER_DAY": str(max(args.steps, 1)), "MUSTER_NOTIFY_PAID_MIN_DELAY_S": str(args.due_after),
        }
        server = await services.start_muster_server(env, port, workdir / "server.log")
        base = f"http://127.0.0.1:{port}"
        result: dict = {"bench": "urgent"}
        if args.recipients:
            result |= await delivery_part(args, db, base, server.pid)
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
    parser.add_argument("--client-procs", type=int, default=2, help="processes sharing the devices' sockets")
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for every device to receive and acknowledge")
    return parser.parse_args(argv)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(parse_args()))), flush=True)
