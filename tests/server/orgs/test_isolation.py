"""Tenant isolation, proven route by route: a member of organisation A gets 404 for everything of B.

The test builds the real app, gives organisation B one of every kind of
resource, then walks EVERY route of ``app.router`` whose path has parameters.
Each is called as alice (owner of A, not in B) with every method it has and a
plausible JSON body, twice:

* ``{org_id}`` = B and every other parameter = B's ids: must be 404 (B does not exist for alice);
* ``{org_id}`` = A (where alice may do anything) and the other parameters = B's ids:
  must be 404 too, so an id of another organisation is never reachable through one's own.

A route with a path parameter the test cannot fill FAILS the test: add to
``B_RESOURCES`` below a function that creates B's thing (through the API as
bob, B's owner, where there is one) and returns its id. A route not called by
people (a provider's callback, say) goes in ``NOT_FOR_PEOPLE`` with the reason;
it must still refuse alice with a 4xx.
"""
from __future__ import annotations

import base64
import datetime as dt
import io
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from PIL import Image
from pydantic import BaseModel
from sqlalchemy import select

from server.accounts.auth import hash_token
from server.accounts.models import DeviceSession, GuestInvite, TrustedDevice
from server.db import Database, utcnow
from server.orgs.models import Membership
from tests.factories import Person
from tests.server.orgs.conftest import OrgFixture, join, new_org, ok, signed_in

PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")


@dataclass
class OrgB:
    """Organisation B and the ids of its things, made once per test by the functions in B_RESOURCES."""

    client: TestClient
    db: Database
    org: OrgFixture  # bob owns it
    member: Person  # carol, a plain member of B
    ids: dict[str, int | str] = field(default_factory=dict)

    @property
    def bob(self) -> dict[str, str]:
        return self.org.owner.headers

    async def id_of(self, param: str) -> int | str:
        if param not in self.ids:
            self.ids[param] = await B_RESOURCES[param](self)
        return self.ids[param]

    async def fill(self, param: str) -> int | str:
        """B's id for a path parameter; 1 for a parameter only NOT_FOR_PEOPLE routes have."""
        if param == "org_id":
            return self.org.id
        return await self.id_of(param) if param in B_RESOURCES else 1


async def _department(b: OrgB) -> int:
    return (await ok(await b.client.post(b.org.url("/departments"), json={"name": "B's department"}, headers=b.bob), 201))["id"]


async def _member(b: OrgB) -> int:
    async with b.db.transaction(org_id=b.org.id) as tx:
        return await tx.session.scalar(select(Membership.id).where(Membership.user_id == b.member.id))


async def _guest_invite(b: OrgB) -> int:
    # Stored directly: which things guests can be invited to is up to capabilities, and none is needed for the row.
    async with b.db.transaction(org_id=b.org.id) as tx:
        invite = GuestInvite(
            org_id=b.org.id, token_hash=hash_token("b-invite"), scope_kind="isolation-probe", scope_id=1,
            created_by=b.org.owner.id, expires_at=utcnow() + dt.timedelta(days=1),
        )
        tx.session.add(invite)
        await tx.session.flush()
        return invite.id


async def _invitation(b: OrgB) -> int:
    """B invites an account of someone else (not alice: she could rightly answer an invitation to herself)."""
    invitee = await signed_in(b.db)
    body = {"display_name": "Invited to B", "email": invitee.email}
    return (await ok(await b.client.post(b.org.url("/invitations"), json=body, headers=b.bob), 201))["id"]


async def _device_session(b: OrgB) -> int:
    async with b.db.transaction() as tx:
        return await tx.session.scalar(select(DeviceSession.id).where(DeviceSession.user_id == b.org.owner.id))


async def _trusted_device(b: OrgB) -> int:
    # Stored directly: remembering a device through the API needs a sign-in with a TOTP code.
    async with b.db.transaction() as tx:
        row = TrustedDevice(user_id=b.org.owner.id, token_hash=hash_token("isolation-trusted-device"), expires_at=utcnow() + dt.timedelta(days=1))
        tx.session.add(row)
        await tx.session.flush()
        return row.id


async def _group(b: OrgB) -> int:
    body = {"name": "B's group", "member_ids": [b.member.id]}
    return (await ok(await b.client.post(b.org.url("/groups"), json=body, headers=b.bob), 201))["id"]


async def _group_message_seq(b: OrgB) -> int:
    """An announcement: a message of B's group that is pinned too, so one ``seq`` serves both kinds of route."""
    url = b.org.url(f"/groups/{await b.id_of('group_id')}/announcements")
    return (await ok(await b.client.post(url, json={"body": "pinned in B"}, headers=b.bob), 201))["message"]["seq"]


async def _user(b: OrgB) -> int:
    return b.member.id


async def _tus_upload(b: OrgB, length: int, filename: str = "b.txt", filetype: str = "text/plain") -> str:
    """bob starts a tus upload of ``length`` bytes into B's group; returns the upload's id."""
    metadata = ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in (("filename", filename), ("filetype", filetype)))
    headers = b.bob | {"Tus-Resumable": "1.0.0", "Upload-Length": str(length), "Upload-Metadata": metadata}
    async with b.client.post(b.org.url(f"/groups/{await b.id_of('group_id')}/uploads"), headers=headers) as resp:
        assert resp.status == 201, await resp.text()
        return resp.headers["Location"].rsplit("/", 1)[1]


async def _upload(b: OrgB) -> str:
    return await _tus_upload(b, 5)


def _tiny_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (2, 2), "red").save(out, "PNG")
    return out.getvalue()


async def _group_file(b: OrgB) -> int:
    """An image, so that its thumbnail exists too."""
    image = _tiny_png()
    upload_id = await _tus_upload(b, len(image), "b.png", "image/png")
    headers = b.bob | {"Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    async with b.client.patch(f"/api/v1/uploads/{upload_id}", data=image, headers=headers) as resp:
        assert resp.status == 204, await resp.text()
        return int(resp.headers["Muster-File-Id"])


async def _broadcast(b: OrgB) -> int:
    body = {"title": "B's broadcast", "body": "for B only", "recipients": {"user_ids": [b.member.id, b.org.owner.id]}}
    return (await ok(await b.client.post(b.org.url("/broadcasts"), json=body, headers=b.bob), 201))["id"]


async def _meeting(b: OrgB) -> int:
    return (await ok(await b.client.post(b.org.url("/meetings"), json={"title": "B's meeting"}, headers=b.bob), 201))["id"]


async def _recording(b: OrgB) -> int:
    from server.appkeys import SETTINGS
    from tests.rooms.recordings import stand_in_recording

    return (await stand_in_recording(b.db, b.client.app[SETTINGS], b.org.id, await b.id_of("meeting_id"))).id


async def _stream(b: OrgB) -> int:
    """A livestream from a group of B's, started by bob (its owner), open to guests."""
    group = await ok(await b.client.post(b.org.url("/groups"), json={"name": "B's class", "member_ids": [b.member.id]}, headers=b.bob), 201)
    body = {"group_id": group["id"], "title": "B's stream", "allow_guests": True}
    return (await ok(await b.client.post(b.org.url("/streams"), json=body, headers=b.bob), 201))["id"]


async def _chat_message(b: OrgB) -> int:
    """A chat message bob wrote in B's stream."""
    url = f"/api/v1/live/{await b.id_of('stream_id')}/chat"
    return (await ok(await b.client.post(url, json={"text": "B's message"}, headers=b.bob), 201))["id"]


async def _whep_session(b: OrgB) -> str:
    """Carol (a member of B's class) watching B's stream over WHEP: her session's resource id (an aiortc recvonly offer)."""
    from aiortc import RTCPeerConnection

    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    headers = b.member.headers | {"Content-Type": "application/sdp"}
    resp = await b.client.post(f"/whep/{await b.id_of('stream_id')}", data=pc.localDescription.sdp.encode(), headers=headers)
    assert resp.status == 201, await resp.text()
    await pc.close()  # the SFU keeps the session until it times out or the app stops
    return resp.headers["Location"].rsplit("/", 1)[1]


async def _public_link(b: OrgB) -> int:
    url = b.org.url(f"/streams/{await b.id_of('stream_id')}/public-links")
    return (await ok(await b.client.post(url, json={}, headers=b.bob), 201))["public_link_id"]


async def _contact_link(b: OrgB) -> int:
    return (await ok(await b.client.post(b.org.url("/contact-links"), json={}, headers=b.bob), 201))["id"]


async def _contact(b: OrgB) -> int:
    """Someone outside B who became bob's external contact."""
    link = await ok(await b.client.post(b.org.url("/contact-links"), json={}, headers=b.bob), 201)
    parent = await signed_in(b.db)
    joined = await ok(await b.client.post("/api/v1/contact-links/accept", json={"token": link["token"]}, headers=parent.headers))
    return joined["contact_id"]


async def _form(b: OrgB) -> int:
    body = {"title": "B's form", "definition": {"fields": [{"name": "well", "type": "yes_no", "label": "Are you well?"}]}}
    return (await ok(await b.client.post(b.org.url("/forms"), json=body, headers=b.bob), 201))["id"]


async def _form_version(b: OrgB) -> int:
    await b.id_of("form_id")
    return 1  # a form's first version is number 1 (numbers count per form)
async def _school_unit(b: OrgB) -> int:
    """B's bureau, a school in it and a class in the school (the class's id)."""
    async def unit(kind: str, parent_id: int | None) -> int:
        body = {"kind": kind, "name": f"B's {kind}", "parent_id": parent_id}
        return (await ok(await b.client.post(b.org.url("/schools/units"), json=body, headers=b.bob), 201))["id"]

    return await unit("class", await unit("school", await unit("bureau", None)))


async def _student(b: OrgB) -> int:
    body = {"external_id": "B-1", "name": "B's child", "class_id": await b.id_of("unit_id"), "guardians": [{"name": "B's parent", "phone": "+8613900000999"}]}
    return (await ok(await b.client.post(b.org.url("/schools/students"), json=body, headers=b.bob), 201))["id"]


async def _guardian(b: OrgB) -> int:
    child = await ok(await b.client.get(b.org.url(f"/schools/students/{await b.id_of('student_id')}"), headers=b.bob))
    return child["guardians"][0]["id"]


async def _unit_role(b: OrgB) -> int:
    body = {"user_id": b.member.id, "role": "head_teacher"}
    return (await ok(await b.client.post(b.org.url(f"/schools/units/{await b.id_of('unit_id')}/roles"), json=body, headers=b.bob), 201))["id"]


async def _import_job(b: OrgB) -> int:
    # Stored directly: the API runs an import in the background (tests/schools/test_import.py).
    from schools.models import SchoolJob

    async with b.db.transaction(org_id=b.org.id) as tx:
        job = SchoolJob(org_id=b.org.id, status="done", files=["b.csv"], report={})
        tx.session.add(job)
        await tx.session.flush()
        return job.id


async def _rollover_job(b: OrgB) -> int:
    # Stored directly, as an import's: the API runs a rollover in the background (tests/schools/test_rollover.py).
    from schools.models import SchoolJob

    async with b.db.transaction(org_id=b.org.id) as tx:
        job = SchoolJob(org_id=b.org.id, kind="rollover", unit_id=await b.id_of("unit_id"), status="done", report={"label": "2025"})
        tx.session.add(job)
        await tx.session.flush()
        return job.id


async def _sign_in_link(b: OrgB) -> int:
    """A family link of B's child (schools/family_links.py): a sign-in link of B."""
    url = b.org.url(f"/schools/units/{await b.id_of('unit_id')}/family-links")
    sheet = await ok(await b.client.post(url, json={"student_ids": [await b.id_of("student_id")]}, headers=b.bob), 201)
    return sheet["links"][0]["link_id"]


async def _round(b: OrgB) -> int:
    """A round of B's form to carol, who answered it."""
    closes_at = (utcnow() + dt.timedelta(hours=1)).isoformat()
    body = {"audience": {"user_ids": [b.member.id]}, "closes_at": closes_at}
    return (await ok(await b.client.post(b.org.url(f"/forms/{await b.id_of('form_id')}/rounds"), json=body, headers=b.bob), 201))["id"]


async def _schedule(b: OrgB) -> int:
    body = {"audience": {"everyone": True}, "days": "every_day", "open_time": "07:00", "open_minutes": 60, "starts_on": "2030-01-01"}
    return (await ok(await b.client.post(b.org.url(f"/forms/{await b.id_of('form_id')}/schedules"), json=body, headers=b.bob), 201))["id"]


async def _submission(b: OrgB) -> int:
    body = {"client_id": "isolation-probe", "answers": {"well": True}}
    url = b.org.url(f"/rounds/{await b.id_of('round_id')}/submissions")
    return (await ok(await b.client.post(url, json=body, headers=b.member.headers), 201))["id"]


async def _clinic(b: OrgB) -> int:
    body = {"name": "B's clinic", "doctor_ids": [b.org.owner.id]}
    return (await ok(await b.client.post(b.org.url("/clinics"), json=body, headers=b.bob), 201))["id"]


async def _consultation(b: OrgB) -> int:
    from tests.rooms.consultations.rows import stand_in_consultation

    return await stand_in_consultation(b.db, b.org.id, int(await b.id_of("clinic_id")))


# Path parameter → a function that creates organisation B's thing and returns its id.
# Every path parameter of every route must be here (or the route in NOT_FOR_PEOPLE).
B_RESOURCES: dict[str, Callable[[OrgB], Awaitable[int | str]]] = {
    "department_id": _department,
    "member_id": _member,
    "invite_id": _guest_invite,
    "invitation_id": _invitation,
    "session_id": _device_session,
    "trusted_device_id": _trusted_device,
    "user_id": _user,
    "group_id": _group,
    "seq": _group_message_seq,
    "upload_id": _upload,
    "file_id": _group_file,
    "broadcast_id": _broadcast,
    "meeting_id": _meeting,
    "recording_id": _recording,
    "stream_id": _stream,
    "message_id": _chat_message,
    "resource_id": _whep_session,  # the WHIP routes that also have one are NOT_FOR_PEOPLE
    "public_link_id": _public_link,
    "link_id": _contact_link,
    "contact_id": _contact,
    "form_id": _form,
    "version_number": _form_version,
    "unit_id": _school_unit,
    "student_id": _student,
    "guardian_id": _guardian,
    "role_id": _unit_role,
    "job_id": _import_job,
    "rollover_id": _rollover_job,
    "sign_in_link_id": _sign_in_link,
    "round_id": _round,
    "schedule_id": _schedule,
    "submission_id": _submission,
    "clinic_id": _clinic,
    "consultation_id": _consultation,
}

# Routes that people do not call, with why; alice must still get a 4xx from them.
NOT_FOR_PEOPLE: dict[str, str] = {
    "/api/v1/notify/callbacks/{token}/status": "the SMS/phone provider calls it, believed only with its signature over the unguessable URL",
    "/api/v1/notify/callbacks/{token}/gather": "the SMS/phone provider calls it, believed only with its signature over the unguessable URL",
    "/whip/{stream_id}": "WHIP ingest: OBS or a WHIP client calls it with the stream's own key (401 without it, tests/rooms/live/test_whip.py)",
    "/whip/{stream_id}/{resource_id}": "a WHIP session: called with the stream's own key (401 without it, tests/rooms/live/test_whip.py)",
    "/hls/{stream_id}/{token}/live.m3u8": "the HLS origin: players and caches call it with the stream's rotating token, handed out by "
                                          "GET /api/v1/live/{stream_id}/hls to those who may watch (404 without it, tests/rooms/live/test_hls.py)",
    "/hls/{stream_id}/{token}/{name}": "the HLS origin's segments and replay: the stream's rotating token, as for live.m3u8",
}

# Pages anyone holding the link may open (guests too): the same static file for every value, no data;
# the API the page calls checks the link. They are left out of the matrix.
OPEN_PAGES: dict[str, str] = {
    "/m/{link_token}": "the meeting page; POST /api/v1/meetings/join checks the link token and passcode",
    "/c/{link_token}": "the contact link page; POST /api/v1/contact-links/* check the token",
    "/consult/{link_token}": "a clinic's patient page; POST /api/v1/clinic-links/* check the link token",
    "/forms/{form_id}/rounds": "sending a form; the rounds API checks the form",
    "/rounds/{round_id}": "a round's dashboard; GET .../rounds/{round_id}/dashboard checks the round",
    "/f/{round_id}": "the fill page; GET .../rounds/{round_id} checks the round",
    "/live/{stream_id}": "a livestream's watch page; GET /api/v1/live/{stream_id} and WHEP check the stream",
    "/live/{stream_id}/studio": "a livestream's studio; GET /api/v1/live/{stream_id} and the streams API check the stream",
}

# Routes only the thing's own guest session reaches: B's owner reads them as missing too (still 404 for alice).
ONLY_ITS_GUEST: dict[str, str] = {
    "/api/v1/orgs/{org_id}/consultations/{consultation_id}/patient": "a consultation as its patient sees it (tests/rooms/consultations/)",
}

# Answers that are the same for any value and carry no data, by method and path: left out of the matrix.
SAME_FOR_ANY_ID: dict[str, str] = {
    "OPTIONS /whip/{stream_id}": "WHIP's CORS preflight: an empty 204 for any id, no key needed (RFC 9725 4.5)",
    "OPTIONS /whip/{stream_id}/{resource_id}": "WHIP's CORS preflight: an empty 204 for any id, no key needed (RFC 9725 4.5)",
    "OPTIONS /whep/{stream_id}": "WHEP's CORS preflight: an empty 204 for any id, no session needed",
    "OPTIONS /whep/{stream_id}/{resource_id}": "WHEP's CORS preflight: an empty 204 for any id, no session needed",
}

# Headers a well-behaved client sends, so a protocol check cannot answer before the lookup does (tus uploads).
PLAUSIBLE_HEADERS = {"Tus-Resumable": "1.0.0", "Upload-Length": "1", "Upload-Offset": "0", "Upload-Metadata": "filename cHJvYmUudHh0"}



@dataclass(frozen=True)
class RawBody:
    """A non-JSON body, sent as is with its content type."""

    data: bytes
    content_type: str


# Bodies for routes whose request model the generic sampler below cannot satisfy, or that take
# no JSON at all: (method, path) → a JSON-able value or a RawBody.
PLAUSIBLE_BODIES: dict[tuple[str, str], Any] = {
    ("PATCH", "/api/v1/uploads/{upload_id}"): RawBody(b"x", "application/offset+octet-stream"),
    # One target of the two the model takes (a group or a person), as a sample of the schema alone would give neither.
    ("POST", "/api/v1/orgs/{org_id}/groups/{group_id}/messages/{seq}/forward"): {"group_id": 1},
    ("POST", "/api/v1/orgs/{org_id}/forms/{form_id}/rounds"): {"audience": {"everyone": True}, "closes_at": "2030-01-01T00:00:00Z"},
    ("POST", "/api/v1/orgs/{org_id}/forms/{form_id}/schedules"): {
        "audience": {"everyone": True}, "days": "every_day", "open_time": "07:00", "open_minutes": 60, "starts_on": "2030-01-01",
    },
    ("POST", "/api/v1/orgs/{org_id}/rounds/{round_id}/submissions"): {"client_id": "probe-client", "answers": {}},
}


def path_params(route: web.AbstractRoute) -> list[str]:
    resource = route.resource
    return PARAM.findall(resource.canonical) if resource is not None else []


def plausible_body(route: web.AbstractRoute) -> Any:
    """A body the route's request model accepts, so validation cannot answer before the lookup does."""
    canonical = route.resource.canonical
    if (route.method, canonical) in PLAUSIBLE_BODIES:
        return PLAUSIBLE_BODIES[(route.method, canonical)]
    spec = getattr(route.handler, "__muster_endpoint__", None)
    model: type[BaseModel] | None = spec.body if spec else None
    if model is None:
        return None
    schema = model.model_json_schema()
    return _sample(schema, schema.get("$defs", {}))


def _sample(schema: dict, defs: dict) -> Any:
    if "$ref" in schema:
        return _sample(defs[schema["$ref"].rsplit("/", 1)[1]], defs)
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return _sample(options[0], defs) if options else None
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object":
        required = schema.get("required", [])
        return {name: _sample(sub, defs) for name, sub in schema.get("properties", {}).items() if name in required}
    if kind == "array":
        return [_sample(schema.get("items", {}), defs) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        if schema.get("format") == "email":
            return "probe@example.org"
        return "probe" + "x" * max(0, schema.get("minLength", 0) - 5)
    if kind == "integer":
        return max(1, schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1)
    if kind == "number":
        return max(1.0, schema.get("minimum", 1.0))
    if kind == "boolean":
        return False
    return None


def parameterised_routes(app: web.Application) -> list[web.AbstractRoute]:
    return [r for r in app.router.routes() if path_params(r) and r.resource.canonical not in OPEN_PAGES
            and f"{r.method} {r.resource.canonical}" not in SAME_FOR_ANY_ID]


async def call(client: TestClient, route: web.AbstractRoute, params: dict[str, int | str], headers: dict[str, str]) -> int:
    url = route.resource.url_for(**{k: str(v) for k, v in params.items()})
    body = plausible_body(route)
    kwargs: dict[str, Any] = {"headers": PLAUSIBLE_HEADERS | headers}
    if isinstance(body, RawBody):
        kwargs["data"] = body.data
        kwargs["headers"] = kwargs["headers"] | {"Content-Type": body.content_type}
    elif body is not None:
        kwargs["json"] = body
    async with client.request(route.method, str(url), **kwargs) as resp:
        await resp.read()
        return resp.status


@pytest.fixture
async def alice_and_b(client, db) -> tuple[OrgFixture, OrgB]:
    a = await new_org(db, "Alice")
    b = await new_org(db, "Bob")
    carol = await join(db, b.id, name="Carol")
    return a, OrgB(client, db, b, carol)


async def test_every_route_with_ids_answers_404_for_another_organisations_things(app, client, alice_and_b):
    a, b = alice_and_b
    routes = parameterised_routes(app)
    unknown: dict[str, list[str]] = {}
    for route in routes:
        if route.resource.canonical in NOT_FOR_PEOPLE:
            continue
        for param in path_params(route):
            if param != "org_id" and param not in B_RESOURCES:
                unknown.setdefault(param, []).append(f"{route.method} {route.resource.canonical}")
    assert not unknown, (
        "these routes have path parameters the isolation matrix cannot fill:\n"
        + "\n".join(f"  {{{p}}}: {', '.join(r)}" for p, r in unknown.items())
        + "\nadd each to B_RESOURCES in tests/server/orgs/test_isolation.py: a function that creates "
        "organisation B's thing and returns its id"
    )

    leaks = []
    calls = 0
    for route in routes:
        canonical = route.resource.canonical
        names = path_params(route)
        b_ids = {p: await b.fill(p) for p in names}
        variants = [("B's org", b_ids)]
        if "org_id" in names and len(names) > 1:
            variants.append(("alice's own org", b_ids | {"org_id": a.id}))
        for variant, params in variants:
            status = await call(b.client, route, params, a.owner.headers)
            calls += 1
            refused = 400 <= status < 500 if canonical in NOT_FOR_PEOPLE else status == 404
            if not refused:
                leaks.append(f"{route.method} {canonical} with {variant} and B's ids {params}: {status}")
    assert not leaks, (
        "as alice (owner of A, not in B), these did not answer 404 for organisation B's ids; another "
        "organisation's id must read exactly like one that does not exist:\n" + "\n".join(leaks)
    )
    assert calls >= len(routes)
    # The matrix is not vacuous: the routes this package owns are in it.
    walked = {r.resource.canonical for r in routes}
    assert {"/api/v1/orgs/{org_id}/members/{member_id}", "/api/v1/orgs/{org_id}/departments/{department_id}", "/api/v1/orgs/{org_id}/imports"} <= walked


async def test_b_resources_are_real_and_reachable_by_bob(app, client, alice_and_b):
    """Guards the matrix against false 404s: every id it uses exists, for B's own owner."""
    _, b = alice_and_b
    for route in parameterised_routes(app):
        ids = [p for p in path_params(route) if p != "org_id"]
        if route.method != "GET" or route.resource.canonical in NOT_FOR_PEOPLE | ONLY_ITS_GUEST.keys() or not ids or not set(ids) <= B_RESOURCES.keys():
            continue
        params = {p: await b.fill(p) for p in path_params(route)}
        status = await call(b.client, route, params, b.bob)
        assert status == 200, f"bob got {status} from GET {route.resource.canonical} with {params}"
