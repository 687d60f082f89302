"""An import job run in a child process of the node, so that the node's memory stays what it was.

Importing a city (480,000 people) grows a process by ~70 MB that it never
gives back, even once freed and trimmed (server/heap.py): the heap is left
fragmented by a quarter of a million rows parsed and written. The node that
serves requests (and streams a 480,000-row export next) should not carry
that, nor share its event loop with the import's parsing. So the API's job
runs ``python -m schools.imports.apart``: the same ``run_import_job`` as the
command line's, with the same database, its progress and report written to the
job's row as ever (the page polls the row, whoever writes it). The child
exits when the import ends and its memory goes with it.

What the import publishes on the bus (class groups' members changed) the
child writes on its stdout, one message a line, and the node publishes it on
its own bus after the child's commit, as it would have: devices connected to
the node hear of it on a single node without Redis too.

If the node stops, the child is stopped with it and the job reads as stopped;
if the child dies, the job reads as failed.
"""
from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import shutil
import sys
from pathlib import Path

from server.bus import Bus
from server.db import Database
from server.errors import RateLimited
from server.orgs.imports.limits import ImportLimits
from server.orgs.imports.run import import_slot
from schools.imports.jobs import FAILED, STOPPED
from schools.jobs import do_end_job

CHILD = [sys.executable, "-m", "schools.imports.apart"]
log = logging.getLogger("muster.schools")


async def run_import_job_apart(
    db: Database, bus: Bus, org_id: int, job_id: int, files: list[tuple[str, Path]], *, region: str, limits: ImportLimits, folder: Path,
) -> None:
    """Run the import of job ``job_id`` in a child process to its end, relaying what it publishes; ``folder`` is deleted after.
    The child holds one of the node's import slots (server/orgs/imports/run.py) while it runs."""
    spec = {"database_url": db.url, "org_id": org_id, "job_id": job_id, "files": [[name, str(path)] for name, path in files],
            "region": region, "limits": [limits.max_rows, limits.max_columns, limits.max_unpacked_bytes]}
    try:
        with import_slot():
            await _run_child(db, bus, org_id, job_id, spec)
    except RateLimited as e:
        await do_end_job(db, org_id, job_id, e.msgid, e.params)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def _run_child(db: Database, bus: Bus, org_id: int, job_id: int, spec: dict) -> None:
    child = await asyncio.create_subprocess_exec(*CHILD, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                                 cwd=Path(__file__).resolve().parents[2], env=os.environ)
    try:
        child.stdin.write(json.dumps(spec).encode())
        child.stdin.close()
        async for line in child.stdout:
            try:
                message = json.loads(line)
                channel, payload = message["channel"], base64.b64decode(message["payload"])
            except (ValueError, KeyError, TypeError):
                log.warning("import job %s: a line of its child that is no message: %.80r", job_id, line)
                continue
            await bus.publish(channel, payload)
        returncode = await child.wait()
    except asyncio.CancelledError:
        if child.returncode is None:
            child.terminate()
            await child.wait()
        await asyncio.shield(do_end_job(db, org_id, job_id, STOPPED))
        raise
    if returncode != 0:
        await do_end_job(db, org_id, job_id, FAILED)


class _RelayBus:
    """The child's bus: each message published goes to stdout for the node to publish."""

    async def publish(self, channel: str, payload: bytes) -> None:
        sys.stdout.write(json.dumps({"channel": channel, "payload": base64.b64encode(payload).decode()}) + "\n")
        sys.stdout.flush()


async def _child(spec: dict) -> None:
    from server import capabilities
    from schools.imports.jobs import run_import_job

    capabilities.import_models()
    capabilities.load()  # what they register (phone sign-in, respondent kinds), as the command line has it
    db = Database(spec["database_url"], bus=_RelayBus(), pool_size=2)
    try:
        await run_import_job(db, spec["org_id"], spec["job_id"], [(name, Path(path)) for name, path in spec["files"]],
                             region=spec["region"], limits=ImportLimits(*spec["limits"]))
    finally:
        await db.close()


if __name__ == "__main__":
    asyncio.run(_child(json.loads(sys.stdin.read())))
