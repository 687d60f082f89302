"""Online consultations through the API: a clinic, patients queued by SMS code, doctors calling them, the export.

The SMS provider is the fake Twilio (tests/notify/fake_provider.py); codes are read off the SMS it received.
"""
from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import re

from sqlalchemy import select, update

from rooms.models import Consultation
from server.db import utcnow
from tests.rooms.meetings.test_signalling import Attendee
from tests.server.orgs.test_isolation import PLAUSIBLE_HEADERS, RawBody, _sample, plausible_body
from tests.server.accounts.phones import code_in, next_sms, sms_to
from tests.server.orgs.conftest import join, new_org, ok

PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")
OWN_ACCOUNT = {"GET /api/v1/me", "PATCH /api/v1/me", "GET /api/v1/orgs/{org_id}"}  # their own name and language; the hospital's name
# What any guest's session gets from the organisation's routes: nothing of it (empty lists), and its face (name, time zone).
SEARCH_FOUND_NOTHING = {"messages": []}
EMPTY_FOR_GUESTS = {"GET /api/v1/orgs/{org_id}/groups": [], "GET /api/v1/orgs/{org_id}/mentions": {"total": 0, "groups": []},
                    "GET /api/v1/orgs/{org_id}/broadcasts/received": [], "GET /api/v1/orgs/{org_id}/group-messages/search": SEARCH_FOUND_NOTHING}
OWN_SESSION = {("POST", "/api/v1/auth/logout")}  # the patient may end their own session: walked last, below
PHONES = [f"+861390000{n:04d}" for n in range(1, 20)]


async def hospital(client, db, doctors: int = 1):
    """An organisation (its owner is the hospital's admin), ``doctors`` members who serve its clinic, and the clinic's link token."""
    org = await new_org(db, "Hui Hospital")
    staff = [await join(db, org.id, "member", f"Dr {name}") for name in ("Deng", "Du", "Dai")[:doctors]]
    clinic = await ok(await client.post(org.url("/clinics"), json={"name": "Fever clinic", "doctor_ids": [d.id for d in staff]},
                                        headers=org.owner.headers), 201)
    return org, staff, clinic, clinic["link_url"].rsplit("/consult/", 1)[1]


async def queue(client, sms, link_token: str, phone: str, name: str) -> tuple[dict, dict]:
    """A patient asks for a code, reads it off the SMS and queues: their session's headers and their place."""
    already = len(sms_to(sms, phone))
    await ok(await client.post("/api/v1/clinic-links/code", json={"link_token": link_token, "phone": phone}), 202)
    code = code_in(await next_sms(sms, phone, already))
    body = await ok(await client.post("/api/v1/clinic-links/queue", json={"link_token": link_token, "phone": phone, "code": code, "name": name}), 201)
    return {"Authorization": f"Bearer {body['token']}"}, body["consultation"]


def own(org, consultation_id: int, tail: str = "") -> str:
    return org.url(f"/consultations/{consultation_id}/patient{tail}")


async def socket_of(client, headers) -> Attendee:
    ws = await client.session.ws_connect(client.make_url("/api/v1/ws"))
    await ws.send_str(json.dumps({"type": "hello", "token": headers["Authorization"].removeprefix("Bearer "), "user_seq": 0}))
    attendee = Attendee(ws)
    await attendee.next("ready")
    return attendee


async def event(attendee: Attendee, name: str) -> dict:
    return (await attendee.next("event", event=name))["data"]


async def test_a_patient_queues_by_code_is_called_meets_the_doctor_and_the_row_is_exported(client, db, sms):
    org, (doctor,), clinic, link = await hospital(client, db)
    assert await ok(await client.post("/api/v1/clinic-links/clinic", json={"link_token": link})) == {"name": "Fever clinic"}

    ann, ann_place = await queue(client, sms, link, PHONES[0], "Ann")
    bob, bob_place = await queue(client, sms, link, PHONES[1], "=HYPERLINK(\"http://evil\")")
    assert (ann_place["status"], ann_place["position"], bob_place["position"]) == ("waiting", 1, 2)
    assert bob_place["wait_s"] == 2 * ann_place["wait_s"]  # one doctor: two rounds of the default length
    bob_socket = await socket_of(client, bob)
    await bob_socket.send({"type": "consultation.here"})

    listed = await ok(await client.get(org.url(f"/clinics/{clinic['id']}/queue"), headers=doctor.headers))
    assert [e["patient_name"] for e in listed["waiting"]] == ["Ann", "=HYPERLINK(\"http://evil\")"] and listed["mine"] is None

    called = await ok(await client.post(org.url(f"/clinics/{clinic['id']}/call-next"), headers=doctor.headers))
    assert (called["id"], called["status"], called["doctor_id"]) == (ann_place["id"], "called", doctor.id)
    assert (await event(bob_socket, "consultation.queue"))["position"] == 1  # Bob moved up, live
    again = await client.post(org.url(f"/clinics/{clinic['id']}/call-next"), headers=doctor.headers)
    assert again.status == 409 and (await again.json())["error"]["code"] == "consultation_open"

    view = await ok(await client.get(own(org, ann_place["id"]), headers=ann))
    assert view["status"] == "called"
    joined = await ok(await client.post(own(org, ann_place["id"], "/join"), headers=ann))
    assert joined["link_path"] == called["meeting_path"] and joined["role"] == "guest"
    host = await ok(await client.post("/api/v1/meetings/join", json={"link_token": called["meeting_path"].rsplit("/", 1)[1]}, headers=doctor.headers))
    assert host["role"] == "host"
    stranger = await client.post("/api/v1/meetings/join", json={"link_token": called["meeting_path"].rsplit("/", 1)[1], "display_name": "Eve"})
    assert stranger.status == 403  # the meeting's passcode is nobody's: only the doctor and the patient's ticket get in

    ended = await ok(await client.post(org.url(f"/consultations/{ann_place['id']}/end"), json={"notes": "=1+1 rest, fluids"}, headers=doctor.headers))
    assert ended["status"] == "ended" and ended["notes"] == "=1+1 rest, fluids"
    assert (await client.get(own(org, ann_place["id"]), headers=ann)).status == 401  # the patient's session ended with it

    resp = await client.get(org.url(f"/clinics/{clinic['id']}/consultations?format=csv"), headers=org.owner.headers)
    assert resp.status == 200
    rows = list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    assert rows[0] == ["id", "status", "doctor", "patient", "phone", "queued_at", "called_at", "started_at", "ended_at", "duration_s", "notes"]
    by_id = {row[0]: row for row in rows[1:]}
    ann_row, bob_row = by_id[str(ann_place["id"])], by_id[str(bob_place["id"])]
    assert ann_row[1:5] == ["ended", "Dr Deng", "Ann", PHONES[0]] and ann_row[9].isdigit() and ann_row[10] == "'=1+1 rest, fluids"
    assert bob_row[3] == "'=HYPERLINK(\"http://evil\")" and bob_row[1] == "waiting"  # formulas neutralised
    xlsx = await client.get(org.url(f"/clinics/{clinic['id']}/consultations?format=xlsx"), headers=org.owner.headers)
    assert xlsx.status == 200 and (await xlsx.read())[:2] == b"PK"
    assert (await client.get(org.url(f"/clinics/{clinic['id']}/consultations"), headers=doctor.headers)).status == 403  # admins only
    await bob_socket.ws.close()


async def test_a_wrong_code_or_a_code_of_another_clinic_queues_nobody(client, db, sms):
    org, _, clinic, link = await hospital(client, db)
    wrong = await client.post("/api/v1/clinic-links/queue", json={"link_token": link, "phone": PHONES[2], "code": "000000", "name": "Guess"})
    assert wrong.status == 401 and (await wrong.json())["error"]["field"] == "code"
    other_org, _, _, other_link = await hospital(client, db)
    await ok(await client.post("/api/v1/clinic-links/code", json={"link_token": other_link, "phone": PHONES[3]}), 202)
    code = code_in(await next_sms(sms, PHONES[3]))
    here = await client.post("/api/v1/clinic-links/queue", json={"link_token": link, "phone": PHONES[3], "code": code, "name": "Hop"})
    assert here.status == 401
    bad_link = await client.post("/api/v1/clinic-links/code", json={"link_token": "nope", "phone": PHONES[3]})
    assert bad_link.status == 404 and (await bad_link.json())["error"]["field"] == "link_token"
    async with db.transaction(org_id=org.id) as tx:
        assert (await tx.session.scalars(select(Consultation))).all() == []


async def test_a_patient_reaches_their_own_consultation_only(app, client, db, sms):
    """Another patient's consultation, another clinic's queue, any other route of the app: 404 (or 401/403, never data)."""
    org, (doctor,), clinic, link = await hospital(client, db)
    ann, ann_place = await queue(client, sms, link, PHONES[4], "Ann")
    _, bob_place = await queue(client, sms, link, PHONES[5], "Bob")
    other, _, other_clinic, _ = await hospital(client, db)
    assert (await client.get(own(org, bob_place["id"]), headers=ann)).status == 404
    assert (await client.post(own(org, bob_place["id"], "/join"), headers=ann)).status == 404
    assert (await client.post(own(org, bob_place["id"], "/leave"), headers=ann)).status == 404
    assert (await client.get(own(other, ann_place["id"]), headers=ann)).status == 404  # another organisation
    assert (await client.get(other.url(f"/clinics/{other_clinic['id']}/queue"), headers=ann)).status in (403, 404)
    assert (await client.get(org.url(f"/clinics/{clinic['id']}/queue"), headers=ann)).status in (403, 404)

    mine = {own(org, ann_place["id"]), own(org, ann_place["id"], "/join"), own(org, ann_place["id"], "/leave")}
    answered = {}
    for route in app.router.routes():
        spec = getattr(route.handler, "__muster_endpoint__", None)
        if spec is None or spec.auth == "none" or route.method == "HEAD":
            continue
        params = {name: (org.id if name == "org_id" else bob_place["id"] if name == "consultation_id" else clinic["id"] if name == "clinic_id" else 1)
                  for name in PARAM.findall(route.resource.canonical)}
        url = str(route.resource.url_for(**{k: str(v) for k, v in params.items()}))
        if url in mine or (route.method, url) in OWN_SESSION:
            continue
        body = plausible_body(route)
        kwargs = ({"data": body.data, "headers": PLAUSIBLE_HEADERS | ann | {"Content-Type": body.content_type}} if isinstance(body, RawBody)
                  else {"json": body, "headers": PLAUSIBLE_HEADERS | ann})
        if spec.query is not None:
            schema = spec.query.model_json_schema()
            kwargs["params"] = {k: str(v) for k, v in _sample(schema, schema.get("$defs", {})).items()}
        async with client.request(route.method, url, **kwargs) as resp:
            key = f"{route.method} {route.resource.canonical}"
            answered[key] = resp.status
            if key in EMPTY_FOR_GUESTS:
                assert resp.status == 200 and await resp.json() == EMPTY_FOR_GUESTS[key], key
    let_in = {key: status for key, status in answered.items() if status not in (401, 403, 404) and key not in OWN_ACCOUNT | EMPTY_FOR_GUESTS.keys()}
    assert let_in == {}, f"the patient got past authorisation here: {let_in}"
    assert answered["GET /api/v1/orgs/{org_id}/consultations/{consultation_id}/patient"] == 404
    assert (await client.get(own(org, ann_place["id"]), headers=ann)).status == 200  # the walk ran with a live session
    assert (await client.post("/api/v1/auth/logout", headers=ann)).status == 204


async def test_two_doctors_calling_at_once_get_two_different_patients(client, db, sms):
    org, doctors, clinic, link = await hospital(client, db, doctors=3)
    places = [(await queue(client, sms, link, PHONES[6 + n], f"Patient {n}"))[1] for n in range(6)]
    calls = [client.post(org.url(f"/clinics/{clinic['id']}/call-next"), headers=d.headers) for d in doctors]
    answers = [await ok(resp) for resp in await asyncio.gather(*calls)]
    taken = [a["id"] for a in answers]
    assert len(set(taken)) == 3 and set(taken) <= {p["id"] for p in places}
    assert sorted(taken) == sorted(p["id"] for p in places[:3])  # the first three, whoever got which
    async with db.transaction(org_id=org.id) as tx:
        rows = (await tx.session.execute(select(Consultation.id, Consultation.doctor_id, Consultation.meeting_id).where(Consultation.status == "called"))).all()
    assert len({doctor for _, doctor, _ in rows}) == 3 and len({meeting for _, _, meeting in rows}) == 3
    listed = await ok(await client.get(org.url(f"/clinics/{clinic['id']}/queue"), headers=doctors[0].headers))
    assert [e["id"] for e in listed["waiting"]] == [p["id"] for p in places[3:]]


async def test_a_dropped_connection_keeps_the_place_for_the_grace_period_then_it_lapses(app, client, db, sms):
    from rooms.keys import ROOMS_SETTINGS

    grace = app[ROOMS_SETTINGS].consultation_grace_s
    org, (doctor,), clinic, link = await hospital(client, db)
    ann, ann_place = await queue(client, sms, link, PHONES[12], "Ann")
    bob, bob_place = await queue(client, sms, link, PHONES[13], "Bob")

    async def away_since():
        async with db.transaction(org_id=org.id) as tx:
            return await tx.session.scalar(select(Consultation.away_since).where(Consultation.id == ann_place["id"]))

    async def set_away(seconds_ago: float):
        async with db.transaction(org_id=org.id) as tx:
            await tx.session.execute(update(Consultation).where(Consultation.id == ann_place["id"]).values(away_since=utcnow() - dt.timedelta(seconds=seconds_ago)))

    assert await away_since() is not None  # not connected yet
    socket = await socket_of(client, ann)
    await socket.send({"type": "consultation.here", "ref": 1})
    for _ in range(100):
        if await away_since() is None:
            break
        await asyncio.sleep(0.05)
    assert await away_since() is None
    await socket.ws.close()
    for _ in range(100):
        if await away_since() is not None:
            break
        await asyncio.sleep(0.05)
    assert await away_since() is not None  # the socket went: the grace period runs

    await set_away(grace - 10)  # within the grace period: the place is kept
    assert (await ok(await client.get(own(org, ann_place["id"]), headers=ann)))["position"] == 1
    await set_away(grace + 1)  # past it: the place lapses at the next look, and Bob moves up
    assert (await ok(await client.get(own(org, ann_place["id"]), headers=ann)))["status"] == "lapsed"
    assert (await ok(await client.get(own(org, bob_place["id"]), headers=bob)))["position"] == 1
    called = await ok(await client.post(org.url(f"/clinics/{clinic['id']}/call-next"), headers=doctor.headers))
    assert called["id"] == bob_place["id"]


async def test_bad_input_names_what_is_wrong_and_stores_nothing(client, db, sms):
    org, (doctor,), clinic, link = await hospital(client, db)
    not_member = await client.post(org.url("/clinics"), json={"name": "X", "doctor_ids": [999_999]}, headers=org.owner.headers)
    assert not_member.status == 400 and (await not_member.json())["error"]["field"] == "doctor_ids"
    bad_phone = await client.post("/api/v1/clinic-links/code", json={"link_token": link, "phone": "12"})
    assert bad_phone.status == 400 and (await bad_phone.json())["error"]["field"] == "phone"
    empty = await client.post(org.url(f"/clinics/{clinic['id']}/call-next"), headers=doctor.headers)
    assert empty.status == 409 and (await empty.json())["error"]["code"] == "queue_empty"
    member = await join(db, org.id, "member", "Not A Doctor")
    assert (await client.post(org.url(f"/clinics/{clinic['id']}/call-next"), headers=member.headers)).status == 404
