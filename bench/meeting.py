"""Meeting benchmark: an all-hands through the shipped server, its join API and its WebSocket signalling.

    python bench/meeting.py                          # 300 seats, 25 cameras, 4 talkers, one screen share
    python bench/meeting.py --participants 100 --no-janus

It starts ``python -m server serve`` with its default configuration (media
worker processes, one per core; the SFU announces 127.0.0.1) on a fresh
PostgreSQL database of its own (dropped at the end; ``--sqlite``: its
embedded SQLite). An operator (a user row
and a session token written directly: signing in is not measured) creates an
organisation and, for every run, a meeting through the API. Every seat joins
as a real page does: ``POST /api/v1/meetings/join`` (the host with its
session, everyone else as a guest with a display name), the device WebSocket
(``hello``, ``meeting.join`` with the ticket, ``meeting.offer`` → ``meeting.answer``).
The media are ``rooms.media.probe.ProbeClient``s (real ICE, DTLS and SRTP on
127.0.0.1, no codecs), split over ``--client-procs`` processes, each offering
the slots the meeting page asks for: 3 audio, 6 video (the stage and five
tiles) and the screen share (the probe publishes on sendonly m-lines where the
page uses sendrecv ones).

The scenario: every seat sends Opus-sized audio (50 packets/s) with an
RFC 6464 level and its send time, ``--talkers`` loud and everyone else silent;
``--cameras`` seats (the talkers among them) send single-layer VP8-sized
video, one ``--video-size`` packet every 20 ms with a keyframe a second (no
simulcast yet: the issue's next step adds the layers, and with them the high
layer on the stage and the low one on the tiles); the first seat also shares
its screen (one packet every ``--screen-every`` ticks).

Measured over a window after everyone joined and a warm-up:

* ``join_p50_ms``/``join_p95_ms``: from the join request to DTLS connected, per seat;
* ``forwarded_pkts``: the media packets the receivers got in the window,
  counted by sequence number from the clear SRTP header (the SFU sends no
  padding, probes or retransmissions to these clients: they send no NACK);
  ``forwarded_pkts_per_cpu_s`` divides it by the CPU seconds (user+system)
  of everything working for the server (bench/cpu.py: its process, its media
  workers, its PostgreSQL backends; per part in ``server_cpu_s``);
* ``machine_cpu_pct``: the whole machine's busy share over the window
  (``/proc/stat``: the bench, the server and whatever else runs here);
* ``loss_pct``: gaps in each receive slot's sequence numbers;
* ``added_latency_p50_ms``/``p99``: receive time minus the send time stamped
  in an audio payload, on one received packet in ``--latency-sample``; it
  includes the clients' own work on the same machine;
* ``receiver_kbps_p50``: per seat, the RTP bytes (before SRTP's tag) of the
  packets it received, from the counts and the sizes the senders use.

If the full size misses loss ≤ 0.5 % or added latency p99 ≤ 20 ms, or
the machine is saturated (``machine_cpu_pct`` ≥ 90), a bisection of
``--search-runs`` shorter runs (``--search-duration``), each a new meeting
on the same server, finds ``seats_at_targets``: the largest seat count
tried at which both held (``search`` lists every run).

Then, unless ``--no-janus``, the same run puts a publishers → subscribers load
through Muster's workers and through Janus 1.1's VideoRoom, side by side in a
network namespace (``bench/janus_videoroom.py``, which also runs alone):
``janus_ratio`` is Muster's packets received by subscribers per server
CPU-second divided by Janus's; without root or the ``janus`` package it is
null and ``janus`` says why.

Progress goes to stderr; the last line of stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib
import json
import os
import shutil
import struct
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
import psutil  # noqa: E402
from aiortc import sdp  # noqa: E402
from aiortc.rtcdtlstransport import RTCCertificate  # noqa: E402

from rooms.media import rtp  # noqa: E402
from rooms.media.probe import OPUS, ProbeClient  # noqa: E402
from rooms.media.transport import restrict_host_addresses  # noqa: E402
from server.accounts.users import do_create_user  # noqa: E402
from server.db import Database  # noqa: E402

import janus_videoroom  # noqa: E402  (bench/, beside this file)
from cpu import CpuMeter  # noqa: E402
from fanout import ServerNode, log, raise_fd_limit  # noqa: E402
from health import Api, sign_in  # noqa: E402
from rtp_clients import Poller, count_decrypted, expected_and_received  # noqa: E402

database_bench = importlib.import_module("import")  # bench/import.py: creating and dropping the database

_FRAME = struct.Struct("!I")
_STAMP = struct.Struct("!d")
BUCKET_MS = 0.1
AUDIO_SLOTS, VIDEO_SLOTS = 3, 6  # what rooms/web/static/meeting.js offers (AUDIO_SLOTS, VIDEO_SLOTS), plus its screen slot
AUDIO_BYTES = 12 + 8 + 80  # the probe's audio packet: RTP header, the audio-level extension block, the payload
LOSS_TARGET_PCT, LATENCY_TARGET_MS, SATURATED_PCT = 0.5, 20.0, 90.0
DEFAULT_POSTGRES = os.environ.get("MUSTER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


async def read_message(reader) -> dict:
    size = _FRAME.unpack(await reader.readexactly(4))[0]
    return json.loads(await reader.readexactly(size))


def write_message(writer, message: dict) -> None:
    data = json.dumps(message).encode()
    writer.write(_FRAME.pack(len(data)) + data)


class BenchClient(ProbeClient):
    """A probe that counts every packet from its clear SRTP header and decrypts one in ``sample`` for latency.

    Counting per-slot sequence ranges needs only the header, which SRTP leaves
    in the clear; the reader counts in C (``rtp_clients.count_decrypted``):
    decrypting everything, or reading every packet in Python, would make the
    clients, not the SFU, the bottleneck of a 2-core machine.
    """

    def __init__(self, *args, sample: int = 10, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.counting = False
        self.sample = sample
        self.slots = self.transport.streams  # ssrc -> ReceiveState
        self.slot_kinds: dict[int, str] = {}  # ssrc -> "audio" / "video", from the answer
        self.histogram: dict[int, int] = {}
        self.transport.on_rtp = self._decrypted

    def read_answer(self, answer_text: str) -> None:
        super().read_answer(answer_text)
        self.slot_kinds = {m.ssrc[0].ssrc: m.kind for m in sdp.SessionDescription.parse(answer_text).media if m.ssrc}

    def start_counting(self) -> None:
        self.slots.clear()  # each slot is counted from its first packet in the window
        self.counting = True

    def received_bytes(self, video_bytes: int) -> int:
        return sum(s.received * (AUDIO_BYTES if self.slot_kinds.get(ssrc) == "audio" else video_bytes) for ssrc, s in self.slots.items())

    def _decrypted(self, data: bytes) -> None:
        count_decrypted(self.slots, data, self.sample)
        if self.counting:
            self._latency(data)

    def _latency(self, data: bytes) -> None:
        header = rtp.parse_header(data)
        if header.payload_type != OPUS.payloadType:
            return  # video payloads carry no send time
        sent = _STAMP.unpack_from(data, header.payload_start)[0]
        bucket = int((time.monotonic() - sent) * 1000 / BUCKET_MS)
        self.histogram[bucket] = self.histogram.get(bucket, 0) + 1


class Signalling:
    """One seat's device WebSocket: the frames a step waits for, and every other frame read and dropped."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.waiting: dict[str, asyncio.Future] = {}
        self.frames = 0
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:  # aiohttp answers the hub's pings itself
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(message.data)
            self.frames += 1
            future = self.waiting.pop(frame["type"], None)
            if future is not None:
                future.set_result(frame)
            elif frame["type"] == "error":
                for future in self.waiting.values():
                    future.set_exception(RuntimeError(f"error frame: {frame['error']}"))
                self.waiting.clear()
        for future in self.waiting.values():
            future.set_exception(ConnectionError(f"the device socket closed: {self.ws.close_code} {self.ws.exception() or ''}"))

    async def call(self, frame: dict | None, reply: str, timeout: float = 60) -> dict:
        future = self.waiting[reply] = asyncio.get_running_loop().create_future()
        if frame is not None:
            await self.ws.send_str(json.dumps(frame))
        return await asyncio.wait_for(future, timeout)

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader


VP8_KEY, VP8_DELTA = b"\x10\x00", b"\x10\x01"  # VP8 descriptor S=1, then the payload header's P bit (0: keyframe)


async def client_process(args) -> None:
    """One client process: joins its seats through the API and the WebSocket, then sends and counts."""
    raise_fd_limit()
    restrict_host_addresses(["127.0.0.1"])
    plan = json.loads(args.client_role)
    reader, writer = await asyncio.open_unix_connection(plan["socket"])
    certificate = RTCCertificate.generateCertificate()
    clients: dict[str, BenchClient] = {}
    sockets: list[Signalling] = []
    join_ms: list[float] = []
    lock = asyncio.Semaphore(args.join_concurrency)
    poller = Poller()
    polling = asyncio.create_task(poller.run())
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=120))
    base, cameras = plan["base"], set(plan["cameras"])

    async def join(name: str) -> None:
        async with lock:
            started = time.monotonic()
            host = name == plan["host"]
            headers = {"Authorization": f"Bearer {plan['host_token']}"} if host else {}
            body = {"link_token": plan["link_token"]} | ({} if host else {"display_name": name})
            async with http.post(f"{base}/api/v1/meetings/join", json=body, headers=headers) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"{name}: join {resp.status} {await resp.text()}")
                joined = await resp.json()
            ws = await http.ws_connect(f"{base}/api/v1/ws?meeting={joined['meeting_id']}", autoping=True)
            signalling = Signalling(ws)
            sockets.append(signalling)
            await signalling.call({"type": "hello", "token": plan["host_token"] if host else joined["token"], "user_seq": 0}, "ready")
            await signalling.call({"type": "meeting.join", "ticket": joined["ticket"]}, "meeting.joined")
            client = BenchClient(certificate, sample=args.latency_sample, audio_slots=AUDIO_SLOTS, video_slots=VIDEO_SLOTS, screen_slot=True,
                                 publish_video=name in cameras)
            client.publish_screen = name == plan["presenter"]
            offer = await client.offer()
            answer = await signalling.call({"type": "meeting.offer", "sdp": offer, "screen_mids": client.screen_mids, "ref": name}, "meeting.answer")
            await asyncio.wait_for(client.accept(answer["sdp"]), 30)
            join_ms.append((time.monotonic() - started) * 1000)
            clients[name] = client
            poller.add(client)

    await asyncio.gather(*(join(name) for name in plan["names"]))
    gc.freeze()  # the joined clients live to the end: a full collection in the window would stall this process's reading
    write_message(writer, {"op": "joined", "join_ms": join_ms})
    schedule = await read_message(reader)
    start, end = schedule["window_start"], schedule["window_end"]
    ordered = list(clients.items())
    talkers, presenter = set(plan["talkers"]), clients.get(plan["presenter"])
    senders = [c for n, c in ordered if n in cameras]
    next_tick = time.monotonic()
    sent = ticks = 0
    padding = bytes(max(0, args.video_size - 2))
    was_counting, counted = False, None  # counted: (expected, received), read as the window ends
    while True:
        now = time.monotonic()
        if now >= end + 0.3:
            break
        counting = start <= now < end
        if counting != was_counting:
            was_counting = counting
            for client in clients.values():
                if counting:
                    client.start_counting()
                else:
                    client.counting = False
            if not counting:
                counted = expected_and_received([s for c in clients.values() for s in c.slots.values()])
                kbps = [c.received_bytes(args.video_size) * 8 / 1000 / (end - start) for c in clients.values()]
        for name, client in ordered:
            client.send_audio(20 if name in talkers else 127)
        vp8 = VP8_KEY if ticks % 50 == 0 else VP8_DELTA  # a keyframe a second
        for client in senders:  # cameras: one frame (one packet) per 20 ms tick
            client.send_video(vp8 + padding, ticks * 1800)
        screen = presenter is not None and ticks % args.screen_every == 0
        if screen:
            presenter.send_video(vp8 + padding, ticks * 1800, screen=True)
        if counting:
            sent += len(ordered) + len(senders) + screen
        ticks += 1
        next_tick += 0.02
        await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
    expected, received = counted
    histogram: dict[int, int] = {}
    for client in clients.values():
        for bucket, count in client.histogram.items():
            histogram[bucket] = histogram.get(bucket, 0) + count
    write_message(writer, {"op": "result", "sent": sent, "expected": expected, "received": received, "histogram": histogram, "kbps": kbps,
                           "frames": sum(s.frames for s in sockets)})
    await writer.drain()
    polling.cancel()
    for signalling in sockets:  # leaving: the seat's socket goes, as when a page closes
        await signalling.close()
    for client in clients.values():
        await client.close()
    await http.close()


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def histogram_percentile(histogram: dict[int, int], p: float) -> float | None:
    total = sum(histogram.values())
    if not total:
        return None
    rank = p / 100 * total
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return round((bucket + 1) * BUCKET_MS, 1)
    return None


def machine_busy() -> tuple[float, float]:
    """The whole machine's CPU seconds so far: (busy, all), every core together."""
    times = psutil.cpu_times()
    total = sum(times)
    return total - times.idle - getattr(times, "iowait", 0.0), total


def met_targets(run: dict) -> bool:
    return run["loss_pct"] is not None and run["loss_pct"] <= LOSS_TARGET_PCT and (run["added_latency_p99_ms"] or 1e9) <= LATENCY_TARGET_MS


class Bench:
    """The server under test, its operator and organisation, and one run of the scenario per meeting."""

    def __init__(self, args, node: ServerNode, database: str, api: Api, org_id: int, host_token: str) -> None:
        self.args, self.node, self.database, self.api, self.org_id, self.host_token = args, node, database, api, org_id, host_token

    async def run(self, seats: int, duration: float) -> dict:
        args = self.args
        meeting = await self.api.call("POST", f"/orgs/{self.org_id}/meetings", json={"title": f"All-hands, {seats} seats"}, expect=(201,))
        names = [f"Seat {i}" for i in range(seats)]
        cameras = names[: min(args.cameras, seats)]
        talkers = cameras[: args.talkers]
        directory = tempfile.mkdtemp(prefix="muster-bench-")
        socket_path = os.path.join(directory, "coordinator.sock")
        procs = max(1, min(args.client_procs, seats))
        joined: list[list[float]] = []
        results: list[dict] = []
        writers = []
        all_joined, all_done = asyncio.Event(), asyncio.Event()

        async def serve(reader, writer):
            writers.append(writer)
            while True:
                try:
                    message = await read_message(reader)
                except asyncio.IncompleteReadError:
                    return
                if message["op"] == "joined":
                    joined.append(message["join_ms"])
                    if len(joined) == procs:
                        all_joined.set()
                elif message["op"] == "result":
                    results.append(message)
                    if len(results) == procs:
                        all_done.set()

        server = await asyncio.start_unix_server(serve, socket_path)
        clients = []
        for k in range(procs):
            plan = {"socket": socket_path, "base": self.node.url, "link_token": meeting["join_url"].rsplit("/m/", 1)[1], "host": names[0],
                    "host_token": self.host_token, "names": names[k::procs], "cameras": cameras, "talkers": talkers, "presenter": names[0]}
            clients.append(await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--client-role", json.dumps(plan), "--join-concurrency", str(args.join_concurrency),
                "--latency-sample", str(args.latency_sample), "--video-size", str(args.video_size), "--screen-every", str(args.screen_every),
            ))
        try:
            join_started = time.monotonic()
            waiting = asyncio.ensure_future(all_joined.wait())
            exited = [asyncio.ensure_future(c.wait()) for c in clients]
            done, _ = await asyncio.wait([waiting, *exited], timeout=args.join_timeout, return_when=asyncio.FIRST_COMPLETED)
            if waiting not in done:
                raise SystemExit(f"{seats} seats: not everyone joined (a client process exited or {args.join_timeout:.0f} s passed)")
            join_total_s = time.monotonic() - join_started
            window_start = time.monotonic() + args.warmup
            window_end = window_start + duration
            for writer in writers:
                write_message(writer, {"window_start": window_start, "window_end": window_end})
            meter = CpuMeter(self.node.process.pid, self.database)
            client_ps = [psutil.Process(c.pid) for c in clients]
            await asyncio.sleep(max(0.0, window_start - time.monotonic()))
            meter.start()
            machine_before = machine_busy()
            clients_before = sum(sum(p.cpu_times()[:2]) for p in client_ps)
            await asyncio.sleep(max(0.0, window_end - time.monotonic()))
            server_cpu = await meter.stop()
            machine_after = machine_busy()
            client_cpu = sum(sum(p.cpu_times()[:2]) for p in client_ps) - clients_before
            load = os.getloadavg()
            await asyncio.wait_for(all_done.wait(), 60)
            for c in clients:
                await c.wait()
        finally:
            for c in clients:
                if c.returncode is None:
                    c.kill()
                    await c.wait()
            server.close()
            shutil.rmtree(directory, ignore_errors=True)
        await self.api.call("POST", f"/orgs/{self.org_id}/meetings/{meeting['id']}/end")

        expected = sum(r["expected"] for r in results)
        received = sum(r["received"] for r in results)
        histogram: dict[int, int] = {}
        for r in results:
            for bucket, count in r["histogram"].items():
                histogram[int(bucket)] = histogram.get(int(bucket), 0) + count
        join_ms = [ms for chunk in joined for ms in chunk]
        offered_per_s = 50 * (seats + len(cameras)) + 50 / args.screen_every
        busy, total = machine_after[0] - machine_before[0], machine_after[1] - machine_before[1]
        return {
            "participants": seats,
            "cameras": len(cameras),
            "talkers": len(talkers),
            "screen_shares": 1,
            "join_via_api": True,
            "duration_s": duration,
            "join_p50_ms": round(percentile(join_ms, 50), 1),
            "join_p95_ms": round(percentile(join_ms, 95), 1),
            "join_total_s": round(join_total_s, 2),
            # the clients' achieved share of what the scenario sends: below 100 the client processes could not keep pace
            "client_send_rate_pct": round(100 * sum(r["sent"] for r in results) / (offered_per_s * duration), 1),
            "forwarded_pkts": received,
            "forwarded_pkts_per_s": round(received / duration),
            "server_cpu_s": server_cpu,
            "server_cpu_cores": round(server_cpu["all"] / duration, 2),
            "client_cpu_cores": round(client_cpu / duration, 2),
            "forwarded_pkts_per_cpu_s": round(received / server_cpu["all"]) if server_cpu["all"] > 0 else None,
            "machine_cpu_pct": round(100 * busy / total, 1) if total > 0 else None,
            "loss_pct": round(100 * (expected - received) / expected, 3) if expected else None,
            "added_latency_p50_ms": histogram_percentile(histogram, 50),
            "added_latency_p99_ms": histogram_percentile(histogram, 99),
            "receiver_kbps_p50": round(percentile([k for r in results for k in r["kbps"]], 50), 1),
            "signalling_frames_received": sum(r["frames"] for r in results),
            "load_avg": [round(x, 2) for x in load],
        }

    async def seats_at_targets(self, full: dict) -> tuple[int | None, list[dict]]:
        """The largest seat count, found by bisection below ``full``'s, at which loss and latency held."""
        low, high, tried = 0, full["participants"], []
        for _ in range(self.args.search_runs):
            seats = (low + high) // 2
            if high - low <= self.args.search_step or seats < 2:
                break
            log(f"search: {seats} seats")
            run = await self.run(seats, self.args.search_duration)
            tried.append({k: run[k] for k in ("participants", "loss_pct", "added_latency_p99_ms", "join_p95_ms", "client_send_rate_pct", "machine_cpu_pct", "forwarded_pkts_per_cpu_s", "load_avg")})
            log(f"  {json.dumps(tried[-1])}")
            low, high = (seats, high) if met_targets(run) else (low, seats)
        return (low or None), tried


async def bench(args) -> dict:
    raise_fd_limit()
    workdir = Path(tempfile.mkdtemp(prefix="muster-meeting-"))
    if args.sqlite:  # the server's own default: the embedded database in its data directory
        database, url = None, f"sqlite+aiosqlite:///{workdir / 'data' / 'muster.sqlite3'}"
    else:
        database, url = await database_bench.create_database(args.postgres)
    node = db = None
    operator = f"operator-{uuid.uuid4().hex[:8]}@bench.example"
    try:
        node = ServerNode(workdir / "data", "" if args.sqlite else url, operators=operator)  # otherwise the default configuration
        await node.wait_ready(180)
        db = Database(url)
        async with db.transaction() as tx:
            host_id = (await do_create_user(tx, name="Hana Host", email=operator)).id
        tokens: dict[int, str] = {}
        await sign_in(db, tokens, [host_id])
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
            api = Api(http, node.url, tokens[host_id])
            org = await api.call("POST", "/orgs", json={"name": "All-hands hospital", "slug": f"hospital-{uuid.uuid4().hex[:8]}"}, expect=(201,))
            runner = Bench(args, node, database, api, org["id"], tokens[host_id])
            log(f"{args.participants} seats, {args.cameras} cameras, {args.talkers} talkers, one screen share; joining through the API")
            result = await runner.run(args.participants, args.duration)
            log(json.dumps(result))
            result["database"] = "sqlite" if args.sqlite else "postgresql"
            result["workers"] = sum("rooms.media.processes" in p.cmdline() for p in node.ps.children())  # media worker processes
            result["seats_at_targets"], result["search"] = result["participants"] if met_targets(result) else None, []
            if not met_targets(result) or (result["machine_cpu_pct"] or 0) >= SATURATED_PCT:
                found, result["search"] = await runner.seats_at_targets(result)
                result["seats_at_targets"] = result["participants"] if met_targets(result) else found
    finally:
        if node is not None:
            node.stop()
        if db is not None:
            await db.close()
        if database is not None:
            await database_bench.drop_database(args.postgres, database)
        kept = Path(tempfile.gettempdir()) / f"muster-meeting-server-{os.getpid()}.log"
        with contextlib.suppress(OSError):
            shutil.copyfile(workdir / "server.log", kept)
            log(f"the server's log: {kept}")
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--participants", type=int, default=300, help="seats in the meeting, the host's included (default 300, the cap)")
    parser.add_argument("--cameras", type=int, default=25, help="seats sending video (default 25)")
    parser.add_argument("--talkers", type=int, default=4, help="seats speaking loudly, each with a camera; the others send silence (default 4)")
    parser.add_argument("--client-procs", type=int, default=2, help="processes running the synthetic clients (default 2)")
    parser.add_argument("--duration", type=float, default=20.0, help="measured window in seconds (default 20)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of traffic before the window (default 3)")
    parser.add_argument("--join-concurrency", type=int, default=10, help="joins in flight per client process (default 10)")
    parser.add_argument("--join-timeout", type=float, default=300.0)
    parser.add_argument("--latency-sample", type=int, default=10, help="clients decrypt one received packet in N for latency; all are counted (default 10)")
    parser.add_argument("--video-size", type=int, default=1000, help="bytes of each video packet's payload (default 1000)")
    parser.add_argument("--screen-every", type=int, default=5, help="the screen share sends one packet every N ticks of 20 ms; a camera every tick (default 5)")
    parser.add_argument("--search-runs", type=int, default=4, help="runs of the search for seats_at_targets, at most (default 4)")
    parser.add_argument("--search-duration", type=float, default=10.0, help="measured window of each search run (default 10)")
    parser.add_argument("--search-step", type=int, default=20, help="the search stops when its bounds are this close (default 20 seats)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="a PostgreSQL database to create the bench's own database from")
    parser.add_argument("--sqlite", action="store_true", help="run the server on its embedded SQLite database (what it uses when none is configured)")
    parser.add_argument("--workers", type=int, default=None, help="Muster's media worker processes in the side by side with Janus (default: one per core)")
    parser.add_argument("--client-role", help=argparse.SUPPRESS)
    parser.add_argument("--no-janus", action="store_true", help="skip the side-by-side run against Janus's VideoRoom")
    janus_videoroom.add_arguments(parser, prefix="janus-")
    args = parser.parse_args()
    if args.client_role:
        asyncio.run(client_process(args))
        return
    result = asyncio.run(bench(args))
    if args.no_janus:
        result.update(janus_ratio=None, janus="not run: --no-janus")
    else:
        result.update(janus_videoroom.compare_or_reason(janus_videoroom.load_options(args, "janus-")))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
