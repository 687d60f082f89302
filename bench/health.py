"""Schools' daily health reports at a city's size, through the public API and the WebSocket of real clients (issue 10).

    python bench/health.py                                          # the city: 1,300 schools, 480,000 people
    python bench/health.py --scale 0.05 --rate 200 --duration 10    # a quick look

It makes a fresh PostgreSQL database (dropped at the end) and starts ``python
-m server serve`` on it in its default configuration, except that SMS go to
the fake Twilio-compatible provider of tests/notify/fake_provider.py (in this
process) and Web Push to the fake push service of tests/notify/fake_push.py (a
process of its own), with a daily SMS allowance as large as the city. Then, as
the bureau's people and their devices would:

1. **Import.** bench/schools_data.py writes the city (``--scale``) as three
   CSV files; an organisation admin sends them to ``POST .../schools/imports``
   and polls the job until it is done: ``import_s``.
2. **The form and its round.** A daily health report (a temperature in a
   range, abnormal from 37.3; symptoms yes/no, with questions shown only after
   a yes; where the child is today) is made with ``POST .../forms`` and sent to
   the whole bureau with respondent kind ``student`` (a child; any of its
   guardians answers): ``respondents`` is the round's expected count,
   ``round_open_s`` the request that sent and opened it.
3. **Submissions.** Guardians' device sessions are written to the database
   (signing 90,000 people in is not what is measured); every submission is a
   real request to ``POST .../rounds/{id}/submissions`` with its guardian's
   token and its child's id, open-loop at ``--rate`` for ``--duration``
   seconds (a request's latency counts from when it was due, so a server that
   falls behind is not hidden), from ``--load-procs`` processes of raw
   keep-alive HTTP (bench/rawhttp.py) on this machine. One request in
   ``--invalid-every`` more has a temperature out of range and must be refused
   (400). Once a request waits ``--give-up-s`` for a free connection the
   generator sends no more (``not_sent``): a server far behind is measured in
   bounded time. ``cpu_us_per_submission`` is the CPU of the server's process, its
   children and its PostgreSQL backends (bench/cpu.py) during the window, per
   stored submission. Then the round's dashboard total must equal the 201s,
   each 201's client id must be stored once (``lost``, ``duplicated``), and
   ``--resubmit`` of them sent again must answer 200 with the same submission.
4. **Dashboards during the load.** Bureau staff, district staff, school
   administrators and head teachers, each with their own token, ask their
   unit's roll-up, and head teachers their class's missing list: a round of
   these five calls every ``--dashboard-every-s``, the p95 of each
   (``dashboard_p95_ms`` is the worst level's). Their CPU is in
   ``cpu_us_per_submission`` too (ten calls a second: little beside 1,500
   submissions, much beside a few).
5. **Exports.** Rounds of earlier days of the same form are sent and filled
   with SQL up to ``--export-rows`` submissions in all (an export reads rows,
   not how they came), then the week is exported as CSV (time to its last
   byte) and XLSX (likewise, then its rows counted); the server's RSS is
   sampled every 20 ms and its VmHWM reset before each: ``export_rss_mb`` is
   the peak.
6. **A notice.** ``--devices`` people at random (guardians and staff) connect
   a device each (bench/rawws.py, over ``--device-procs`` processes;
   ``devices_connect_s`` until all are ready). A node holds a socket a file,
   and a process may open 20,000 files here (root cannot raise it; deploy/
   sets 65,536), so the 20,000 devices of the city need two nodes: then the
   run is deploy/'s configuration (every node on the same PostgreSQL and one
   Redis bus, the same secret key), the first node serving all the API calls
   from the start and ``--nodes`` - 1 more started for the devices, which are
   split evenly over them. Then an
   admin sends a notice to every family and all staff of the bureau:
   ``notice_delivered_s`` runs from the send until every connected device had
   it (each acknowledges it, as the app does).
7. **A reminder.** "Remind the rest" of the round, due at once: every
   connected person who answers for a child who has not submitted must get
   the in-app ``form.reminder`` (``reminder_lateness_p99_s`` from the due
   time), nobody else and nobody twice. Of the others, the
   ``--push-subscribers`` people with a Web Push subscription (taken at random
   among those not connected) get a push, the rest an SMS (the organisation
   chose SMS reminders), each at the node's configured pace
   (``MUSTER_FORMS_PUSH_PER_S``, ``MUSTER_FORMS_SMS_PER_S``); they are
   watched for ``--outreach-wait`` seconds, and the time to send them all is
   reported: measured if they all went by then, else estimated from the pace
   measured.

The targets (``targets`` in the result, met or not) are the issue's, for the
whole city. Progress goes to stderr; the last line of stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib
import json
import multiprocessing
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import uuid
import zipfile
import zoneinfo
from array import array
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil
from sqlalchemy import insert, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from server.accounts.auth import hash_token, new_token  # noqa: E402
from server.accounts.models import DeviceSession  # noqa: E402
from server.accounts.users import do_create_user  # noqa: E402
from server.channels.models import PushSubscription  # noqa: E402
from server.db import Database, utcnow  # noqa: E402
from server.orgs.actions import do_create_org  # noqa: E402
from tests.notify.fake_provider import FakeProvider  # noqa: E402
from tests.notify.fake_push import vapid_keys  # noqa: E402
from cpu import CpuMeter  # noqa: E402  (bench/, beside this file)
from fanout import PushService, ServerNode, log, percentile  # noqa: E402
from rawhttp import HttpConnection, request_bytes  # noqa: E402
from rawws import connect_all  # noqa: E402
from schools_data import FULL_PEOPLE, City, write_files  # noqa: E402
from upload import PeakRss  # noqa: E402
from urgent import Device as NoticeDevice, Devices  # noqa: E402

member_bench = importlib.import_module("import")  # bench/import.py: creating and dropping the database

DEFAULT_POSTGRES = os.environ.get("MUSTER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")  # the organisation's (the default time zone)
KIND = "student"
# Who follows each level's roll-up (their role held on a unit of that kind); head teachers also read their class's missing list.
VIEWERS = {"bureau": "bureau_staff", "district": "district_staff", "school": "school_admin", "class": "head_teacher"}
SYMPTOMS = ("cough", "fever", "sore_throat", "headache", "other")
HEALTH_FORM = {"title": "Daily health report", "definition": {"fields": [
    {"name": "temperature", "type": "temperature", "label": "Temperature (°C)", "required": True, "min": 35, "max": 42,
     "abnormal": {"op": "ge", "value": 37.3}},
    {"name": "symptoms", "type": "yes_no", "label": "Any symptoms today?", "required": True, "abnormal": {"op": "eq", "value": True}},
    {"name": "which", "type": "multiple_choice", "label": "Which?", "required": True, "relevant": {"field": "symptoms", "op": "eq", "value": True},
     "choices": [{"value": v, "label": v.replace("_", " ").capitalize()} for v in SYMPTOMS]},
    {"name": "which_other", "type": "text", "label": "What else?", "max_length": 200,
     "relevant": {"field": "which", "op": "contains", "value": "other"}},
    {"name": "seen_doctor", "type": "yes_no", "label": "Seen a doctor?", "relevant": {"field": "symptoms", "op": "eq", "value": True}},
    {"name": "today", "type": "single_choice", "label": "Today the child is", "required": True,
     "choices": [{"value": "school", "label": "At school"}, {"value": "home", "label": "At home"}, {"value": "leave", "label": "On leave"}]},
]}}
FD_HEADROOM = 1000  # files the node keeps open besides its devices' sockets: database connections, logs, exports, listening sockets
NO_ESCALATION = {"sms_after_s": None, "call_after_s": None, "repeats": 0, "repeat_interval_s": 60}


def raise_fd_limit() -> None:
    """Room for 20,000 sockets and more in one process (the server's, which inherits it): root may raise the hard limit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        hard = max(hard, 1 << 17)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)


def pct(values, p: float, digits: int = 1) -> float | None:
    return round(percentile(list(values), p), digits) if len(values) else None


def answers(rng: random.Random, *, valid: bool = True) -> dict:
    """A child's report: mostly well; one in twenty with symptoms (abnormal, with the follow-up questions); or out of range."""
    if not valid:
        return {"temperature": 45.0, "symptoms": False, "today": "school"}
    if rng.random() < 0.05:
        which = rng.sample(SYMPTOMS, rng.randint(1, 2))
        report = {"temperature": round(rng.uniform(36.8, 38.6), 1), "symptoms": True, "which": which, "seen_doctor": rng.random() < 0.5, "today": "home"}
        return report | ({"which_other": "a rash"} if "other" in which else {})
    return {"temperature": round(rng.uniform(36.0, 37.2), 1), "symptoms": False, "today": "school"}


class Api:
    """The JSON API as a signed-in client calls it; an answer other than the expected status ends the bench."""

    def __init__(self, http: aiohttp.ClientSession, base: str, token: str) -> None:
        self.http, self.base, self.token = http, base, token

    async def call(self, method: str, path: str, *, token: str | None = None, expect: tuple[int, ...] = (200,), **kwargs):
        async with self.http.request(method, f"{self.base}/api/v1{path}", headers={"Authorization": f"Bearer {token or self.token}"}, **kwargs) as resp:
            body = await resp.read()
            if resp.status not in expect:
                raise SystemExit(f"{method} {path}: {resp.status} {body[:500].decode(errors='replace')}")
            return json.loads(body) if body else None


# --- the bureau ----------------------------------------------------------------------------------------------


@dataclass
class Bureau:
    org_id: int
    units: dict[str, list[int]]  # kind -> department ids
    viewers: dict[str, list[tuple[int, int]]]  # level -> (unit, user holding the level's role on it)
    answerers: dict[int, list[int]]  # respondent -> the accounts that answer for it (and are reminded)
    staff: list[int]
    families: list[int]
    tokens: dict[int, str] = field(default_factory=dict)

    @property
    def bureau_id(self) -> int:
        return self.units["bureau"][0]


async def make_admin(db: Database) -> tuple[int, int]:
    """The organisation and its first admin (an operator's doing, before any API call)."""
    async with db.transaction() as tx:
        owner = await do_create_user(tx, name="Bureau Admin", email="admin@bureau.example")
        org = await do_create_org(tx, name="City Education Bureau", slug=f"city-{uuid.uuid4().hex[:8]}", owner=owner)
        return org.id, owner.id


async def sign_in(db: Database, tokens: dict[int, str], user_ids) -> None:
    """A device session for each of these people who has none in ``tokens`` yet, written in bulk (what the bench
    measures is what comes after signing in); their tokens are added to ``tokens``."""
    new = sorted(set(user_ids) - tokens.keys())
    now = utcnow()
    made = {u: new_token() for u in new}
    for start in range(0, len(new), 5000):
        async with db.transaction() as tx:
            await tx.session.execute(insert(DeviceSession), [
                {"user_id": u, "token_hash": hash_token(made[u]), "device_name": "bench phone", "user_agent": "", "ip": "", "created_at": now,
                 "last_seen_at": now, "expires_at": now + dt.timedelta(days=30)} for u in new[start : start + 5000]])
    tokens |= made


async def read_bureau(db: Database, org_id: int) -> Bureau:
    """What the import made, read back: units, who holds which role, the children and the accounts of their guardians."""
    async with db.transaction() as tx:
        run = tx.session.execute
        units: dict[str, list[int]] = {}
        for kind, unit in await run(text("SELECT kind, department_id FROM school_units WHERE org_id = :o AND archived_at IS NULL ORDER BY department_id"),
                                    {"o": org_id}):
            units.setdefault(kind, []).append(unit)
        viewers: dict[str, list[tuple[int, int]]] = {level: [] for level in VIEWERS}
        by_role = {role: level for level, role in VIEWERS.items()}
        for role, unit, user in await run(text("SELECT role, unit_id, user_id FROM school_unit_roles WHERE org_id = :o ORDER BY id"), {"o": org_id}):
            if role in by_role:
                viewers[by_role[role]].append((unit, user))
        staff = list((await run(text("SELECT user_id FROM memberships WHERE org_id = :o AND role = 'member' ORDER BY user_id"), {"o": org_id})).scalars())
        answerers: dict[int, list[int]] = {}
        for student, user in await run(text("""
                SELECT l.student_id, g.user_id FROM school_student_guardians l
                JOIN school_guardians g ON g.id = l.guardian_id JOIN school_students s ON s.id = l.student_id
                WHERE l.org_id = :o AND g.user_id IS NOT NULL AND s.archived_at IS NULL ORDER BY l.student_id, g.user_id"""), {"o": org_id}):
            answerers.setdefault(student, []).append(user)
    families = sorted({u for users in answerers.values() for u in users})
    return Bureau(org_id, units, viewers, answerers, staff, families)


async def import_city(api: Api, org_id: int, files: list[tuple[str, Path]]) -> tuple[float, dict]:
    """The files sent as the import page sends them, then the job polled until it ends: (seconds, the job)."""
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        form = aiohttp.FormData()
        for name, path in files:
            form.add_field("file", stack.enter_context(path.open("rb")), filename=name, content_type="text/csv")
        job = await api.call("POST", f"/orgs/{org_id}/schools/imports", data=form, expect=(202,))
    said = started
    while job["status"] == "running":
        await asyncio.sleep(0.5)
        job = await api.call("GET", f"/orgs/{org_id}/schools/imports/{job['id']}")
        if time.perf_counter() - said > 10:
            said = time.perf_counter()
            log(f"import: {job['rows_done']:,}/{job['rows_total']:,} rows after {said - started:.0f} s")
    return time.perf_counter() - started, job


# --- the load generator --------------------------------------------------------------------------------------


def submission_id(body: bytes) -> int:
    """A submission's id from its JSON (``{"id":N,...}``, as the server writes it), without parsing the rest."""
    if body.startswith(b'{"id":'):
        return int(body[6 : body.index(b",")])
    return int(json.loads(body)["id"])


def load_worker(port: int, requests: list[bytes], offset: int, stride: int, rate: float, conns: int, give_up_s: float, pipe) -> None:
    """One load process: requests ``offset``, ``offset + stride``... of the whole schedule, each due at start + index / rate.
    Once the oldest request waiting for a free connection is ``give_up_s`` late, it sends no more (status -1): a server
    far behind is measured in a bounded time."""
    raise_fd_limit()
    asyncio.run(_load_worker(port, requests, offset, stride, rate, conns, give_up_s, pipe))


async def _load_worker(port: int, requests: list[bytes], offset: int, stride: int, rate: float, conns: int, give_up_s: float, pipe) -> None:
    loop = asyncio.get_running_loop()
    n = len(requests)
    status, latency, ids = array("h", bytes(2 * n)), array("f", bytes(4 * n)), array("q", bytes(8 * n))
    waiting: deque[int] = deque()  # due, but every connection is busy: sent as one frees up (its latency keeps counting)
    idle: list[HttpConnection] = []
    answered, expected = 0, n
    everything = loop.create_future()
    start = 0.0

    def due(k: int) -> float:
        return start + (offset + k * stride) / rate

    def dispatch(k: int) -> None:
        while idle:
            conn = idle.pop()
            if not conn.closed:
                conn.tag = k
                conn.send(requests[k])
                return
            loop.create_task(replace())
        waiting.append(k)

    def on_answer(conn: HttpConnection, code: int, body: bytes) -> None:
        nonlocal answered
        k = conn.tag
        latency[k], status[k] = (time.time() - due(k)) * 1000, code
        if code in (200, 201):
            ids[k] = submission_id(body)
        answered += 1
        if answered == expected and not everything.done():
            everything.set_result(None)
        if conn.closed:
            loop.create_task(replace())
        elif waiting:
            conn.tag = waiting.popleft()
            conn.send(requests[conn.tag])
        else:
            idle.append(conn)

    async def connect() -> HttpConnection:
        _, conn = await loop.create_connection(lambda: HttpConnection(on_answer), "127.0.0.1", port)
        return conn

    async def replace() -> None:
        conn = await connect()
        idle.append(conn)
        if waiting:
            dispatch(waiting.popleft())

    idle.extend([await connect() for _ in range(conns)])
    pipe.send("ready")
    start = await asyncio.to_thread(pipe.recv)
    k = 0
    while k < n:
        now = time.time()
        if waiting and now - due(waiting[0]) > give_up_s:
            for given_up in [*waiting, *range(k, n)]:
                status[given_up] = -1
            expected -= len(waiting) + n - k
            waiting.clear()
            if answered >= expected and not everything.done():
                everything.set_result(None)
            break
        while k < n and due(k) <= now:
            dispatch(k)
            k += 1
        if k < n:
            await asyncio.sleep(max(0.0, due(k) - time.time()))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(everything, 120)  # what never answers keeps status 0
    pipe.send({"status": status, "latency": latency, "ids": ids, "cpu_s": time.process_time()})


@dataclass
class LoadResult:
    status: list[int]
    latency_ms: list[float]
    ids: list[int]
    window_s: float  # from the first request's due time to the last answer
    client_cpu_s: float


async def send_load(port: int, requests: list[bytes], rate: float, procs: int, conns: int, give_up_s: float) -> LoadResult:
    """Send every request open-loop, request i due at start + i / rate, from ``procs`` forked processes (status -1: not sent)."""
    ctx = multiprocessing.get_context("fork")
    pipes, processes = [], []
    procs = max(1, min(procs, len(requests)))
    for w in range(procs):
        here, there = ctx.Pipe()
        process = ctx.Process(target=load_worker, args=(port, requests[w::procs], w, procs, rate, conns, give_up_s, there), daemon=True)
        process.start()
        pipes.append(here)
        processes.append(process)
    try:
        for pipe in pipes:
            assert await asyncio.to_thread(pipe.recv) == "ready"
        start = time.time() + 0.5
        for pipe in pipes:
            pipe.send(start)
        parts = [await asyncio.to_thread(pipe.recv) for pipe in pipes]
    finally:
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
    n = len(requests)
    status, latency, ids = [0] * n, [0.0] * n, [0] * n
    for w, part in enumerate(parts):
        status[w::procs], latency[w::procs], ids[w::procs] = part["status"], part["latency"], part["ids"]
    window = max((i / rate + latency[i] / 1000 for i in range(n) if status[i] > 0), default=0.0)
    return LoadResult(status, latency, ids, window, sum(p["cpu_s"] for p in parts))


# --- dashboards while the load runs ---------------------------------------------------------------------------


async def watch_dashboards(api: Api, bureau: Bureau, round_id: int, stop: asyncio.Event, every_s: float) -> tuple[dict[str, list[float]], Counter]:
    """Each level's roll-up, and a class's missing list, asked in turn by someone scoped there (a unit at random), a round
    of them every ``every_s`` (or at once after a late one), until ``stop``."""
    rng = random.Random(2)
    times: dict[str, list[float]] = {level: [] for level in [*VIEWERS, "missing_list"]}
    refused: Counter = Counter()
    next_round = time.monotonic()
    while not stop.is_set():
        await asyncio.sleep(max(0.0, next_round - time.monotonic()))
        next_round = max(next_round + every_s, time.monotonic())
        for level in times:
            unit, user = rng.choice(bureau.viewers["class" if level == "missing_list" else level])
            path = (f"/orgs/{bureau.org_id}/rounds/{round_id}/respondents?state=missing&department_id={unit}" if level == "missing_list"
                    else f"/orgs/{bureau.org_id}/rounds/{round_id}/dashboard?department_id={unit}")
            started = time.perf_counter()
            async with api.http.get(f"{api.base}/api/v1{path}", headers={"Authorization": f"Bearer {bureau.tokens[user]}"}) as resp:
                await resp.read()
                if resp.status != 200:
                    refused[f"{level} {resp.status}"] += 1
            times[level].append((time.perf_counter() - started) * 1000)
    return times, refused


# --- submissions ----------------------------------------------------------------------------------------------


async def submissions_part(args, api: Api, db: Database, node: ServerNode, database: str, bureau: Bureau, round_: dict) -> dict:
    rng = random.Random(1)
    every = args.invalid_every
    wanted = int(args.rate * args.duration)
    total = wanted + (wanted // every if every else 0)
    available = int(len(bureau.answerers) * 0.9)  # some left to remind
    if total > available:
        log(f"submissions: only {len(bureau.answerers):,} respondents; sending {available:,}")
        total = available
        wanted = total - (total // (every + 1) if every else 0)
    invalid = total - wanted
    chosen = rng.sample(sorted(bureau.answerers), total)
    valid = [not every or i % (every + 1) != every for i in range(total)]
    answering = [rng.choice(bureau.answerers[r]) for r in chosen]
    await sign_in(db, bureau.tokens, set(answering) | {u for pairs in bureau.viewers.values() for _, u in pairs})
    host = f"127.0.0.1:{node.port}"
    path = f"/api/v1/orgs/{bureau.org_id}/rounds/{round_['id']}/submissions"
    requests = [request_bytes("POST", host, path, bureau.tokens[user],
                              json.dumps({"client_id": uuid.uuid4().hex, "respondent_id": r, "answers": answers(rng, valid=ok)}).encode())
                for r, user, ok in zip(chosen, answering, valid)]
    rate = len(requests) / (wanted / args.rate)  # the valid ones at --rate, the invalid ones on top
    log(f"submissions: {wanted:,} by {len(set(answering)):,} guardians (+{invalid:,} out of range) at {rate:.0f} requests/s, "
        f"{args.load_procs} load processes; dashboards asked meanwhile")
    meter = CpuMeter(node.process.pid, database)
    stop = asyncio.Event()
    meter.start()
    psutil.cpu_percent()
    load_before = os.getloadavg()
    watcher = asyncio.create_task(watch_dashboards(api, bureau, round_["id"], stop, args.dashboard_every_s))
    load = await send_load(node.port, requests, rate, args.load_procs, args.load_conns, args.give_up_s)
    cpu = await meter.stop()
    machine = psutil.cpu_percent()
    stop.set()
    dashboards, refused = await watcher
    codes = Counter(load.status)
    created = [i for i, s in enumerate(load.status) if s == 201 and valid[i]]
    stored = created and len(created) / load.window_s
    answered = [ms for ms, code in zip(load.latency_ms, load.status) if code > 0]
    log(f"submissions: {dict(codes)} in {load.window_s:.1f} s ({stored:.0f}/s), p99 {pct(answered, 99)} ms; "
        f"cpu {cpu}; dashboards refused {dict(refused)}")

    # Read back: the round's total, what is stored, and replays of some of them.
    top = await api.call("GET", f"/orgs/{bureau.org_id}/rounds/{round_['id']}/dashboard")
    client_ids = [json.loads(r.split(b"\r\n\r\n", 1)[1])["client_id"] for r in requests]
    async with db.transaction() as tx:
        rows = (await tx.session.execute(text("SELECT client_id, id FROM form_submissions WHERE round_id = :r"), {"r": round_["id"]})).all()
    stored_ids = Counter(c for c, _ in rows)
    counted = top["node"]["counts"]["submitted"]
    lost = sum(1 for i in created if client_ids[i] not in stored_ids) + max(0, len(created) - counted)
    duplicated = sum(n - 1 for n in stored_ids.values()) + max(0, counted - len(rows))  # a submission stored, or counted, twice
    again = rng.sample(created, min(args.resubmit, len(created)))
    replay = await send_load(node.port, [requests[i] for i in again], args.resubmit_rate, 1, 16, args.give_up_s) if again else None
    replay_same = sum(1 for j, i in enumerate(again) if replay.status[j] == 200 and replay.ids[j] == load.ids[i]) if replay else 0
    replay_other = sum(1 for j, i in enumerate(again) if replay.status[j] in (200, 201) and replay.ids[j] != load.ids[i]) if replay else 0
    log(f"read back: dashboard {top['node']['counts']['submitted']:,} submitted, {len(rows):,} stored; "
        f"{replay_same}/{len(again)} sent again answered 200 with the same submission")
    return {
        "submissions": len(created),
        "submissions_per_s": round(stored),
        "load_window_s": round(load.window_s, 1),
        "submit_p50_ms": pct(answered, 50),
        "submit_p99_ms": pct(answered, 99) if not codes[-1] else None,  # requests not sent have no latency: no p99 to give
        "submit_max_ms": round(max(answered, default=0), 1),
        "not_sent": codes[-1],
        "answers": {str(k): v for k, v in sorted(codes.items())},
        "refused_out_of_range": sum(1 for i, s in enumerate(load.status) if not valid[i] and s == 400),
        "wrong_answers": sum(1 for i, s in enumerate(load.status) if s != -1 and s != (201 if valid[i] else 400)),  # 5xx, none...
        "dashboard_submitted": counted,
        "dashboard_abnormal": top["node"]["counts"]["abnormal"],
        "stored": len(rows),
        "stored_unanswered": len(rows) - len(created),  # stored, but the client saw no 201 (it would send it again, and get a 200)
        "lost": lost,
        "duplicated": duplicated + replay_other,
        "resubmitted": len(again),
        "resubmitted_same": replay_same,
        "resubmit_answers": {str(k): v for k, v in sorted(Counter(replay.status).items())} if replay else {},
        "cpu_us_per_submission": round(cpu["all"] / len(created) * 1e6) if created else None,
        "cpu_s": cpu,
        "load_generator_cpu_s": round(load.client_cpu_s, 1),
        "machine_cpu_pct": machine,
        "load_avg_before_load": [round(x, 1) for x in load_before],
        "dashboard_p95_ms": max(pct(dashboards[level], 95) or 0 for level in VIEWERS),
        "dashboard_p95_by_level_ms": {level: pct(dashboards[level], 95) for level in VIEWERS},
        "dashboard_calls": sum(len(v) for v in dashboards.values()),
        "dashboard_refused": sum(refused.values()),
        "missing_list_p95_ms": pct(dashboards["missing_list"], 95),
    }


# --- exports --------------------------------------------------------------------------------------------------


async def fill_earlier_days(api: Api, db: Database, bureau: Bureau, form_id: int, rows: int) -> int:
    """Rounds of the days before today, sent through the API and filled with SQL (one statement each) until the form
    has ``rows`` submissions: what a week of reports leaves to export. Returns how many days back they go."""
    async with db.transaction() as tx:
        have = await tx.session.scalar(text("SELECT count(*) FROM form_submissions s JOIN form_rounds r ON r.id = s.round_id WHERE r.form_id = :f"),
                                       {"f": form_id})
    today = dt.datetime.now(ZONE).date()
    days = 0
    while have < rows:
        days += 1
        opens = dt.datetime.combine(today - dt.timedelta(days=days), dt.time(7), ZONE)
        round_ = await api.call("POST", f"/orgs/{bureau.org_id}/forms/{form_id}/rounds", expect=(201,), json={
            "audience": {"department_ids": [bureau.bureau_id]}, "respondent_kind": KIND, "opens_at": opens.isoformat(),
            "closes_at": (opens + dt.timedelta(hours=3)).isoformat()})
        async with db.transaction() as tx:
            respondents = list((await tx.session.execute(text("SELECT respondent_id FROM round_respondents WHERE round_id = :r ORDER BY respondent_id LIMIT :n"),
                                                          {"r": round_["id"], "n": rows - have})).scalars())
            params = {"o": bureau.org_id, "r": round_["id"], "v": round_["version_id"], "at": opens + dt.timedelta(minutes=30),
                      "ids": respondents, "by": [bureau.answerers[r][0] for r in respondents]}
            await tx.session.execute(text("""
                INSERT INTO form_submissions (org_id, round_id, respondent_id, client_id, version_id, answers, abnormal, revision, submitted_by,
                                              created_at, updated_at)
                SELECT :o, CAST(:r AS bigint), t.id, 'day-' || CAST(:r AS bigint) || '-' || t.id, :v,
                       jsonb_build_object('temperature', 36.0 + (t.id % 16) / 10.0, 'symptoms', false, 'today', 'school'),
                       CASE WHEN t.id % 16 >= 13 THEN '["temperature"]'::jsonb ELSE '[]'::jsonb END, 1, t.by, :at, :at
                FROM unnest(CAST(:ids AS bigint[]), CAST(:by AS bigint[])) AS t(id, by)"""), params)
            await tx.session.execute(text("UPDATE round_respondents SET submitted = true, abnormal = respondent_id % 16 >= 13 "
                                          "WHERE round_id = :r AND respondent_id = ANY(CAST(:ids AS bigint[]))"), params)
            await tx.session.execute(text("""
                UPDATE round_counts c SET submitted = s.submitted, abnormal = s.abnormal
                FROM (SELECT bucket, count(*) FILTER (WHERE submitted) AS submitted, count(*) FILTER (WHERE abnormal) AS abnormal
                      FROM round_respondents WHERE round_id = :r GROUP BY bucket) s
                WHERE c.round_id = :r AND c.bucket = s.bucket"""), params)
            await tx.session.execute(text("ANALYZE form_submissions"))
        have += len(respondents)
        log(f"exports: the round of {opens.date()} filled with {len(respondents):,} submissions ({have:,} in all)")
    return days


def proc_status_kb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss(pid: int) -> bool:
    """Start the kernel's peak RSS (VmHWM) of the process again from its current RSS (Linux ≥ 4.0: ``clear_refs`` 5)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


async def timed_export(api: Api, node: ServerNode, path: str, out: Path) -> dict:
    """Download an export to ``out``: seconds to its last byte, its size, and the server's RSS before and at its peak."""
    pid = node.process.pid
    before = proc_status_kb(pid, "VmRSS")
    hwm_reset = reset_peak_rss(pid)
    watch = PeakRss(node, every_s=0.02)
    watch.start()
    started = time.perf_counter()
    size = 0
    try:
        async with api.http.get(f"{api.base}/api/v1{path}", headers={"Authorization": f"Bearer {api.token}"},
                                timeout=aiohttp.ClientTimeout(total=None)) as resp:
            if resp.status != 200:
                raise SystemExit(f"export {path}: {resp.status} {(await resp.read())[:300]!r}")
            with out.open("wb") as f:
                async for chunk in resp.content.iter_chunked(1 << 16):
                    f.write(chunk)
                    size += len(chunk)
        seconds = time.perf_counter() - started
    finally:
        watch.stop()
    peak = max(watch.peak // 1024, proc_status_kb(pid, "VmHWM") if hwm_reset else 0)
    return {"s": round(seconds, 2), "mb": round(size / 2**20, 1), "rss_before_mb": round(before / 1024, 1), "rss_peak_mb": round(peak / 1024, 1)}


def xlsx_rows(path: Path) -> int:
    """The data rows of an exported workbook's one sheet, counted by streaming its XML (the header row not counted)."""
    with zipfile.ZipFile(path) as book:
        sheet = next(n for n in book.namelist() if n.startswith("xl/worksheets/sheet"))
        rows, tail = 0, b""
        with book.open(sheet) as xml:
            while chunk := xml.read(1 << 20):
                rows += (tail + chunk).count(b"<row ") - tail.count(b"<row ")
                tail = chunk[-8:]
    return rows - 1


async def exports_part(args, api: Api, db: Database, node: ServerNode, bureau: Bureau, form_id: int, workdir: Path) -> dict:
    days = await fill_earlier_days(api, db, bureau, form_id, args.export_rows)
    today = dt.datetime.now(ZONE).date()
    query = f"/orgs/{bureau.org_id}/forms/{form_id}/export?first_day={today - dt.timedelta(days=days)}&last_day={today}"
    csv_path, xlsx_path = workdir / "export.csv", workdir / "export.xlsx"
    csv = await timed_export(api, node, query + "&format=csv", csv_path)
    with csv_path.open("rb") as f:
        csv_rows = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b"")) - 1
    log(f"exports: CSV of {csv_rows:,} rows, {csv['mb']} MB in {csv['s']} s, server RSS {csv['rss_before_mb']} → peak {csv['rss_peak_mb']} MB")
    xlsx = await timed_export(api, node, query + "&format=xlsx", xlsx_path)
    rows = await asyncio.to_thread(xlsx_rows, xlsx_path)
    log(f"exports: XLSX of {rows:,} rows, {xlsx['mb']} MB in {xlsx['s']} s, server RSS {xlsx['rss_before_mb']} → peak {xlsx['rss_peak_mb']} MB")
    csv_path.unlink()
    xlsx_path.unlink()
    return {"export_rows": csv_rows, "export_xlsx_rows": rows, "export_csv_s": csv["s"], "export_xlsx_s": xlsx["s"],
            "export_csv_mb": csv["mb"], "export_xlsx_mb": xlsx["mb"], "export_rss_mb": max(csv["rss_peak_mb"], xlsx["rss_peak_mb"]),
            "rss_before_exports_mb": csv["rss_before_mb"],  # what the node holds already (after importing the city, say)
            "export_rss_growth_mb": round(max(csv["rss_peak_mb"] - csv["rss_before_mb"], xlsx["rss_peak_mb"] - xlsx["rss_before_mb"]), 1)}


# --- devices: a notice, then a reminder -----------------------------------------------------------------------

REMINDER = b'"event":"form.reminder"'


class Phone(NoticeDevice):
    """A guardian's or a staff member's phone: the notice, acknowledged as the app does (bench/urgent.py), and form reminders."""

    def __init__(self, port: int, token: str, ready: asyncio.Future) -> None:
        super().__init__(port, token, ready)
        self.token = token
        self.reminded_at: float | None = None
        self.reminders = 0

    def on_text(self, payload: bytes, now: float) -> None:
        if REMINDER in payload:
            self.reminders += 1
            self.reminded_at = self.reminded_at or now
        else:
            super().on_text(payload, now)


def phone_worker(port: int, tokens: list[str], concurrency: int, pipe) -> None:
    """One device process (urgent.Devices starts them): connect, then answer ``count``, ``report`` and ``stop``."""
    raise_fd_limit()
    asyncio.run(_phone_worker(port, tokens, concurrency, pipe))


async def _phone_worker(port: int, tokens: list[str], concurrency: int, pipe) -> None:
    loop = asyncio.get_running_loop()
    phones, failures = await connect_all(lambda token, ready: Phone(port, token, ready), tokens, "127.0.0.1", port, concurrency)
    pipe.send({"ready": len(phones), "error": repr(failures[0]) if failures else None})
    commands: asyncio.Queue = asyncio.Queue()
    loop.add_reader(pipe.fileno(), lambda: commands.put_nowait(pipe.recv()))
    while (command := await commands.get()) != "stop":
        if command == "count":
            pipe.send({"received": sum(p.received_at is not None for p in phones), "acked": sum(p.acked for p in phones),
                       "reminded": sum(p.reminded_at is not None for p in phones)})
        else:
            pipe.send({p.token: (p.received_at, p.received_twice, p.reminded_at, p.reminders) for p in phones})
    for p in phones:
        p.transport.close()


async def wait_for_devices(devices: Devices, enough, wait_s: float) -> None:
    """Until ``enough(counts summed over the device processes)`` holds, or ``wait_s`` passed."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        counts = Counter()
        for c in await devices.ask("count"):
            counts.update(c)
        if enough(counts):
            return
        await asyncio.sleep(0.2)


async def device_reports(devices: Devices) -> dict[str, tuple]:
    reports: dict[str, tuple] = {}
    for part in await devices.ask("report"):
        reports |= part
    return reports


def notice_audience(bureau: Bureau) -> dict:
    """Every family and all staff of the bureau."""
    return {"parts": {"families": [bureau.bureau_id], "staff": [bureau.bureau_id]}}


async def notice_part(args, api: Api, db: Database, bureau: Bureau, devices: Devices, device_users: dict[str, int]) -> dict:
    sent_at = time.time()
    notice = await api.call("POST", f"/orgs/{bureau.org_id}/broadcasts", expect=(201,), json={
        "title": "Flu season", "body": "Flu is going round the city's schools: keep a child with a fever at home and tell the class teacher.",
        "recipients": notice_audience(bureau), "policy": NO_ESCALATION})
    send_s = time.time() - sent_at
    async with db.transaction() as tx:
        recipients = set((await tx.session.execute(text("SELECT user_id FROM broadcast_recipients WHERE broadcast_id = :b AND user_id = ANY(CAST(:u AS bigint[]))"),
                                                   {"b": notice["id"], "u": sorted(device_users.values())})).scalars())
    expected = [t for t, u in device_users.items() if u in recipients]
    log(f"notice: {notice['recipient_count']:,} recipients, sent in {send_s:.1f} s; waiting for {len(expected):,} devices")
    await wait_for_devices(devices, lambda c: c["received"] >= len(expected) and c["acked"] >= len(expected), args.notice_wait)
    reports = await device_reports(devices)
    delays = [reports[t][0] - sent_at for t in expected if t in reports and reports[t][0] is not None]
    async with db.transaction() as tx:
        delivered = await tx.session.scalar(text("SELECT count(*) FROM broadcast_recipients WHERE broadcast_id = :b AND stage >= 1"), {"b": notice["id"]})
    log(f"notice: {len(delays):,} devices had it, the last after {max(delays, default=0):.1f} s; {delivered:,} delivered receipts stored")
    return {
        "notice_recipients": notice["recipient_count"],
        "notice_send_s": round(send_s, 2),
        "notice_delivered_s": round(max(delays), 2) if delays else None,
        "notice_delivered_p50_s": pct(delays, 50, 2),
        "notice_devices": len(expected),
        "notice_not_recipients": len(device_users) - len(expected),
        "notice_lost": len(expected) - len(delays),
        "notice_duplicated": sum(1 for r in reports.values() if r[1]),
        "notice_receipts_delivered": delivered,
    }


async def subscribe_browsers(db: Database, push_service, user_ids: list[int]) -> dict[int, int]:
    """Web Push subscriptions of the push service's browsers for these people, as their browsers would have stored them:
    user id -> the browser's index."""
    browsers = await push_service.browsers()
    now = utcnow()
    async with db.transaction() as tx:
        if user_ids:
            await tx.session.execute(insert(PushSubscription), [
                {"user_id": u, "endpoint": b["endpoint"], "p256dh": b["keys"]["p256dh"], "auth": b["keys"]["auth"], "created_at": now}
                for u, b in zip(user_ids, browsers)])
    return {u: i for i, u in enumerate(user_ids)}


async def reminder_part(args, api: Api, db: Database, bureau: Bureau, round_id: int, devices: Devices, device_users: dict[str, int],
                        subscribers: dict[int, int], push_service, sms: FakeProvider) -> dict:
    await api.call("PUT", f"/orgs/{bureau.org_id}/form-policy", json={"reminder_sms": True})
    async with db.transaction() as tx:
        done = set((await tx.session.execute(text("SELECT respondent_id FROM round_respondents WHERE round_id = :r AND submitted"),
                                             {"r": round_id})).scalars())
    owed = {u for r, users in bureau.answerers.items() if r not in done for u in users}  # answer for a child who has not submitted
    connected = set(device_users.values())
    expected = {t for t, u in device_users.items() if u in owed}
    push_expected = {u for u in subscribers if u in owed and u not in connected}
    reminder = await api.call("POST", f"/orgs/{bureau.org_id}/rounds/{round_id}/reminders", json={}, expect=(202,))
    due = dt.datetime.fromisoformat(reminder["due_at"]).timestamp()
    log(f"reminder: due {time.time() - due:+.2f} s ago; {len(expected):,} of {len(connected):,} connected devices answer for a child who has not submitted")
    await wait_for_devices(devices, lambda c: c["reminded"] >= len(expected), args.reminder_wait)
    await asyncio.sleep(1.0)  # anything sent twice, or to someone it should not be, would arrive now
    reports = await device_reports(devices)
    lateness = [reports[t][2] - due for t in expected if t in reports and reports[t][2] is not None]
    wrong = sum(1 for t, r in reports.items() if r[2] is not None and t not in expected)
    twice = sum(1 for r in reports.values() if r[3] > 1)
    log(f"reminder: {len(lateness):,} reminded in the app, p99 {pct(lateness, 99, 2)} s after due; {wrong} who should not be, {twice} twice")

    while (state := next(r for r in await api.call("GET", f"/orgs/{bureau.org_id}/rounds/{round_id}/reminders") if r["id"] == reminder["id"]))["done_at"] is None:
        await asyncio.sleep(0.5)
    sms_expected = state["reminded"] - len(expected) - len(push_expected)
    log(f"reminder: the server told {state['reminded']:,} people; waiting up to {args.outreach_wait:.0f} s for {len(push_expected):,} pushes "
        f"and {sms_expected:,} SMS")
    prefix = f"muster-form-reminder-{reminder['id']}-"

    def texts() -> list:
        return sorted((s for s in sms.sent.values() if s.key.startswith(prefix)), key=lambda s: s.at)

    deadline = time.monotonic() + args.outreach_wait
    while time.monotonic() < deadline:
        arrivals = await push_service.arrivals()
        pushed = [(at, i) for i, messages in enumerate(arrivals) for at, kind in messages if kind == "form.reminder"]
        if len(pushed) >= len(push_expected) and len(texts()) >= sms_expected:
            break
        await asyncio.sleep(1.0)
    arrivals = await push_service.arrivals()
    by_browser = {i: u for u, i in subscribers.items()}
    pushed = sorted((at, by_browser[i]) for i, messages in enumerate(arrivals) for at, kind in messages if kind == "form.reminder")
    sent = texts()
    texted = Counter(int(s.key[len(prefix):]) for s in sent)
    requests = Counter(r["key"] for r in sms.requests if r["answer"] == "ok" and r["key"].startswith(prefix))
    return {
        "reminder_devices": len(expected),
        "reminder_lateness_p50_s": pct(lateness, 50, 2),
        "reminder_lateness_p99_s": pct(lateness, 99, 2),
        "reminder_lateness_max_s": round(max(lateness), 2) if lateness else None,
        "reminder_lost": len(expected) - len(lateness),
        "reminded_submitters": wrong + sum(1 for _, u in pushed if u not in owed) + sum(1 for u in texted if u not in owed or u in connected),
        "reminded_twice": twice + sum(n - 1 for n in Counter(u for _, u in pushed).values()) + sum(n - 1 for n in requests.values() if n > 1),
        "reminder_told": state["reminded"],
        **outreach("push", [at for at, _ in pushed], len(push_expected), due, api_pace=args.forms_push_per_s),
        **outreach("sms", [s.at for s in sent], sms_expected, due, api_pace=args.forms_sms_per_s),
    }


def outreach(channel: str, times: list[float], expected: int, due: float, *, api_pace: float) -> dict:
    """How long a channel took to reach everyone it should after the due time: measured if it did, else estimated from the
    pace it kept (the node's configured pace, ``api_pace``, if it sent too few to tell)."""
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else None
    if expected and len(times) >= expected:
        seconds, estimated = times[-1] - due, False
    elif expected:
        seconds, estimated = (times[0] - due if times else 0.0) + expected / (rate or api_pace), True
    else:
        seconds, estimated = 0.0, False
    return {f"reminder_{channel}_expected": expected, f"reminder_{channel}_sent": len(times), f"reminder_{channel}_per_s": rate and round(rate, 1),
            f"reminder_{channel}_s": round(seconds, 1), f"reminder_{channel}_s_estimated": estimated}


# --- the run --------------------------------------------------------------------------------------------------


def targets(r: dict) -> dict[str, bool]:
    """The issue's targets, for the whole city."""
    def at_most(key: str, limit: float) -> bool:
        return r.get(key) is not None and r[key] <= limit

    return {
        "import_s": at_most("import_s", 60),
        "submissions_per_s": r["submissions_per_s"] >= 1500 and r["load_window_s"] >= 60,
        "submit_p99_ms": at_most("submit_p99_ms", 100),
        "none_lost_or_duplicated": r["lost"] == 0 and r["duplicated"] == 0 and r["wrong_answers"] == 0,
        "dashboard_p95_ms": at_most("dashboard_p95_ms", 100) and r["dashboard_refused"] == 0,
        "missing_list_p95_ms": at_most("missing_list_p95_ms", 100),
        "export_csv_s": at_most("export_csv_s", 30) and r["export_rows"] >= 480_000,
        "export_xlsx_s": at_most("export_xlsx_s", 120) and r["export_xlsx_rows"] == r["export_rows"],
        "export_rss_mb": at_most("export_rss_mb", 200),
        "notice_delivered_s": at_most("notice_delivered_s", 60) and r["notice_devices"] >= 20_000 and r["notice_lost"] == 0,
        "reminder_lateness_p99_s": at_most("reminder_lateness_p99_s", 5) and r["reminder_lost"] == 0,
        "reminders_once_to_non_submitters_only": r["reminded_submitters"] == 0 and r["reminded_twice"] == 0,
    }


async def run(args) -> dict:
    raise_fd_limit()
    load_at_start = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="muster-health-"))
    database, url = await member_bench.create_database(args.postgres)
    sms = FakeProvider()
    await sms.start()
    private, public = vapid_keys()
    push_service = PushService(public, args.push_subscribers)
    node = db = devices = None
    nodes: list[ServerNode] = []
    room = resource.getrlimit(resource.RLIMIT_NOFILE)[1] - FD_HEADROOM  # a node holds its devices' sockets
    node_count = args.nodes or -(-args.devices // room)  # as many as the open-files limit asks for the devices
    result: dict = {"bench": "health", "database": "postgresql", "scale": args.scale, "nodes": node_count}
    settings = dict(notify_provider="twilio", notify_twilio_base_url=sms.url, notify_twilio_account_sid=sms.account_sid,
                    notify_twilio_auth_token=sms.auth_token, notify_from_number="+441632960000", notify_vapid_private_key=private,
                    notify_vapid_public_key=public, notify_push_allow_private="true", notify_sms_per_org_per_day=str(2 * FULL_PEOPLE),
                    forms_push_per_s=str(args.forms_push_per_s), forms_sms_per_s=str(args.forms_sms_per_s))
    if node_count > 1:  # the deployment of deploy/: one Redis bus, one secret key, each node its name
        settings |= {"redis_url": args.redis, "redis_prefix": f"muster-health-{os.getpid()}:", "secret_key": uuid.uuid4().hex * 2}
    try:
        node = ServerNode(workdir / "data", url, node_name="node-1", **settings)
        nodes.append(node)
        await node.wait_ready(180)
        db = Database(url)
        org_id, admin_id = await make_admin(db)
        tokens: dict[int, str] = {}
        await sign_in(db, tokens, [admin_id])
        city = City(args.scale)
        files = write_files(workdir / "city", city, "csv")
        log(f"city: {city.schools:,} schools, {city.staff:,} staff, {city.students:,} children; importing through the API")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=900)) as http:
            api = Api(http, node.url, tokens[admin_id])
            import_s, job = await import_city(api, org_id, files)
            if job["status"] != "done" or job["failed"]:
                raise SystemExit(f"the import ended {job['status']} with {job['failed']} rows refused: {job['errors'][:3]} {job['failure']}")
            bureau = await read_bureau(db, org_id)
            bureau.tokens = tokens
            log(f"import: {import_s:.1f} s, {job['counts']}")
            form = await api.call("POST", f"/orgs/{org_id}/forms", json=HEALTH_FORM, expect=(201,))
            started = time.perf_counter()
            round_ = await api.call("POST", f"/orgs/{org_id}/forms/{form['id']}/rounds", expect=(201,), json={
                "audience": {"department_ids": [bureau.bureau_id]}, "respondent_kind": KIND,
                "closes_at": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=12)).isoformat()})
            round_open_s = time.perf_counter() - started
            log(f"round: {round_['expected']:,} respondents, sent and opened in {round_open_s:.1f} s")
            result |= {"schools": city.schools, "people": len(bureau.families) + len(bureau.staff), "respondents": round_["expected"],
                       "import_s": round(import_s, 1), "import_counts": job["counts"], "round_open_s": round(round_open_s, 2)}
            result |= await submissions_part(args, api, db, node, database, bureau, round_)
            result |= await exports_part(args, api, db, node, bureau, form["id"], workdir)

            rng = random.Random(3)
            people = bureau.families + bureau.staff
            for n in range(2, node_count + 1):  # nodes for the devices: the same database, bus, key and files
                nodes.append(ServerNode(workdir / "data", url, log_name=f"server-{n}.log", node_name=f"node-{n}", **settings))
                await nodes[-1].wait_ready(180)
            if args.devices > room * len(nodes):
                log(f"devices: the open-files limit ({room + FD_HEADROOM:,} a process, and no privilege to raise it) lets {len(nodes)} node(s) "
                    f"hold {room * len(nodes):,} devices, not {args.devices:,}")
            chosen = rng.sample(people, min(args.devices, len(people), room * len(nodes)))
            await sign_in(db, tokens, chosen)
            away = sorted(set(people) - set(chosen))
            subscribers = await subscribe_browsers(db, push_service, rng.sample(away, min(args.push_subscribers, len(away))))
            procs = -(-max(args.device_procs, len(nodes)) // len(nodes)) * len(nodes)  # the same number on each node
            log(f"devices: connecting {len(chosen):,} over {procs} processes to {len(nodes)} node(s)")
            started = time.perf_counter()
            devices = Devices([n.port for n in nodes], [tokens[u] for u in chosen], procs, args.connect_concurrency, worker=phone_worker)
            ready = await devices.ask()
            connect_s = time.perf_counter() - started
            errors = [c["error"] for c in ready if c["error"]]
            result |= {"devices": sum(c["ready"] for c in ready), "devices_wanted": args.devices}
            log(f"devices: {result['devices']:,} ready in {connect_s:.1f} s" + (f"; e.g. {errors[0]}" if errors else ""))
            device_users = {tokens[u]: u for u in chosen}
            result["devices_connect_s"] = round(connect_s, 1)
            result |= await notice_part(args, api, db, bureau, devices, device_users)
            result |= await reminder_part(args, api, db, bureau, round_["id"], devices, device_users, subscribers, push_service, sms)
    finally:
        if devices is not None:
            devices.stop()
        push_service.stop()
        for running in nodes:
            running.stop()
        if db is not None:
            await db.close()
        await sms.stop()
        await member_bench.drop_database(args.postgres, database)
        for n, name in enumerate(["server.log"] + [f"server-{n}.log" for n in range(2, len(nodes) + 1)], 1):
            kept = Path(tempfile.gettempdir()) / f"muster-health-server-{os.getpid()}{'' if n == 1 else f'-{n}'}.log"
            with contextlib.suppress(OSError):
                shutil.copyfile(workdir / name, kept)
                log(f"node {n}'s log: {kept}")
        shutil.rmtree(workdir, ignore_errors=True)
    result |= {"cpus": os.cpu_count(), "load_avg": [round(x, 1) for x in os.getloadavg()], "load_avg_at_start": [round(x, 1) for x in load_at_start]}
    result["targets"] = targets(result)
    return result


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--scale", type=float, default=1.0, help="a share of the city (default 1: 1,300 schools, 480,000 people)")
    parser.add_argument("--rate", type=float, default=1500, help="submissions a second (default 1500)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of submissions (default 60)")
    parser.add_argument("--invalid-every", type=int, default=100, help="one request out of range per this many submissions (0: none)")
    parser.add_argument("--load-procs", type=int, default=2, help="processes sending the submissions (default 2)")
    parser.add_argument("--load-conns", type=int, default=64, help="keep-alive connections of each load process (default 64)")
    parser.add_argument("--give-up-s", type=float, default=30, help="stop sending once a request waits this long for a connection (default 30)")
    parser.add_argument("--resubmit", type=int, default=1000, help="stored submissions sent again, to be answered 200 with the same one")
    parser.add_argument("--resubmit-rate", type=float, default=200, help="their pace, a second")
    parser.add_argument("--dashboard-every-s", type=float, default=0.5, help="a round of the five dashboard calls this often during the load (default 0.5)")
    parser.add_argument("--export-rows", type=int, help="submissions of the form exported (default 480,000 x scale)")
    parser.add_argument("--devices", type=int, help="devices connected (default 20,000 x scale)")
    parser.add_argument("--device-procs", type=int, default=2, help="processes holding the devices' sockets (default 2)")
    parser.add_argument("--connect-concurrency", type=int, default=200, help="devices connecting at once")
    parser.add_argument("--nodes", type=int, help="server nodes (PostgreSQL, Redis bus); the devices are split over them; the first "
                        "serves everything else. Default: as many as the open-files limit asks for --devices (one process holds one "
                        "socket a file)")
    parser.add_argument("--redis", default=os.environ.get("MUSTER_TEST_REDIS", "redis://127.0.0.1:6379/0"),
                        help="the Redis of the bus between nodes, when there are several")
    parser.add_argument("--push-subscribers", type=int, help="people not connected with a Web Push subscription (default 2,000 x scale)")
    parser.add_argument("--forms-push-per-s", type=float, default=200, help="the node's pace of reminder pushes (MUSTER_FORMS_PUSH_PER_S, default 200)")
    parser.add_argument("--forms-sms-per-s", type=float, default=10, help="the node's pace of reminder SMS (MUSTER_FORMS_SMS_PER_S, default 10)")
    parser.add_argument("--notice-wait", type=float, default=180, help="seconds to wait for every device to have the notice")
    parser.add_argument("--reminder-wait", type=float, default=60, help="seconds to wait for every device owed a reminder to have it")
    parser.add_argument("--outreach-wait", type=float, default=120, help="seconds to watch reminder pushes and SMS going out")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="an admin URL of the PostgreSQL server (a database is made there and dropped)")
    args = parser.parse_args(argv)
    for name, full in (("export_rows", 480_000), ("devices", 20_000), ("push_subscribers", 2_000)):
        if getattr(args, name) is None:
            setattr(args, name, max(1, round(full * args.scale)))
    return args


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(parse_args()))), flush=True)
