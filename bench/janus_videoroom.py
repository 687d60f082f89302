"""Side by side: the same publishers → subscribers load through Muster's SFU and through Janus 1.1's VideoRoom.

Both servers run in one network namespace the bench creates (``ip netns add``
and a veth pair; Janus ignores loopback and this kernel has no dummy
interfaces) and gather candidates on its veth address only; the clients stay
in the machine's namespace on the other end of the pair, so every media packet
crosses the same veth on both sides. Janus is the Debian package's
``/usr/bin/janus`` with a configuration written to a temporary folder:
VideoRoom and the HTTP transport only, ``event_loops`` = number of cores
(its best setting here), warnings-only logging.

The load, identical on both sides and run by the same client processes
(``rooms.media.probe.ProbeClient``: real ICE, DTLS and SRTP, no codecs):
``--publishers`` participants each publish Opus-sized audio (50 packets/s)
and VP8-sized video (one 2-packet frame every 20 ms, a keyframe every 25th),
at steady audio levels 10 dB apart (so Muster's speaker order, and with it
its video slots, never changes), and ``--subscribers`` participants each
receive every publisher's audio and video. Muster: a subscriber offers one audio and one video slot per publisher
(``audio_n`` = publishers); Janus: one subscriber handle per subscriber joins
with every publisher's feed (multistream) and answers Janus's offer.

Counted the same way on both: RTP packets the subscribers received during the
window (headers read in the clear, nothing decrypted), divided by the CPU
seconds (user+system from /proc via psutil) the server used meanwhile: Janus's
process (all its threads); Muster's media workers plus the process that hosts
their router.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import dataclasses
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
import psutil  # noqa: E402
from aiortc import sdp  # noqa: E402
from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsParameters  # noqa: E402
from aiortc.rtcrtpparameters import RTCRtpParameters  # noqa: E402

from rooms.media import rtp  # noqa: E402
from rooms.media.probe import VP8, ProbeClient  # noqa: E402
from rooms.media.processes import ProcessRouter, read_message, write_message  # noqa: E402
from rooms.media.transport import restrict_host_addresses  # noqa: E402
from rtp_clients import Poller, count_decrypted, expected_and_received  # noqa: E402  (bench/, beside this file)

JANUS = "/usr/bin/janus"
JANUS_LIBS = Path("/usr/lib/x86_64-linux-gnu/janus")
JANUS_HTTP_PORT, JANUS_ADMIN_PORT = 8088, 7088
ROOM = 1234
CLONE_NEWNET = 0x40000000
TICK_S = 0.02
KEYFRAME_EVERY = 25  # frames
VIDEO_PACKET = 1000  # bytes of VP8 payload per packet, two packets per frame
PACKETS_PER_TICK = 3  # one audio, two video
SO_RCVBUFFORCE = 33  # Linux; root may exceed net.core.rmem_max (the socket module does not name it)
RECEIVE_BUFFER = 1 << 20


# --- the network namespace ----------------------------------------------------------------


class Namespace:
    """A network namespace joined to this one by a veth pair: ``host_address`` here, ``address`` inside."""

    def __init__(self) -> None:
        pid = os.getpid()
        self.name = f"muster-janus-{pid}"
        self.host_interface, self.interface = f"mjh{pid}", f"mjn{pid}"
        subnet = f"10.{200 + pid % 50}.{pid // 50 % 256}"
        self.host_address, self.address = f"{subnet}.1", f"{subnet}.2"

    def __enter__(self) -> "Namespace":
        commands = [
            ["ip", "netns", "add", self.name],
            ["ip", "link", "add", self.host_interface, "type", "veth", "peer", "name", self.interface],
            ["ip", "link", "set", self.interface, "netns", self.name],
            ["ip", "addr", "add", f"{self.host_address}/30", "dev", self.host_interface],
            ["ip", "link", "set", self.host_interface, "up"],
            ["ip", "-n", self.name, "addr", "add", f"{self.address}/30", "dev", self.interface],
            ["ip", "-n", self.name, "link", "set", self.interface, "up"],
            ["ip", "-n", self.name, "link", "set", "lo", "up"],  # the media workers' fan-out is on 127.0.0.1
        ]
        try:
            for command in commands:
                subprocess.run(command, check=True, capture_output=True, text=True)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)  # also removes the veth pair
        subprocess.run(["ip", "link", "del", self.host_interface], capture_output=True)

    @contextlib.contextmanager
    def entered(self):
        """Run the block with this thread in the namespace: processes started in it live there."""
        original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            _setns(f"/run/netns/{self.name}")
            try:
                yield
            finally:
                _setns_fd(original)
        finally:
            os.close(original)


def _setns(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        _setns_fd(fd)
    finally:
        os.close(fd)


def _setns_fd(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"setns: {os.strerror(error)}")


def udp_receive_drops(pid: int) -> int:
    """UDP datagrams dropped for a full socket receive buffer in the network namespace of ``pid``."""
    header, values = [line.split()[1:] for line in Path(f"/proc/{pid}/net/snmp").read_text().splitlines() if line.startswith("Udp:")]
    return int(values[header.index("RcvbufErrors")])


def unavailable() -> str | None:
    """Why the side-by-side cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root for ip netns"
    if not os.path.exists(JANUS) or not (JANUS_LIBS / "plugins" / "libjanus_videoroom.so").exists():
        return "the Debian package janus (1.1) is not installed"
    if shutil.which("ip") is None:
        return "iproute2 (ip) is not installed"
    return None


# --- Janus --------------------------------------------------------------------------------


def write_janus_config(directory: Path, interface: str, admin_secret: str, event_loops: int) -> None:
    """janus.jcfg, the VideoRoom and HTTP transport configs: only what this comparison uses."""
    def others(kind: str, keep: str) -> str:
        return ",".join(sorted(p.name for p in (JANUS_LIBS / kind).glob("*.so") if p.name != keep))

    (directory / "janus.jcfg").write_text(f"""general: {{
\tconfigs_folder = "{directory}"
\tplugins_folder = "{JANUS_LIBS / 'plugins'}"
\ttransports_folder = "{JANUS_LIBS / 'transports'}"
\tevents_folder = "{JANUS_LIBS / 'events'}"
\tloggers_folder = "{JANUS_LIBS / 'loggers'}"
\tdebug_level = 3
\tadmin_secret = "{admin_secret}"
\tevent_loops = {event_loops}
\tsession_timeout = 120
}}
media: {{
\tipv6 = false
\trtp_port_range = "20000-60000"
}}
nat: {{
\tice_enforce_list = "{interface}"
\tignore_mdns = true
}}
plugins: {{
\tdisable = "{others('plugins', 'libjanus_videoroom.so')}"
}}
transports: {{
\tdisable = "{others('transports', 'libjanus_http.so')}"
}}
loggers: {{
\tdisable = "{others('loggers', '')}"
}}
events: {{
\tbroadcast = false
\tdisable = "{others('events', '')}"
}}
""")
    (directory / "janus.transport.http.jcfg").write_text(f"""general: {{
\tjson = "compact"
\tbase_path = "/janus"
\thttp = true
\tport = {JANUS_HTTP_PORT}
\thttps = false
}}
admin: {{
\tadmin_base_path = "/admin"
\tadmin_http = true
\tadmin_port = {JANUS_ADMIN_PORT}
\tadmin_https = false
}}
""")
    (directory / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")


class JanusSession:
    """One Janus API session over HTTP, with the long poll that delivers its events by transaction."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.url = url
        self.session_url = ""
        self.waiting: dict[str, asyncio.Queue] = {}
        self.poller: asyncio.Task | None = None

    async def post(self, url: str, body: dict) -> dict:
        body = dict(body, transaction=secrets.token_hex(8))
        async with self.http.post(url, json=body) as response:
            reply = await response.json(content_type=None)
        if reply.get("janus") == "error":
            raise RuntimeError(f"Janus: {reply['error']}")
        return reply

    async def create(self) -> None:
        reply = await self.post(self.url, {"janus": "create"})
        self.session_url = f"{self.url}/{reply['data']['id']}"
        self.poller = asyncio.create_task(self._poll())

    async def attach(self) -> str:
        reply = await self.post(self.session_url, {"janus": "attach", "plugin": "janus.plugin.videoroom"})
        return f"{self.session_url}/{reply['data']['id']}"

    async def request(self, handle_url: str, body: dict, jsep: dict | None = None) -> dict:
        """A plugin request; returns the plugin's reply, synchronous or the event it sends later."""
        transaction = secrets.token_hex(8)
        events = self.waiting[transaction] = asyncio.Queue()
        message = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            message["jsep"] = jsep
        try:
            async with self.http.post(handle_url, json=message) as response:
                reply = await response.json(content_type=None)
            if reply.get("janus") == "ack":
                reply = await asyncio.wait_for(events.get(), 30)
        finally:
            self.waiting.pop(transaction, None)
        data = reply.get("plugindata", {}).get("data", {})
        if reply.get("janus") == "error" or "error" in data:
            raise RuntimeError(f"Janus {body['request']}: {reply.get('error') or data['error']}")
        return reply

    async def _poll(self) -> None:
        while True:
            async with self.http.get(f"{self.session_url}?maxev=20") as response:
                events = await response.json(content_type=None)
            for event in events if isinstance(events, list) else [events]:
                queue = self.waiting.get(event.get("transaction", ""))
                if queue is not None and event.get("janus") == "event":
                    queue.put_nowait(event)

    async def close(self) -> None:
        if self.poller is not None:
            self.poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
                await self.poller


class JanusAdmin:
    """Janus's admin API: which handles exist, and what its subscriber handles sent (its own counters)."""

    def __init__(self, http: aiohttp.ClientSession, url: str, secret: str) -> None:
        self.http, self.url, self.secret = http, url, secret

    async def _ask(self, url: str, request: str) -> dict:
        body = {"janus": request, "transaction": secrets.token_hex(8), "admin_secret": self.secret}
        async with self.http.post(url, json=body) as response:
            return await response.json(content_type=None)

    async def counters(self) -> dict:
        """Handles by VideoRoom role, and RTP packets sent on the subscriber handles' streams."""
        roles: dict[str, int] = {}
        sent = 0
        for session in (await self._ask(self.url, "list_sessions"))["sessions"]:
            for handle in (await self._ask(f"{self.url}/{session}", "list_handles"))["handles"]:
                info = (await self._ask(f"{self.url}/{session}/{handle}", "handle_info"))["info"]
                role = info.get("plugin_specific", {}).get("type") or "none"
                roles[role] = roles.get(role, 0) + 1
                if role == "subscriber":
                    sent += sum(m["stats"]["out"]["packets"] for m in info.get("webrtc", {}).get("media", {}).values())
        return {"server_sent": sent, "janus_handles": roles}


# --- clients ------------------------------------------------------------------------------


class CountingClient(ProbeClient):
    """A probe that counts the RTP it receives (per SSRC, with sequence ranges for loss) without decrypting it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.streams = self.transport.streams  # ssrc -> ReceiveState, counted by the reader (rtp_clients.count_decrypted)
        self.transport.on_rtp = lambda data: count_decrypted(self.streams, data, 0)
        self.frame = 0
        self.audio_level = 20  # RFC 6464 -dBov
        self.video_ts = secrets.randbits(32)

    def send_tick(self) -> None:
        """20 ms of a talking participant with its camera on: one audio packet, one two-packet VP8 frame."""
        self.send_audio(self.audio_level)
        keyframe = self.frame % KEYFRAME_EVERY == 0
        self.frame += 1
        self.video_ts = (self.video_ts + 1800) & 0xFFFFFFFF
        first = bytes([0x10, 0x00 if keyframe else 0x01]) + bytes(VIDEO_PACKET - 2)  # S=1 PID=0; VP8 P bit
        for payload, marker in ((first, False), (bytes([0x00]) + bytes(VIDEO_PACKET - 1), True)):
            self.video_seq = (self.video_seq + 1) & 0xFFFF
            self.transport.send_rtp(rtp.build_packet(
                payload_type=VP8.payloadType, sequence=self.video_seq, timestamp=self.video_ts, ssrc=self.video_ssrc, payload=payload, marker=marker,
            ))

    async def answer(self, offer_text: str) -> str:
        """Answer a server's offer (Janus offers to subscribers): receive every m-line, first codec, DTLS client."""
        offer = sdp.SessionDescription.parse(offer_text)
        await self.transport.gather()
        ice, candidates = self.transport.local_ice()
        description = sdp.SessionDescription()
        description.origin = f"- {secrets.randbelow(1 << 62)} 0 IN IP4 0.0.0.0"
        for offered in offer.media:
            media = sdp.MediaDescription(kind=offered.kind, port=candidates[0].port, profile=offered.profile, fmt=[offered.rtp.codecs[0].payloadType])
            media.host, media.direction = candidates[0].ip, "recvonly"
            media.rtp = RTCRtpParameters(codecs=[offered.rtp.codecs[0]], muxId=offered.rtp.muxId)
            media.rtcp_host, media.rtcp_port, media.rtcp_mux = "0.0.0.0", 9, True
            media.ice, media.ice_candidates, media.ice_candidates_complete = ice, candidates, True
            media.dtls = RTCDtlsParameters(fingerprints=self.transport.fingerprints(), role="client")
            description.media.append(media)
        description.group.append(sdp.GroupDescription(semantic="BUNDLE", items=[m.rtp.muxId for m in offer.media]))
        return str(description)

    async def connect_answered(self, offer_text: str) -> None:
        """After our answer went out: connect as the ICE-controlled DTLS client."""
        self.transport.ice._connection.ice_controlling = False
        media = sdp.SessionDescription.parse(offer_text).media[0]
        await self.transport.start(media.ice, media.ice_candidates, media.dtls, "client")
        await asyncio.wait_for(self.transport.connected, 30)

    def enlarge_receive_buffer(self) -> None:
        for protocol in self.transport.ice._connection._protocols:
            protocol.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER)


class MusterSignalling:
    """Offers go to the bench process, which hands them to Muster's media router."""

    def __init__(self, reader, writer) -> None:
        self.reader, self.writer = reader, writer
        self.pending: dict[str, asyncio.Future] = {}

    def deliver(self, message: dict) -> None:
        self.pending.pop(message["name"]).set_result(message)

    async def _negotiate(self, name: str, client: CountingClient) -> None:
        future = self.pending[name] = asyncio.get_running_loop().create_future()
        write_message(self.writer, {"op": "offer", "name": name, "offer": await client.offer()})
        reply = await asyncio.wait_for(future, 60)
        if "error" in reply:
            raise RuntimeError(f"{name}: {reply['error']}")
        await asyncio.wait_for(client.accept(reply["answer"]), 30)

    async def publish(self, name: str, feed: int, client: CountingClient) -> None:
        await self._negotiate(name, client)

    async def subscribe(self, name: str, feeds: list[int], client: CountingClient) -> None:
        await self._negotiate(name, client)


class JanusSignalling:
    """Each publisher and subscriber is a VideoRoom handle in this process's Janus session."""

    def __init__(self, session: JanusSession, room: int) -> None:
        self.session, self.room = session, room

    async def publish(self, name: str, feed: int, client: CountingClient) -> None:
        handle = await self.session.attach()
        await self.session.request(handle, {"request": "join", "ptype": "publisher", "room": self.room, "id": feed, "display": name})
        reply = await self.session.request(handle, {"request": "publish", "audio": True, "video": True}, {"type": "offer", "sdp": await client.offer()})
        await asyncio.wait_for(client.accept(reply["jsep"]["sdp"]), 30)

    async def subscribe(self, name: str, feeds: list[int], client: CountingClient) -> None:
        handle = await self.session.attach()
        reply = await self.session.request(handle, {"request": "join", "ptype": "subscriber", "room": self.room, "streams": [{"feed": f} for f in feeds]})
        offer = reply["jsep"]["sdp"]
        await self.session.request(handle, {"request": "start"}, {"type": "answer", "sdp": await client.answer(offer)})
        await client.connect_answered(offer)


async def client_process(args) -> None:
    """One client process: publishes, subscribes when told, sends every 20 ms, counts in the window."""
    restrict_host_addresses([args.host_address])
    reader, writer = await asyncio.open_unix_connection(args.client_role)
    certificate = RTCCertificate.generateCertificate()
    publishers = [int(f) for f in args.feeds.split(",") if f]
    all_feeds = [int(f) for f in args.all_feeds.split(",")]
    subscribers = [f"s{i}" for i in range(args.subscriber_from, args.subscriber_to)]
    http = aiohttp.ClientSession() if args.janus_url else None
    messages: asyncio.Queue = asyncio.Queue()
    if http is not None:
        janus = JanusSession(http, args.janus_url)
        await janus.create()
        signalling = JanusSignalling(janus, args.room)
    else:
        signalling = MusterSignalling(reader, writer)

    async def listen():
        while True:
            message = await read_message(reader)
            if "name" in message:
                signalling.deliver(message)
            else:
                messages.put_nowait(message)

    listener = asyncio.create_task(listen())
    limit = asyncio.Semaphore(8)

    async def join(make, name, target):
        async with limit:
            client = make()
            await target(name, client)
            return client

    def publisher(feed: int) -> CountingClient:
        # distinct, steady levels 10 dB apart: Muster's speaker order and stage never change, so none of its
        # video slots switches source and waits for a keyframe (Janus forwards every feed whatever the level)
        client = CountingClient(certificate, audio_slots=0, publish_video=True)
        client.audio_level = min(80, 10 + 10 * feed)
        return client

    published = await asyncio.gather(*(join(lambda f=f: publisher(f), f"p{f}", lambda n, c, f=f: signalling.publish(n, f, c)) for f in publishers))
    stop = asyncio.Event()

    window = [float("inf"), float("inf")]  # start, end: set by the schedule

    async def send():
        """Every publisher's tick each 20 ms; returns the ticks that fell in the window."""
        next_tick = time.monotonic()
        in_window = 0
        while not stop.is_set():
            for client in published:
                client.send_tick()
            in_window += window[0] <= time.monotonic() < window[1]
            next_tick += TICK_S
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
        return in_window

    sender = asyncio.create_task(send())
    write_message(writer, {"op": "published"})
    await messages.get()  # "subscribe"
    receivers = await asyncio.gather(*(join(
        lambda: CountingClient(certificate, publish_audio=False, audio_slots=len(all_feeds), video_slots=len(all_feeds)),
        name, lambda n, c: signalling.subscribe(n, all_feeds, c)) for name in subscribers))
    for client in receivers:
        client.enlarge_receive_buffer()
    poller = Poller()
    for client in receivers:
        poller.add(client)
    polling = asyncio.create_task(poller.run(stop))
    write_message(writer, {"op": "subscribed"})
    schedule = await messages.get()
    window[:] = schedule["window_start"], schedule["window_end"]
    await asyncio.sleep(max(0.0, schedule["window_start"] - time.monotonic()))
    for client in receivers:
        client.streams.clear()  # counting starts: each stream from its first packet in the window
    await asyncio.sleep(max(0.0, schedule["window_end"] - time.monotonic()))
    streams = [s for c in receivers for s in c.streams.values()]
    expected, received = expected_and_received(streams)  # the window's counts, read as it ends
    stop.set()
    ticks = await sender
    await polling
    write_message(writer, {
        "op": "result", "sent": ticks * len(published) * PACKETS_PER_TICK, "received": received,
        "expected": expected, "streams": len(streams),
        "srtp_profiles": sorted({c.transport.dtls._ssl.get_selected_srtp_profile().decode() for c in receivers}),
    })
    await writer.drain()
    await messages.get()  # "close": the bench has read what it needs from the server
    listener.cancel()
    for client in published + receivers:
        await client.close()
    if http is not None:
        await janus.close()
        await http.close()


# --- the bench side -----------------------------------------------------------------------


async def run_load(args, ns: Namespace, server_pids: list[int], counters, offers=None, janus_url: str | None = None) -> dict:
    """Start the client processes, walk them through publish → subscribe → window, and measure the server.

    ``counters()`` reads the server's own count of packets sent to subscribers
    (``server_sent``), a cross-check on what the clients received.
    """
    directory = tempfile.mkdtemp(prefix="muster-janus-bench-")
    socket_path = os.path.join(directory, "clients.sock")
    procs_n = max(1, min(args.client_procs, args.subscribers))
    writers: list = []
    inbox: asyncio.Queue = asyncio.Queue()

    async def serve(reader, writer):
        writers.append(writer)
        while True:
            try:
                message = await read_message(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            if message["op"] == "offer":
                asyncio.create_task(offers(writer, message))
            else:
                inbox.put_nowait(message)

    async def gather_all(op: str) -> list[dict]:
        got = []
        while len(got) < procs_n:
            message = await asyncio.wait_for(inbox.get(), args.join_timeout)
            if message["op"] != op:
                raise RuntimeError(f"client process: expected {op}, got {message}")
            got.append(message)
        return got

    def tell(message: dict) -> None:
        for writer in writers:
            write_message(writer, message)

    server = await asyncio.start_unix_server(serve, socket_path)
    feeds = list(range(1, args.publishers + 1))
    procs = []
    for k in range(procs_n):
        share = args.subscribers // procs_n + (1 if k < args.subscribers % procs_n else 0)
        first = sum(args.subscribers // procs_n + (1 if j < args.subscribers % procs_n else 0) for j in range(k))
        command = [
            sys.executable, __file__, "--client-role", socket_path, "--host-address", ns.host_address,
            "--feeds", ",".join(str(f) for f in feeds[k::procs_n]), "--all-feeds", ",".join(map(str, feeds)),
            "--subscriber-from", str(first), "--subscriber-to", str(first + share), "--room", str(ROOM),
        ]
        if janus_url:
            command += ["--janus-url", janus_url]
        procs.append(await asyncio.create_subprocess_exec(*command))

    async def watch(proc) -> None:  # a client process that fails ends the run now, not at a timeout
        if await proc.wait():
            inbox.put_nowait({"op": "exit", "returncode": proc.returncode})

    watchers = [asyncio.create_task(watch(proc)) for proc in procs]
    try:
        started = time.monotonic()
        await gather_all("published")
        tell({"op": "subscribe"})
        await gather_all("subscribed")
        join_s = time.monotonic() - started
        window_start = time.monotonic() + args.warmup
        window_end = window_start + args.duration
        tell({"window_start": window_start, "window_end": window_end})
        processes = [psutil.Process(pid) for pid in server_pids]
        # the servers' counters are read just outside the CPU window, so answering them (Janus's admin API) is not charged
        await asyncio.sleep(max(0.0, window_start - time.monotonic()))
        server_before = await counters()
        cpu_before = sum(sum(p.cpu_times()[:2]) for p in processes)
        drops_before = udp_receive_drops(server_pids[0])
        await asyncio.sleep(max(0.0, window_end - time.monotonic()))
        cpu_after = sum(sum(p.cpu_times()[:2]) for p in processes)
        drops = udp_receive_drops(server_pids[0]) - drops_before
        server_after = await counters()
        results = await gather_all("result")
        tell({"op": "close"})
        for proc in procs:
            await asyncio.wait_for(proc.wait(), 30)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        for watcher in watchers:
            watcher.cancel()
        server.close()
        shutil.rmtree(directory, ignore_errors=True)
    received = sum(r["received"] for r in results)
    expected = sum(r["expected"] for r in results)
    cpu = cpu_after - cpu_before
    server_sent = server_after.pop("server_sent") - server_before["server_sent"]
    return {
        "join_s": round(join_s, 2),
        "received_pkts": received,
        # the publishers' achieved share of their packets in the window: below 100 the client processes fell behind
        "client_send_rate_pct": round(100 * sum(r["sent"] for r in results) / (args.publishers * PACKETS_PER_TICK / TICK_S * args.duration), 1),
        "offered_pkts_per_s": round(args.publishers * PACKETS_PER_TICK / TICK_S * args.subscribers),
        "received_pkts_per_s": round(received / args.duration),
        "loss_pct": round(100 * (expected - received) / expected, 3) if expected else None,
        "receive_streams": sum(r["streams"] for r in results),
        "cpu_s": round(cpu, 2),
        "cpu_cores": round(cpu / args.duration, 2),
        "pkts_per_cpu_s": round(received / cpu) if cpu > 0 else None,
        "server_sent_pkts": server_sent,
        "server_sent_pkts_per_cpu_s": round(server_sent / cpu) if cpu > 0 else None,
        # datagrams the kernel dropped in the window because a socket in the servers' namespace was full:
        # the server did not read fast enough (CPU-starved), so it did not forward them either
        "server_udp_receive_drops": drops,
        "srtp_profiles": sorted({p for r in results for p in r["srtp_profiles"]}),
        **server_after,
    }


async def run_muster(args, ns: Namespace) -> dict:
    with ns.entered():
        router = await ProcessRouter.start(workers=args.workers, host_addresses=[ns.address], audio_n=args.publishers)
    room = router.room("side-by-side")

    async def offers(writer, message):
        try:
            participant = await room.add_participant(message["name"])
            write_message(writer, {"name": message["name"], "answer": await participant.handle_offer(message["offer"])})
        except Exception as exc:
            write_message(writer, {"name": message["name"], "error": str(exc)})

    async def counters() -> dict:
        stats = await asyncio.gather(*(router.call(i, "stats") for i in range(router.worker_count)))
        return {"server_sent": sum(s["forwarded"] for s in stats)}

    try:
        return await run_load(args, ns, router.pids + [os.getpid()], counters, offers=offers)
    finally:
        await router.close()


@dataclasses.dataclass
class RunningJanus:
    process: asyncio.subprocess.Process
    url: str  # the Janus API
    admin: JanusAdmin
    info: dict  # its answer to GET /janus/info
    event_loops: int


@contextlib.asynccontextmanager
async def janus_server(ns: Namespace, http: aiohttp.ClientSession):
    """Janus started inside ``ns`` with a config of its own in a temporary folder; stopped and removed after."""
    directory = Path(tempfile.mkdtemp(prefix="muster-janus-"))
    secret = secrets.token_hex(16)
    loops = os.cpu_count() or 1
    write_janus_config(directory, ns.interface, secret, loops)
    log = open(directory / "janus.log", "wb")
    with ns.entered():
        process = await asyncio.create_subprocess_exec(JANUS, "-C", str(directory / "janus.jcfg"), "-F", str(directory), "-N", stdout=log, stderr=subprocess.STDOUT)
    url = f"http://{ns.address}:{JANUS_HTTP_PORT}/janus"
    try:
        for _ in range(100):
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{url}/info") as response:
                    info = await response.json(content_type=None)
                    break
            if process.returncode is not None:
                raise RuntimeError(f"janus exited ({process.returncode})")
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError("janus did not answer on its HTTP API within 10 s")
        yield RunningJanus(process, url, JanusAdmin(http, f"http://{ns.address}:{JANUS_ADMIN_PORT}/admin", secret), info, loops)
    except BaseException:
        log.flush()
        print("janus log (end):\n" + (directory / "janus.log").read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
        log.close()
        shutil.rmtree(directory, ignore_errors=True)


async def create_room(session: JanusSession, publishers: int) -> None:
    handle = await session.attach()
    await session.request(handle, {
        "request": "create", "room": ROOM, "publishers": publishers, "audiocodec": "opus", "videocodec": "vp8",
        "bitrate": 0, "notify_joining": False, "audiolevel_event": False,
    })


async def run_janus(args, ns: Namespace) -> dict:
    async with aiohttp.ClientSession() as http, janus_server(ns, http) as janus:
        control = JanusSession(http, janus.url)
        await control.create()
        try:
            await create_room(control, args.publishers)
            result = await run_load(args, ns, [janus.process.pid], janus.admin.counters, janus_url=janus.url)
        finally:
            await control.close()
    return dict(result, janus_version=janus.info.get("version_string"), janus_event_loops=janus.event_loops)


async def compare(args) -> dict:
    """Both servers in one run, alternating (M J, J M, ...) over ``--rounds`` so background load hits both alike.

    Each side's figure is its received packets over its CPU seconds, summed over the rounds.
    """
    runs: dict[str, list[dict]] = {"muster": [], "janus": []}
    with Namespace() as ns:
        for round_ in range(args.rounds):
            for side in ("muster", "janus") if round_ % 2 == 0 else ("janus", "muster"):
                runs[side].append(await (run_muster if side == "muster" else run_janus)(args, ns))

    def per_cpu_s(side: str) -> int | None:
        cpu = sum(r["cpu_s"] for r in runs[side])
        return round(sum(r["received_pkts"] for r in runs[side]) / cpu) if cpu > 0 else None

    muster, janus = per_cpu_s("muster"), per_cpu_s("janus")
    return {
        "janus_ratio": round(muster / janus, 3) if muster and janus else None,
        "janus_forwarded_pkts_per_cpu_s": janus,
        "muster_side_by_side_pkts_per_cpu_s": muster,
        "janus_side_by_side": {
            "publishers": args.publishers, "subscribers": args.subscribers, "duration_s": args.duration, "rounds": args.rounds,
            "load_avg_1m": round(os.getloadavg()[0], 2), **runs,
        },
    }


def compare_or_reason(options: argparse.Namespace) -> dict:
    """``compare`` where it can run; otherwise (or if it fails) ``janus_ratio`` null and why."""
    reason = unavailable()
    if reason:
        return {"janus_ratio": None, "janus": f"not run: {reason}"}
    try:
        return asyncio.run(compare(options))
    except Exception as exc:  # the caller's own figures still get printed
        traceback.print_exc()
        return {"janus_ratio": None, "janus": f"failed: {exc.__class__.__name__}: {exc}"}


LOAD_OPTIONS = ("publishers", "subscribers", "duration", "warmup", "rounds", "client_procs")


def add_arguments(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """The load's options; ``bench/meeting.py`` adds them as ``--janus-publishers`` and so on."""
    dest = prefix.replace("-", "_")
    group = parser.add_argument_group("side by side with Janus's VideoRoom")
    group.add_argument(f"--{prefix}publishers", dest=f"{dest}publishers", type=int, default=4, help="publishers, each audio + video (default 4)")
    group.add_argument(f"--{prefix}subscribers", dest=f"{dest}subscribers", type=int, default=25, help="subscribers, each receiving every publisher (default 25)")
    group.add_argument(f"--{prefix}duration", dest=f"{dest}duration", type=float, default=15.0, help="measured window per server in seconds (default 15)")
    group.add_argument(f"--{prefix}warmup", dest=f"{dest}warmup", type=float, default=3.0, help="seconds of traffic before each window (default 3)")
    group.add_argument(f"--{prefix}rounds", dest=f"{dest}rounds", type=int, default=2, help="rounds, each measuring both servers, in alternating order (default 2)")
    group.add_argument(f"--{prefix}client-procs", dest=f"{dest}client_procs", type=int, default=2, help="client processes (default 2)")


def load_options(args: argparse.Namespace, prefix: str = "") -> argparse.Namespace:
    """The options ``compare`` reads, from a parser ``add_arguments`` filled (plus its --workers, --join-timeout)."""
    dest = prefix.replace("-", "_")
    return argparse.Namespace(**{name: getattr(args, dest + name) for name in LOAD_OPTIONS}, workers=args.workers, join_timeout=args.join_timeout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--workers", type=int, default=None, help="Muster media worker processes (default: one per core)")
    parser.add_argument("--join-timeout", type=float, default=120.0, help="seconds for all clients to publish, then to subscribe (default 120)")
    parser.add_argument("--client-role", help=argparse.SUPPRESS)
    parser.add_argument("--host-address", help=argparse.SUPPRESS)
    parser.add_argument("--feeds", help=argparse.SUPPRESS)
    parser.add_argument("--all-feeds", help=argparse.SUPPRESS)
    parser.add_argument("--subscriber-from", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--subscriber-to", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--room", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--janus-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client_role:
        asyncio.run(client_process(args))
        return
    print(json.dumps(compare_or_reason(load_options(args))))


if __name__ == "__main__":
    main()
