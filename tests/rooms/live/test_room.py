"""A stream's room: chat, likes, the hand queue, the viewer count and attendance, over the API and the device WebSocket;
moderation (a message, a viewer: their socket and WebRTC playback drop at once); rate limits (429); WHEP beyond
capacity (503 with Retry-After); a publisher that vanishes (viewers told, resumed within the grace period, else ended).
Both databases; real aiortc peers for WHIP and WHEP."""
from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import zipfile

from sqlalchemy import select, update

from rooms.keys import ROOMS_SETTINGS
from rooms.live.keys import LIKES, STREAM_INGEST, STREAM_ROOMS
from rooms.models import LiveAttendance, LiveStream
from server.orgs.models import Membership
from tests.rooms.live.test_streams_api import guest_by_link, start, url
from tests.rooms.live.test_whep import watch, whep_post
from tests.rooms.live.test_whip import gone, row
from tests.rooms.live.whip_client import close_all, publish, viewer_offer
from tests.rooms.meetings.test_signalling import Attendee
from tests.server.groups.conftest import create_group, make_people_org, signed_in


class Socket(Attendee):
    """A device WebSocket watching one stream: ``next(type)`` waits for its next frame of that type (as a meeting's)."""

    async def nothing_of(self, type_: str, quiet_s: float = 0.5) -> bool:
        try:
            await self.next(type_, quiet_s)
        except asyncio.TimeoutError:
            return True
        return False


async def socket(client, headers: dict, stream_id: int, *, expect: str = "live.watching") -> Socket:
    ws = await client.session.ws_connect(client.make_url("/api/v1/ws"))
    await ws.send_str(json.dumps({"type": "hello", "token": headers["Authorization"].removeprefix("Bearer "), "user_seq": 0}))
    s = Socket(ws)
    await s.next("ready")
    await ws.send_str(json.dumps({"type": "live.watch", "stream_id": stream_id}))
    s.answer = await s.next(expect)
    return s


def live(stream_id: int, tail: str) -> str:
    return f"/api/v1/live/{stream_id}{tail}"


async def class_stream(client, db, members: int = 2, **fields):
    """An organisation, a group of ``members`` of its people (the owner owns the group) and a live stream from it."""
    org = await make_people_org(client, db, members + 1)
    group = await create_group(client, org, member_ids=[p.id for p in org.people[:members]])
    return org, group, await start(client, org, group, **fields)


async def test_a_viewers_chat_reaches_everyone_watching_and_a_manager_removes_it_everywhere(client, db, backend):
    org, _, stream = await class_stream(client, db)
    sid, viewer, other, outsider = stream["id"], org.people[0], org.people[1], org.people[2]
    host_socket, viewer_socket = await socket(client, org.owner.headers, sid), await socket(client, viewer.headers, sid)
    assert host_socket.answer["manager"] is True and viewer_socket.answer["manager"] is False
    refused = await socket(client, outsider.headers, sid, expect="error")  # in the organisation, not in the group
    assert refused.answer["error"]["code"] == "not_found"
    try:
        sent = await client.post(live(sid, "/chat"), json={"text": "=1+1 is two"}, headers=viewer.headers)
        assert sent.status == 201, await sent.text()
        message = await sent.json()
        assert message["name"] == "Member 0" and message["text"] == "=1+1 is two"
        for s in (host_socket, viewer_socket):
            heard = await s.next("live.chat")
            assert heard["stream_id"] == sid and heard["data"]["id"] == message["id"] and heard["data"]["text"] == "=1+1 is two"
        assert await refused.nothing_of("live.chat")
        await client.post(live(sid, "/chat"), json={"text": "hello"}, headers=other.headers)

        for body, field in (({"text": ""}, "text"), ({"text": "x" * 1001}, "text"), ({}, "text"), ({"text": "hi", "to": 3}, "to")):
            bad = await client.post(live(sid, "/chat"), json=body, headers=viewer.headers)
            assert bad.status == 400 and (await bad.json())["error"]["field"] == field
        assert (await client.post(live(sid, "/chat"), json={"text": "hi"}, headers=outsider.headers)).status == 404
        stranger = await signed_in(db, "Stranger")
        assert (await client.post(live(sid, "/chat"), json={"text": "hi"}, headers=stranger.headers)).status == 404
        assert (await client.get(live(sid, "/room"), headers=stranger.headers)).status == 404

        remove = url(org, f"/{sid}/chat/{message['id']}")
        assert (await client.delete(remove, headers=viewer.headers)).status == 403  # a viewer does not moderate
        assert (await client.delete(url(org, f"/{sid}/chat/{message['id'] + 1000}"), headers=org.owner.headers)).status == 404
        assert (await client.delete(remove, headers=org.owner.headers)).status == 204
        for s in (host_socket, viewer_socket):
            assert (await s.next("live.chat_removed"))["data"] == {"id": message["id"]}
        room = await (await client.get(live(sid, "/room"), headers=viewer.headers)).json()
        assert [m["text"] for m in room["chat"]] == ["hello"] and room["manager"] is False and room["user_id"] == viewer.id

        other_org, _, other_stream = await class_stream(client, db, 1)  # another organisation's ids: 404
        assert (await client.delete(other_org.url(f"/streams/{other_stream['id']}/chat/{message['id']}"), headers=org.owner.headers)).status == 404
        assert (await client.delete(url(org, f"/{other_stream['id']}/chat/{message['id']}"), headers=org.owner.headers)).status == 404
    finally:
        for s in (host_socket, viewer_socket, refused):
            await s.ws.close()


async def test_chat_and_likes_are_limited_per_viewer_with_429_and_likes_are_one_counter_update_an_interval(app, client, db, backend):
    settings = app[ROOMS_SETTINGS]
    settings.live_chat_messages, settings.live_likes_burst, settings.live_likes_per_s = 3, 5, 0.01
    org, _, stream = await class_stream(client, db)
    sid, viewer, other = stream["id"], org.people[0], org.people[1]
    for n in range(3):
        assert (await client.post(live(sid, "/chat"), json={"text": f"m{n}"}, headers=viewer.headers)).status == 201
    limited = await client.post(live(sid, "/chat"), json={"text": "one more"}, headers=viewer.headers)
    assert limited.status == 429 and 0 < int(limited.headers["Retry-After"]) <= settings.live_chat_window_s
    assert (await limited.json())["error"]["code"] == "rate_limited"
    assert (await client.post(live(sid, "/chat"), json={"text": "mine"}, headers=other.headers)).status == 201  # per viewer

    watcher = await socket(client, other.headers, sid)
    try:
        for _ in range(5):
            assert (await client.post(live(sid, "/likes"), headers=viewer.headers)).status == 204
        too_many = await client.post(live(sid, "/likes"), headers=viewer.headers)
        assert too_many.status == 429 and int(too_many.headers["Retry-After"]) >= 1
        for _ in range(2):
            assert (await client.post(live(sid, "/likes"), headers=other.headers)).status == 204
        totals = [(await watcher.next("live.likes"))["data"]["likes"]]  # an event per flush: the total so far
        while totals[-1] < 7:
            totals.append((await watcher.next("live.likes"))["data"]["likes"])
        assert totals[-1] == 7 and len(totals) <= 7 and (await row(db, stream)).likes == 7
        await app[LIKES].flush()  # nothing taken since: no statement, no event
        assert await watcher.nothing_of("live.likes")
        assert (await (await client.get(live(sid, "/room"), headers=other.headers)).json())["likes"] == 7
    finally:
        await watcher.ws.close()


async def test_hands_queue_in_the_order_raised_and_the_host_invites_one(client, db, backend):
    org, _, stream = await class_stream(client, db)
    sid, first, second = stream["id"], org.people[0], org.people[1]
    host_socket, second_socket = await socket(client, org.owner.headers, sid), await socket(client, second.headers, sid)
    try:
        assert (await client.put(live(sid, "/hand"), headers=first.headers)).status == 200
        assert (await host_socket.next("live.hand"))["data"]["raised"] is True
        assert (await client.put(live(sid, "/hand"), headers=second.headers)).status == 200
        assert (await second_socket.next("live.hand"))["data"]["user_id"] == second.id  # their own, not the others'
        assert (await client.put(live(sid, "/hand"), headers=first.headers)).status == 200  # again: keeps the place
        queue = await (await client.get(url(org, f"/{sid}/hands"), headers=org.owner.headers)).json()
        assert [h["user_id"] for h in queue] == [first.id, second.id] and queue[0]["name"] == "Member 0"
        assert (await client.get(url(org, f"/{sid}/hands"), headers=first.headers)).status == 403
        assert (await second_socket.nothing_of("live.hand"))  # the first's hand is for the managers

        assert (await client.post(url(org, f"/{sid}/hands/{second.id}/invite"), headers=org.owner.headers)).status == 204
        assert (await second_socket.next("live.invited"))["data"] == {"by": "Owner"}
        assert (await client.post(url(org, f"/{sid}/hands/{org.people[2].id}/invite"), headers=org.owner.headers)).status == 404
        assert (await client.delete(live(sid, "/hand"), headers=first.headers)).status == 204
        assert (await client.delete(url(org, f"/{sid}/hands/{second.id}"), headers=org.owner.headers)).status == 204
        assert (await second_socket.next("live.hand"))["data"] == {"user_id": second.id, "raised": False}
        assert await (await client.get(url(org, f"/{sid}/hands"), headers=org.owner.headers)).json() == []
        assert (await client.delete(url(org, f"/{sid}/hands/{second.id}"), headers=org.owner.headers)).status == 404
    finally:
        await host_socket.ws.close()
        await second_socket.ws.close()


async def test_presence_reports_make_attendance_the_viewer_count_and_an_export_that_names_who_did_not_attend(app, client, db, backend):
    org, _, stream = await class_stream(client, db, 3, allow_guests=True)
    sid, came, late, absent = stream["id"], org.people[0], org.people[1], org.people[2]
    host_socket = await socket(client, org.owner.headers, sid)
    link = await (await client.post(url(org, f"/{sid}/public-links"), json={}, headers=org.owner.headers)).json()
    guest = await guest_by_link(client, link, "@Grandma")
    try:
        first = await (await client.post(live(sid, "/presence"), json={"kind": "live"}, headers=came.headers)).json()
        assert first == {"viewers": 1, "next_in_s": 20}
        assert (await host_socket.next("live.viewers"))["data"] == {"viewers": 1}
        again = await (await client.post(live(sid, "/presence"), json={}, headers=came.headers)).json()
        assert again["viewers"] is None  # still watching: nobody came or went
        for who in (late, guest):
            await client.post(live(sid, "/presence"), json={"kind": "live"}, headers=getattr(who, "headers", who))
        left = await (await client.post(live(sid, "/presence"), json={"kind": "live", "leaving": True}, headers=late.headers)).json()
        assert left["viewers"] == 2
        bad = await client.post(live(sid, "/presence"), json={"kind": "later"}, headers=came.headers)
        assert bad.status == 400 and (await bad.json())["error"]["field"] == "kind"
        assert (await client.post(live(sid, "/presence"), json={}, headers=absent.headers | {"Authorization": "Bearer nope"})).status == 401

        async with db.transaction(org_id=org.id) as tx:  # the first viewer has watched for ten minutes
            stretch = await tx.session.scalar(select(LiveAttendance).where(LiveAttendance.user_id == came.id))
            await tx.session.execute(update(LiveAttendance).where(LiveAttendance.id == stretch.id)
                                     .values(joined_at=stretch.left_at - dt.timedelta(minutes=10)))
        assert (await client.get(url(org, f"/{sid}/attendance"), headers=came.headers)).status == 403
        dashboard = await (await client.get(url(org, f"/{sid}/attendance"), headers=org.owner.headers)).json()
        assert dashboard["viewers_now"] == 2
        by_name = {p["name"]: p for p in dashboard["attended"]}
        assert set(by_name) == {"Member 0", "Member 1", "@Grandma"} and by_name["@Grandma"]["guest"] is True
        assert by_name["Member 0"]["live_s"] == 600 and by_name["Member 0"]["replay_s"] == 0
        assert [p["name"] for p in dashboard["absent"]] == ["Member 2"]

        ended = await client.post(url(org, f"/{sid}/end"), headers=org.owner.headers)
        assert ended.status == 200
        assert (await host_socket.next("live.ended"))["stream_id"] == sid
        not_live = await client.post(live(sid, "/presence"), json={"kind": "live"}, headers=late.headers)
        assert not_live.status == 409 and (await not_live.json())["error"]["code"] == "not_live"
        assert (await client.post(live(sid, "/presence"), json={"kind": "replay"}, headers=late.headers)).status == 200
        dashboard = await (await client.get(url(org, f"/{sid}/attendance"), headers=org.owner.headers)).json()
        assert dashboard["viewers_now"] == 0

        exported = await client.get(url(org, f"/{sid}/attendance/export?format=csv"), headers=org.owner.headers | {"Accept-Language": "zh-CN"})
        assert exported.status == 200 and exported.headers["Content-Type"].startswith("text/csv")
        lines = list(csv.reader(io.StringIO((await exported.read()).decode("utf-8-sig"))))
        assert lines[0][:3] == ["姓名", "访客", "观看了直播"]
        names = [line[0] for line in lines[1:]]
        assert "'@Grandma" in names and "Member 2" in names  # a name a spreadsheet would take for a formula is neutralised
        member0 = next(line for line in lines if line[0] == "Member 0")
        assert member0[5] == "10.0" and member0[2] == "yes"
        assert next(line for line in lines if line[0] == "Member 2")[2] == "no"
        xlsx = await client.get(url(org, f"/{sid}/attendance/export?format=xlsx"), headers=org.owner.headers)
        assert xlsx.status == 200
        book = zipfile.ZipFile(io.BytesIO(await xlsx.read()))
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        strings = book.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in book.namelist() else sheet
        assert "<f>" not in sheet and "@Grandma" in strings  # text, never a formula
        assert (await client.get(url(org, f"/{sid}/attendance/export?format=pdf"), headers=org.owner.headers)).status == 400
        assert (await client.get(url(org, f"/{sid}/attendance/export"), headers=came.headers)).status == 403
    finally:
        await host_socket.ws.close()


async def test_a_removed_viewers_socket_and_webrtc_playback_drop_at_once_and_the_stream_is_404_to_them(app, client, db, backend):
    org, _, stream = await class_stream(client, db, allow_guests=True)
    sid, viewer, stays = stream["id"], org.people[0], org.people[1]
    link = await (await client.post(url(org, f"/{sid}/public-links"), json={}, headers=org.owner.headers)).json()
    guest = await guest_by_link(client, link)
    pc, _, _ = await publish(client, stream, stream["stream_key"])
    viewer_pc = guest_pc = None
    sockets = []
    try:
        viewer_pc, _, _ = await watch(client, sid, viewer.headers)
        guest_pc, _, _ = await watch(client, sid, guest)
        viewer_socket, stays_socket, guest_socket = [await socket(client, h, sid) for h in (viewer.headers, stays.headers, guest)]
        sockets = [viewer_socket, stays_socket, guest_socket]
        await client.put(live(sid, "/hand"), headers=viewer.headers)
        assert len(app[STREAM_INGEST].viewers) == 2

        assert (await client.post(url(org, f"/{sid}/viewers/{viewer.id}/remove"), headers=stays.headers)).status == 403
        removed = await client.post(url(org, f"/{sid}/viewers/{viewer.id}/remove"), headers=org.owner.headers)
        assert removed.status == 204
        assert (await viewer_socket.next("live.removed"))["stream_id"] == sid
        assert await gone(lambda: len(app[STREAM_INGEST].viewers) == 1)  # the guest still watches
        assert sid not in {w.stream_id for ws in app[STREAM_ROOMS]._of_connection.values() for w in ws.values()
                           if w.connection.user_id == viewer.id}
        await client.post(live(sid, "/chat"), json={"text": "still here"}, headers=stays.headers)
        assert (await stays_socket.next("live.chat"))["data"]["text"] == "still here"
        assert await viewer_socket.nothing_of("live.chat")
        assert (await client.get(live(sid, ""), headers=viewer.headers)).status == 404
        assert (await client.post(live(sid, "/chat"), json={"text": "back"}, headers=viewer.headers)).status == 404
        offer, _ = await viewer_offer()
        assert (await whep_post(client, sid, viewer.headers, offer.localDescription.sdp)).status == 404
        await offer.close()
        again = await socket(client, viewer.headers, sid, expect="error")
        sockets.append(again)
        assert again.answer["error"]["code"] == "not_found"
        assert await (await client.get(url(org, f"/{sid}/hands"), headers=org.owner.headers)).json() == []

        guest_id = (await (await client.get(live(sid, "/room"), headers=guest)).json())["user_id"]
        assert (await client.post(url(org, f"/{sid}/viewers/{guest_id}/remove"), headers=org.owner.headers)).status == 204
        assert await gone(lambda: not app[STREAM_INGEST].viewers)
        assert (await client.get(live(sid, ""), headers=guest)).status == 401  # signed out: the session was for this stream only
        closed = await guest_socket.ws.receive(timeout=5)
        while closed.type.name not in ("CLOSE", "CLOSED", "CLOSING"):
            closed = await guest_socket.ws.receive(timeout=5)

        for who, status in ((org.owner.id, 400), (stays.id + 10_000, 404)):
            assert (await client.post(url(org, f"/{sid}/viewers/{who}/remove"), headers=org.owner.headers)).status == status
        assert (await client.get(live(sid, ""), headers=stays.headers)).status == 200
    finally:
        for s in sockets:
            await s.ws.close()
        await close_all(pc, viewer_pc, guest_pc)


async def test_a_whep_viewer_beyond_capacity_gets_503_with_retry_after_and_gets_in_once_a_place_is_free(app, client, db, backend):
    app[ROOMS_SETTINGS].live_whep_viewers_per_stream = 1
    org, _, stream = await class_stream(client, db)
    sid = stream["id"]
    pc, _, _ = await publish(client, stream, stream["stream_key"])
    first_pc = second_pc = None
    try:
        first_pc, _, location = await watch(client, sid, org.people[0].headers)
        offer, _ = await viewer_offer()
        full = await whep_post(client, sid, org.people[1].headers, offer.localDescription.sdp)
        assert full.status == 503 and full.headers["Retry-After"] == "30"
        assert full.headers["Access-Control-Allow-Origin"] == "*" and "Retry-After" in full.headers["Access-Control-Expose-Headers"]
        error = (await full.json())["error"]
        assert error["code"] == "viewers_full" and "HLS" in error["message"]
        await offer.close()
        assert len(app[STREAM_INGEST].viewers) == 1
        assert (await client.delete(location, headers=org.people[0].headers)).status == 200
        second_pc, frame, _ = await watch(client, sid, org.people[1].headers)
        assert frame.width == 640
    finally:
        await close_all(pc, first_pc, second_pc)


async def test_a_vanished_publisher_pauses_the_stream_its_viewers_are_told_and_it_resumes_within_the_grace_period(
        short_media_timeout, app, client, db, backend):
    org, _, stream = await class_stream(client, db)
    watcher = await socket(client, org.people[0].headers, stream["id"])
    pc = None
    try:
        pc, _, _ = await publish(client, stream, stream["stream_key"])
        await watcher.next("live.resumed")  # a publisher is on
        await pc.close()  # gone without a DELETE
        paused = await watcher.next("live.paused", 15)
        assert paused["data"] == {"grace_s": 60.0}
        stored = await row(db, stream)
        assert stored.status == "live" and stored.publisher_id is None
        pc, _, _ = await publish(client, stream, stream["stream_key"])  # the same key: accepted, no 409
        await watcher.next("live.resumed")
        assert (await row(db, stream)).publisher_id is not None
    finally:
        await watcher.ws.close()
        await close_all(pc)


async def test_a_publisher_that_does_not_come_back_ends_the_stream_and_its_viewers_are_told(short_media_timeout, app, client, db, backend):
    app[ROOMS_SETTINGS].live_grace_s = 1.0
    org, _, stream = await class_stream(client, db)
    watcher = await socket(client, org.people[0].headers, stream["id"])
    try:
        pc, _, _ = await publish(client, stream, stream["stream_key"])
        await pc.close()
        await watcher.next("live.paused", 15)
        await watcher.next("live.ended", 10)
        stored = await row(db, stream)
        assert stored.status == "ended" and stored.key_hash is None
    finally:
        await watcher.ws.close()


async def test_a_chat_message_and_a_presence_report_cost_the_same_statements_whoever_watches(app, client, db, backend):
    from rooms.live.attendance import do_record_presence
    from rooms.live.chat import do_post_message
    from server.accounts.auth import Principal
    from server.orgs.access import OrgContext
    from tests.statements import statements_sent

    costs = []
    for watchers in (1, 6):
        org, _, stream = await class_stream(client, db, watchers)
        sockets = [await socket(client, p.headers, stream["id"]) for p in org.people[:watchers]]
        for p in org.people[:watchers]:  # all of them already watching: a report only extends their stretch
            await client.post(live(stream["id"], "/presence"), json={}, headers=p.headers)
        viewer = OrgContext(org.id, Principal(org.people[0].id, 0, "Member 0"), None, "member")
        async with db.transaction(org_id=org.id) as tx:
            row = await tx.session.get(LiveStream, stream["id"])
            async with statements_sent(db, tx) as chat:
                await do_post_message(tx, app[ROOMS_SETTINGS], viewer, row, "hello")
            async with statements_sent(db, tx) as presence:
                await do_record_presence(tx, app[ROOMS_SETTINGS], viewer, row, "live", leaving=False)
        costs.append((len(chat), len(presence)))
        for s in sockets:
            assert (await s.next("live.chat"))["data"]["text"] == "hello"
            await s.ws.close()
    assert costs[0] == costs[1] and costs[0] == (2, 2), costs  # the limit's SELECT and the INSERT; the stretch's SELECT and UPDATE


async def test_what_a_person_did_in_streams_is_in_their_personal_data_and_erased_with_it(client, db, backend):
    org, _, stream = await class_stream(client, db)
    sid, viewer = stream["id"], org.people[0]
    await client.post(live(sid, "/chat"), json={"text": "my question"}, headers=viewer.headers)
    await client.post(live(sid, "/presence"), json={}, headers=viewer.headers)
    await client.put(live(sid, "/hand"), headers=viewer.headers)
    async with db.transaction(org_id=org.id) as tx:
        member_id = await tx.session.scalar(select(Membership.id).where(Membership.user_id == viewer.id))
    base = org.url(f"/members/{member_id}")
    exported = (await (await client.get(f"{base}/personal-data", headers=org.owner.headers)).json())["parts"]["livestreams"]
    assert [m["text"] for m in exported["chat"]] == ["my question"]
    assert [(w["title"], w["kind"]) for w in exported["watched"]] == [("Maths 3B", "live")] and len(exported["hands_raised"]) == 1
    erased = await (await client.post(f"{base}/erasure", json={"confirm": True}, headers=org.owner.headers)).json()
    assert erased["erased"]["livestreams"] == {"chat_messages": 1, "attendances": 1, "hands": 1, "removals": 0}
    room = await (await client.get(live(sid, "/room"), headers=org.owner.headers)).json()
    assert room["chat"] == []
