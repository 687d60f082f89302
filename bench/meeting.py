"""Meeting media benchmark: N light WebRTC participants in one room through the SFU on loopback.

Each participant is a ``rooms.media.probe.ProbeClient`` (real ICE, DTLS and
SRTP; no codecs): it publishes Opus-sized audio at 50 packets/s with an
RFC 6464 audio level (a few talkers loud, everyone else silent) and the send
time in the payload, and receives its 3 audio slots. Clients run in their own
processes (``--client-procs``), the SFU in ``--workers`` media worker processes.

Measured, over a window after everyone joined and a warm-up:

* ``join_p50_ms``/``join_p95_ms``: offer → answer → DTLS connected, per participant;
* ``forwarded_pkts_per_cpu_s``: packets the workers sent to subscribers divided
  by the CPU seconds (user+system) they used meanwhile, both read by each
  worker at the same moment (a saturated worker answers the coordinator late);
  ``server_cpu_cores`` is psutil's view of the worker processes over the window;
* ``loss_pct``: gaps in each receive slot's sequence numbers (slots are
  continuous across source switches, so a gap is a lost packet);
* ``added_latency_p50_ms``/``p99``: receive time minus the send time stamped in
  the payload (both ``time.monotonic()``), on one received packet in
  ``--latency-sample``; it includes the clients' own work on the same machine.

Then, unless ``--no-janus``, the same run puts a publishers → subscribers load
through Muster and through Janus 1.1's VideoRoom, side by side in a network
namespace (``bench/janus_videoroom.py``, which also runs alone):
``janus_ratio`` is Muster's packets received by subscribers per server
CPU-second divided by Janus's (``muster_side_by_side_pkts_per_cpu_s`` /
``janus_forwarded_pkts_per_cpu_s``, details under ``janus_side_by_side``);
without root or the ``janus`` package it is null and ``janus`` says why.

The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402
from aiortc.rtcdtlstransport import RTCCertificate  # noqa: E402

from rooms.media import rtp  # noqa: E402
from rooms.media.probe import OPUS, ProbeClient  # noqa: E402
from rooms.media.transport import restrict_host_addresses  # noqa: E402

import janus_videoroom  # noqa: E402  (bench/, beside this file)
from rtp_clients import Poller, count_decrypted, expected_and_received  # noqa: E402  (bench/, beside this file)

_FRAME = struct.Struct("!I")
_STAMP = struct.Struct("!d")
BUCKET_MS = 0.1


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
        self.histogram: dict[int, int] = {}
        self.transport.on_rtp = self._decrypted

    def start_counting(self) -> None:
        self.slots.clear()  # each slot is counted from its first packet in the window
        self.counting = True

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


VP8_KEY, VP8_DELTA = b"\x10\x00", b"\x10\x01"  # VP8 descriptor S=1, then the payload header's P bit (0: keyframe)


async def client_process(
    socket_path: str, names: list[str], talkers: set[str], presenter: str | None, join_concurrency: int, sample: int,
    video_size: int, screen_every: int,
) -> None:
    """One client process: joins its participants through the coordinator, then sends and counts."""
    restrict_host_addresses(["127.0.0.1"])
    reader, writer = await asyncio.open_unix_connection(socket_path)
    certificate = RTCCertificate.generateCertificate()
    clients: dict[str, BenchClient] = {}
    join_ms: list[float] = []
    pending: dict[str, asyncio.Future] = {}
    lock = asyncio.Semaphore(join_concurrency)
    poller = Poller()
    polling = asyncio.create_task(poller.run())

    async def listen():
        while True:
            message = await read_message(reader)
            pending.pop(message["name"]).set_result(message)

    listener = asyncio.create_task(listen())

    async def join(name: str) -> None:
        async with lock:
            client = BenchClient(certificate, sample=sample, video_slots=1, screen_slot=True, publish_video=name == presenter)
            client.publish_screen = name == presenter
            started = time.monotonic()
            future = pending[name] = asyncio.get_running_loop().create_future()
            offer = await client.offer()
            write_message(writer, {"op": "join", "name": name, "offer": offer, "screen_mids": client.screen_mids})
            reply = await future
            if "error" in reply:
                raise RuntimeError(f"{name}: {reply['error']}")
            await asyncio.wait_for(client.accept(reply["answer"]), 30)
            join_ms.append((time.monotonic() - started) * 1000)
            clients[name] = client
            poller.add(client)

    await asyncio.gather(*(join(name) for name in names))
    gc.freeze()  # the joined clients live to the end: a full collection in the window would stall this process's reading
    listener.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await listener
    write_message(writer, {"op": "joined", "join_ms": join_ms})
    schedule = await read_message(reader)
    start, end = schedule["window_start"], schedule["window_end"]
    ordered = list(clients.items())
    next_tick = time.monotonic()
    sent = 0
    ticks = 0
    padding = bytes(max(0, video_size - 2))
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
        for name, client in ordered:
            client.send_audio(20 if name in talkers else 127)
            if counting:
                sent += 1
        if presenter in clients:  # camera: one frame per tick; screen: one per ``screen_every``; a keyframe a second
            client = clients[presenter]
            vp8 = VP8_KEY if ticks % 50 == 0 else VP8_DELTA
            client.send_video(vp8 + padding, ticks * 1800)
            sent += counting
            if ticks % screen_every == 0:
                client.send_video((VP8_KEY if ticks % 50 == 0 else VP8_DELTA) + padding, ticks * 1800, screen=True)
                sent += counting
        ticks += 1
        next_tick += 0.02
        await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
    expected, received = counted
    histogram: dict[int, int] = {}
    for client in clients.values():
        for bucket, count in client.histogram.items():
            histogram[bucket] = histogram.get(bucket, 0) + count
    write_message(writer, {"op": "result", "sent": sent, "expected": expected, "received": received, "histogram": histogram})
    await writer.drain()
    polling.cancel()
    for client in clients.values():
        await client.close()


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
            return (bucket + 1) * BUCKET_MS
    return None


async def coordinate(args) -> dict:
    from rooms.media.processes import ProcessRouter

    router = await ProcessRouter.start(workers=args.workers, host_addresses=["127.0.0.1"], audio_n=args.audio_n)
    room = router.room("bench")
    errors = []
    room.on_event(lambda e: errors.append(e) if e["event"] == "error" else None)
    directory = tempfile.mkdtemp(prefix="muster-bench-")
    socket_path = os.path.join(directory, "coordinator.sock")
    joined: list[list[float]] = []
    results: list[dict] = []
    writers = []
    all_joined = asyncio.Event()
    all_done = asyncio.Event()

    async def serve(reader, writer):
        writers.append(writer)
        while True:
            try:
                message = await read_message(reader)
            except asyncio.IncompleteReadError:
                return
            if message["op"] == "join":
                asyncio.create_task(answer(writer, message))
            elif message["op"] == "joined":
                joined.append(message["join_ms"])
                if len(joined) == args.client_procs:
                    all_joined.set()
            elif message["op"] == "result":
                results.append(message)
                if len(results) == args.client_procs:
                    all_done.set()

    async def answer(writer, message):
        try:
            participant = await room.add_participant(message["name"])
            answer_sdp = await participant.handle_offer(message["offer"], message["screen_mids"])
            write_message(writer, {"name": message["name"], "answer": answer_sdp})
        except Exception as exc:
            write_message(writer, {"name": message["name"], "error": str(exc)})

    server = await asyncio.start_unix_server(serve, socket_path)
    names = [f"p{i}" for i in range(args.participants)]
    talkers = names[: args.talkers]
    presenter = names[-1] if args.presenter else ""
    procs = []
    for k in range(args.client_procs):
        mine = names[k :: args.client_procs]
        procs.append(await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--client-role", socket_path, "--names", ",".join(mine),
            "--talker-names", ",".join(t for t in talkers if t in mine), "--join-concurrency", str(args.join_concurrency),
            "--latency-sample", str(args.latency_sample), "--presenter-name", presenter if presenter in mine else "",
            "--video-size", str(args.video_size), "--screen-every", str(args.screen_every),
        ))
    join_started = time.monotonic()
    await asyncio.wait_for(all_joined.wait(), args.join_timeout)
    join_total_s = time.monotonic() - join_started
    window_start = time.monotonic() + args.warmup
    window_end = window_start + args.duration
    for writer in writers:
        write_message(writer, {"window_start": window_start, "window_end": window_end})
    workers = [psutil.Process(pid) for pid in router.pids]
    main = psutil.Process()  # the router (signalling side) lives in this process
    clients = [psutil.Process(proc.pid) for proc in procs]
    await asyncio.sleep(max(0.0, window_start - time.monotonic()))
    cpu_before = sum(sum(p.cpu_times()[:2]) for p in workers)
    main_before, clients_before = sum(main.cpu_times()[:2]), sum(sum(p.cpu_times()[:2]) for p in clients)
    stats_before = [await router.call(i, "stats") for i in range(router.worker_count)]
    await asyncio.sleep(max(0.0, window_end - time.monotonic()))
    cpu_after = sum(sum(p.cpu_times()[:2]) for p in workers)
    main_cpu, client_cpu = sum(main.cpu_times()[:2]) - main_before, sum(sum(p.cpu_times()[:2]) for p in clients) - clients_before
    stats_after = [await router.call(i, "stats") for i in range(router.worker_count)]
    await asyncio.wait_for(all_done.wait(), 60)
    for proc in procs:
        await proc.wait()
    server.close()
    await router.close()

    forwarded = sum(a["forwarded"] - b["forwarded"] for a, b in zip(stats_after, stats_before))
    cpu = cpu_after - cpu_before  # psutil, over the window
    cpu_at_counters = sum(a["cpu_s"] - b["cpu_s"] for a, b in zip(stats_after, stats_before))  # read with the counters
    server_cpu = cpu_at_counters + main_cpu
    expected = sum(r["expected"] for r in results)
    received = sum(r["received"] for r in results)
    histogram: dict[int, int] = {}
    for r in results:
        for bucket, count in r["histogram"].items():
            histogram[int(bucket)] = histogram.get(int(bucket), 0) + count
    join_ms = [ms for chunk in joined for ms in chunk]
    offered_per_s = args.participants * 50 + (50 + 50 / args.screen_every if args.presenter else 0)
    return {
        "participants": args.participants,
        "workers": router.worker_count,
        "talkers": args.talkers,
        "audio_slots": args.audio_n,
        "duration_s": args.duration,
        "join_p50_ms": round(percentile(join_ms, 50), 1),
        "join_p95_ms": round(percentile(join_ms, 95), 1),
        "join_total_s": round(join_total_s, 2),
        "sent_pkts": sum(r["sent"] for r in results),
        # the clients' achieved share of 50 packets/s each: below 100 the client processes could not keep
        # pace (CPU-starved), so the offered load was lower than the scenario's
        "presenter": bool(args.presenter),
        "client_send_rate_pct": round(100 * sum(r["sent"] for r in results) / (offered_per_s * args.duration), 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "forwarded_pkts": forwarded,
        "forwarded_pkts_per_s": round(forwarded / (max(a["at"] for a in stats_after) - min(b["at"] for b in stats_before))),
        "worker_cpu_s": round(cpu, 2),  # psutil over the window, a check on the counters' own reading
        "main_cpu_s": round(main_cpu, 2),
        "server_cpu_cores": round(server_cpu / args.duration, 2),
        "client_cpu_cores": round(client_cpu / args.duration, 2),
        # packets sent to subscribers / CPU seconds of every server process: the workers and the main (router) process
        "forwarded_pkts_per_cpu_s": round(forwarded / server_cpu) if server_cpu > 0 else None,
        "received_pkts": received,
        "loss_pct": round(100 * (expected - received) / expected, 3) if expected else None,
        "added_latency_p50_ms": histogram_percentile(histogram, 50),
        "added_latency_p99_ms": histogram_percentile(histogram, 99),
        "fanout_dropped": sum(a.get("fanout_dropped", 0) for a in stats_after),
        "peer_errors": len(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=300, help="participants in the room (default 300)")
    parser.add_argument("--talkers", type=int, default=5, help="participants speaking loudly; the others send silence (default 5)")
    parser.add_argument("--audio-n", type=int, default=3, help="audio streams each participant receives (default 3)")
    parser.add_argument("--workers", type=int, default=None, help="media worker processes (default: one per core)")
    parser.add_argument("--client-procs", type=int, default=2, help="processes running the synthetic clients (default 2)")
    parser.add_argument("--duration", type=float, default=20.0, help="measured window in seconds (default 20)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of traffic before the window (default 3)")
    parser.add_argument("--join-concurrency", type=int, default=10, help="joins in flight per client process (default 10)")
    parser.add_argument("--join-timeout", type=float, default=300.0)
    parser.add_argument("--latency-sample", type=int, default=10, help="clients decrypt one received packet in N for latency; all are counted (default 10)")
    parser.add_argument("--no-presenter", dest="presenter", action="store_false", help="no presenter sending camera and screen share")
    parser.add_argument("--video-size", type=int, default=1000, help="bytes of each presenter video packet (default 1000)")
    parser.add_argument("--screen-every", type=int, default=5, help="the screen share sends one packet every N ticks of 20 ms; the camera every tick (default 5)")
    parser.add_argument("--client-role", help=argparse.SUPPRESS)
    parser.add_argument("--names", help=argparse.SUPPRESS)
    parser.add_argument("--talker-names", help=argparse.SUPPRESS)
    parser.add_argument("--presenter-name", help=argparse.SUPPRESS)
    parser.add_argument("--no-janus", action="store_true", help="skip the side-by-side run against Janus's VideoRoom")
    janus_videoroom.add_arguments(parser, prefix="janus-")
    args = parser.parse_args()
    if args.client_role:
        talkers = set(filter(None, args.talker_names.split(",")))
        asyncio.run(client_process(
            args.client_role, args.names.split(","), talkers, args.presenter_name or None, args.join_concurrency, args.latency_sample,
            args.video_size, args.screen_every,
        ))
        return
    args.client_procs = max(1, min(args.client_procs, args.participants))
    result = asyncio.run(coordinate(args))
    if args.no_janus:
        result.update(janus_ratio=None, janus="not run: --no-janus")
    else:
        result.update(janus_videoroom.compare_or_reason(janus_videoroom.load_options(args, "janus-")))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
