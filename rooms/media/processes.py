"""Media workers as processes: the router in the signalling process, one worker process per core.

Control plane: each worker is a child process with one end of a Unix stream
socketpair; messages are length-prefixed JSON. The router sends commands
(``{"id", "method", "kwargs"}``) and gets replies (``{"id", "result"}`` or
``{"id", "error", "type"}``); a worker also sends events (``{"event": ...}``)
which the router hands to the room.

Data plane: each worker binds a UDP socket on 127.0.0.1 (its port goes to the
router in the ``ready`` reply, and the router gives every worker the list).
A worker that receives a packet from a publisher sends the decrypted packet,
prefixed with a 5-byte header (kind, track id), to every other worker: one
``sendto`` per other worker, no serialisation. Kind 0 is RTP, kind 1 a
keyframe request for the track's owner. A full socket buffer drops the
datagram (counted), exactly like a congested network would, instead of
stalling the publisher's worker. (Unix datagram sockets were the first
choice, but Linux caps their queue at ``net.unix.max_dgram_qlen`` datagrams,
10 by default, which dropped a fifth of a 100-participant fan-out.) The
decrypted packets never leave the loopback interface.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import selectors
import socket
import struct
import sys
import time
from pathlib import Path

from rooms.media.offer import OfferError
from rooms.media.router import MediaRouter
from rooms.media.transport import RECV_BUFFER, restrict_host_addresses
from rooms.media.forwarder import Forwarder
from rooms.media.worker import Worker, run_command

_FRAME = struct.Struct("!I")
_DATA = struct.Struct("!BI")
RTP, KEYFRAME = 0, 1
SOCKET_BUFFER = 4 * 1024 * 1024
COALESCE = 0.0005  # seconds: the shortest time between two rounds of the worker's event loop that found traffic
FANOUT_BUFFER = RECV_BUFFER + _DATA.size  # the largest ingress datagram and our header; recv allocates this much per call


async def read_message(reader: asyncio.StreamReader) -> dict:
    size = _FRAME.unpack(await reader.readexactly(4))[0]
    return json.loads(await reader.readexactly(size))


def write_message(writer: asyncio.StreamWriter, message: dict) -> None:
    data = json.dumps(message).encode()
    writer.write(_FRAME.pack(len(data)) + data)


class WorkerProcess:
    """The router's handle on one worker process."""

    def __init__(self, index: int, process: asyncio.subprocess.Process, reader, writer, on_event) -> None:
        self.index = index
        self.process = process
        self.reader = reader
        self.writer = writer
        self.on_event = on_event
        self.pending: dict[int, asyncio.Future] = {}
        self.next_id = 0
        self.listener = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        try:
            while True:
                message = await read_message(self.reader)
                if "event" in message:
                    self.on_event(message)
                    continue
                future = self.pending.pop(message["id"], None)
                if future is None or future.done():
                    continue
                if "error" in message:
                    error = OfferError if message["type"] == "OfferError" else RuntimeError
                    future.set_exception(error(message["error"]))
                else:
                    future.set_result(message.get("result"))
        except (asyncio.IncompleteReadError, ConnectionError):
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(ConnectionError(f"media worker {self.index} exited"))

    async def call(self, method: str, kwargs: dict):
        self.next_id += 1
        future = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = future
        write_message(self.writer, {"id": self.next_id, "method": method, "kwargs": kwargs})
        await self.writer.drain()
        return await future


class ProcessRouter(MediaRouter):
    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.processes: list[WorkerProcess] = []

    @classmethod
    async def start(cls, workers: int | None = None, host_addresses: list[str] | None = None, **options) -> "ProcessRouter":
        """Start ``workers`` processes (default: one per core) and wait until each is ready."""
        count = workers or os.cpu_count() or 1
        router = cls(count)
        for index in range(count):
            parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            args = [sys.executable, "-m", "rooms.media.processes", "--index", str(index),
                    "--fd", str(child.fileno()), "--options", json.dumps(options)]
            if host_addresses is not None:
                args += ["--hosts", ",".join(host_addresses)]
            env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]))
            process = await asyncio.create_subprocess_exec(*args, pass_fds=[child.fileno()], env=env)
            child.close()
            reader, writer = await asyncio.open_unix_connection(sock=parent)
            router.processes.append(WorkerProcess(index, process, reader, writer, router.on_worker_event))
        ports = await asyncio.gather(*(p.call("ready", {}) for p in router.processes))
        await asyncio.gather(*(p.call("peers", {"ports": ports}) for p in router.processes))
        return router

    @property
    def pids(self) -> list[int]:
        return [p.process.pid for p in self.processes]

    async def call(self, index: int, method: str, **kwargs):
        return await self.processes[index].call(method, kwargs)

    async def close(self) -> None:
        for process in self.processes:
            process.writer.close()
        for process in self.processes:
            try:
                await asyncio.wait_for(process.process.wait(), 5)
            except asyncio.TimeoutError:
                process.process.kill()
                await process.process.wait()
            process.listener.cancel()


# --- inside a worker process ----------------------------------------------------------------


class DataPlane:
    """This worker's fan-out socket: sends to the other workers, receives from them."""

    def __init__(self, forwarder: Forwarder) -> None:
        self.forwarder = forwarder
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.addresses: list[tuple[str, int]] = []  # by worker index
        self.peers: list[tuple[str, int]] = []  # the other workers
        self.dropped = 0
        forwarder.send_to_worker = self.send_keyframe_request

    def connect(self, ports: list[int]) -> None:
        self.addresses = [("127.0.0.1", port) for port in ports]
        self.peers = [a for i, a in enumerate(self.addresses) if i != self.forwarder.index]
        self.forwarder.fanout = self.fanout if self.peers else None

    def fanout(self, track_id: int, data: bytes) -> None:
        message = _DATA.pack(RTP, track_id) + data
        sendto = self.sock.sendto
        for address in self.peers:
            try:
                sendto(message, address)
            except OSError:  # buffer full, or the worker is gone
                self.dropped += 1

    def send_keyframe_request(self, index: int, message: dict) -> None:
        try:
            self.sock.sendto(_DATA.pack(KEYFRAME, message["track_id"]), self.addresses[index])
        except OSError:
            self.dropped += 1

    def readable(self) -> None:
        recv = self.sock.recv
        forwarder = self.forwarder
        while True:
            try:
                message = recv(FANOUT_BUFFER)
            except OSError:  # nothing left (or an ICMP error from a departed worker)
                return
            kind, track_id = _DATA.unpack_from(message)
            if kind == RTP:
                try:
                    forwarder.receive(track_id, message[5:])
                except ValueError:
                    continue  # checked at ingress already; never trust a datagram blindly
            elif kind == KEYFRAME:
                forwarder.keyframe_from_owner(track_id)


async def serve(index: int, fd: int, options: dict) -> None:
    loop = asyncio.get_running_loop()
    sock = socket.socket(fileno=fd)
    reader, writer = await asyncio.open_unix_connection(sock=sock)

    def emit(event: dict) -> None:
        write_message(writer, event)

    worker = Worker(index, emit, **options)
    plane = DataPlane(worker.forwarder)
    loop.add_reader(plane.sock, plane.readable)
    # What exists now (modules, aiortc's and OpenSSL's bindings, the certificate) lives as long as the process:
    # out of the collector's reach, a full collection no longer walks it, and the worker's loop (every
    # packet waiting behind it) no longer stalls for tens of milliseconds when one runs.
    gc.freeze()
    worker.start()

    async def handle(message: dict) -> None:
        reply = {"id": message["id"]}
        try:
            if message["method"] == "ready":
                reply["result"] = plane.port
            elif message["method"] == "peers":
                plane.connect(message["kwargs"]["ports"])
            elif message["method"] == "stats":
                # the CPU time is read with the counters, so a late reply from a busy worker still pairs them right
                reply["result"] = {"forwarded": worker.forwarder.forwarded, "retransmitted": worker.forwarder.retransmitted, "fanout_dropped": plane.dropped, "cpu_s": time.process_time(), "at": time.monotonic()}
            else:
                reply["result"] = await run_command(worker, message["method"], message["kwargs"])
        except Exception as exc:  # the error goes back to the caller; the worker keeps serving the others
            reply["error"], reply["type"] = str(exc), type(exc).__name__
        write_message(writer, reply)

    try:
        while True:
            message = await read_message(reader)
            worker.spawn(handle(message))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the router closed the control socket: shut down
    finally:
        loop.remove_reader(plane.sock)
        await worker.stop()


class CoalescingSelector(selectors.EpollSelector):
    """Wakes the worker's loop at most once per ``COALESCE`` seconds while traffic flows, like a NIC's interrupt moderation.

    With one socket per participant, each arriving datagram could wake the
    worker on its own: a context switch, an epoll call and an event-loop
    round for one packet. After a round that found something, the next
    waits until ``COALESCE`` has passed since it started and then takes
    everything that arrived meanwhile in one round. An idle worker still
    sleeps in epoll; a packet waits at most ``COALESCE`` more.
    """

    def __init__(self) -> None:
        super().__init__()
        self._last = 0.0

    def select(self, timeout=None):
        wait = self._last + COALESCE - time.monotonic()
        if wait > 0 and (timeout is None or timeout > 0):
            time.sleep(wait if timeout is None else min(wait, timeout))
            timeout = 0 if timeout is None else max(0.0, timeout - wait)
        events = super().select(timeout)
        self._last = time.monotonic() if events else 0.0
        return events


def main() -> None:
    parser = argparse.ArgumentParser(description="A Muster media worker process (started by ProcessRouter).")
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--hosts", default=None, help="comma-separated addresses to gather ICE host candidates on")
    parser.add_argument("--options", default="{}")
    args = parser.parse_args()
    if args.hosts:
        restrict_host_addresses(args.hosts.split(","))
    with asyncio.Runner(loop_factory=lambda: asyncio.SelectorEventLoop(CoalescingSelector())) as runner:
        runner.run(serve(args.index, args.fd, json.loads(args.options)))


if __name__ == "__main__":
    main()
