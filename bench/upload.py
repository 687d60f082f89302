"""Resumable upload benchmark: a 4 GB file over tus, cut off halfway, resumed, with the server's memory watched.

    python bench/upload.py                     # full size: 4 GiB
    python bench/upload.py --bytes 500000000   # quicker

It starts ``python -m server serve`` on the embedded SQLite default in a
temporary directory, seeds an organisation with one group, and uploads a file
generated on the fly (never held in memory or written by the client): a
first PATCH sends half the bytes over a raw socket and then drops the
connection without a goodbye; HEAD gives the offset the server kept; a
second PATCH sends the rest. It reports the throughput over both transfers
and the server's peak RSS, sampled every 50 ms, and checks the stored file by
downloading ranges at the start, at the resume point and at the end.

Progress goes to stderr; the last line of stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fanout import ServerNode, log, seed  # noqa: E402  (bench/fanout.py: the server process and the seeding)

from server.db.migrate import upgrade  # noqa: E402

BLOCK = 1 << 20
TUS = {"Tus-Resumable": "1.0.0"}


def block(index: int) -> bytes:
    """The file's ``index``-th MiB: different for every index, computed, never stored."""
    seed_bytes = hashlib.sha256(index.to_bytes(8, "big")).digest()
    return seed_bytes * (BLOCK // len(seed_bytes))


def file_bytes(start: int, end: int):
    """The bytes [start, end) of the generated file, a block at a time."""
    position = start
    while position < end:
        index, within = divmod(position, BLOCK)
        piece = block(index)[within : within + (end - position)]
        yield piece
        position += len(piece)


class PeakRss(threading.Thread):
    def __init__(self, node: ServerNode, every_s: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.node, self.every_s, self.peak = node, every_s, 0
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            self.peak = max(self.peak, self.node.rss())
            self._stopping.wait(self.every_s)

    def stop(self) -> None:
        self._stopping.set()
        self.join()


async def interrupted_patch(node: ServerNode, location: str, token: str, total: int, cut_at: int) -> None:
    """A PATCH announcing every byte that sends only ``cut_at`` of them, then drops the TCP connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
    writer.write(
        (
            f"PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1:{node.port}\r\nAuthorization: Bearer {token}\r\n"
            f"Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
            f"Content-Length: {total}\r\n\r\n"
        ).encode()
    )
    for piece in file_bytes(0, cut_at):
        writer.write(piece)
        await writer.drain()
    writer.transport.abort()


async def run(args: argparse.Namespace) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="muster-upload-"))
    node = None
    try:
        database_url = f"sqlite+aiosqlite:///{tmp / 'muster.sqlite3'}"
        await asyncio.to_thread(upgrade, database_url)
        org_id, group_id, token, _ = await seed(database_url, 1)
        node = ServerNode(tmp / "data", database_url, upload_max_bytes=str(max(args.bytes, 4 << 30)))
        await node.wait_ready()
        headers = {"Authorization": f"Bearer {token}"}
        sampler = PeakRss(node)
        sampler.start()
        metadata = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in {"filename": "big.bin", "filetype": "application/octet-stream"}.items())
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{node.url}/api/v1/orgs/{org_id}/groups/{group_id}/uploads",
                headers=headers | TUS | {"Upload-Length": str(args.bytes), "Upload-Metadata": metadata},
            ) as resp:
                assert resp.status == 201, await resp.text()
                location = resp.headers["Location"]
            started = time.monotonic()
            log(f"sending {args.bytes // 2} bytes, then dropping the connection")
            await interrupted_patch(node, location, token, args.bytes, args.bytes // 2)
            await asyncio.sleep(0.5)
            async with http.head(node.url + location, headers=headers | TUS) as resp:
                offset = int(resp.headers["Upload-Offset"])
            log(f"server kept {offset} bytes; resuming")

            async def rest():
                for piece in file_bytes(offset, args.bytes):
                    yield piece

            async with http.patch(
                node.url + location,
                data=rest(),
                headers=headers | TUS | {"Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)},
                timeout=aiohttp.ClientTimeout(total=None),
            ) as resp:
                assert resp.status == 204, await resp.text()
                file_id = resp.headers["Muster-File-Id"]
            elapsed = time.monotonic() - started
            sampler.stop()
            checks = [(0, BLOCK), (max(0, offset - 1000), min(args.bytes, offset + 1000)), (args.bytes - BLOCK, args.bytes)]
            for start, end in checks:
                async with http.get(
                    f"{node.url}/api/v1/orgs/{org_id}/groups/{group_id}/files/{file_id}", headers=headers | {"Range": f"bytes={start}-{end - 1}"}
                ) as resp:
                    assert resp.status == 206, resp.status
                    assert await resp.read() == b"".join(file_bytes(start, end)), f"bytes {start}-{end} differ"
        return {
            "bytes": args.bytes,
            "resumed": 0 < offset < args.bytes,
            "resumed_at": offset,
            "seconds": round(elapsed, 1),
            "mb_per_s": round(args.bytes / elapsed / 1e6, 1),
            "server_peak_rss_mb": round(sampler.peak / 2**20, 1),
            "verified_ranges": len(checks),
        }
    finally:
        if node is not None:
            node.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--bytes", type=int, default=4 << 30, help="size of the file (default 4 GiB)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
