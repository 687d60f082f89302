"""The meetings API: create, manage, end; joining by link with passcode, lock and cap; guests."""
import base64
import hashlib
import hmac

from rooms.config import RoomsSettings
from rooms.meetings.ice import ice_servers, turn_credential
from rooms.meetings.meetings import check_ticket
from server.orgs.models import Membership
from tests.factories import make_org, person


async def org_with_host(client, db):
    host = await person(client, db, "Hana Host")
    org = await make_org(db, host.user)
    return host, org


async def add_member(db, org, someone) -> None:
    async with db.transaction(org_id=org.id) as tx:
        tx.session.add(Membership(org_id=org.id, user_id=someone.id, role="member", display_name=someone.user.name))


async def create(client, host, org, **fields) -> dict:
    resp = await client.post(f"/api/v1/orgs/{org.id}/meetings", json={"title": "Standup", **fields}, headers=host.headers)
    assert resp.status == 201, await resp.text()
    return await resp.json()


def link_token(meeting: dict) -> str:
    return meeting["join_url"].rsplit("/m/", 1)[1]


async def join(client, meeting, headers=None, **fields):
    return await client.post("/api/v1/meetings/join", json={"link_token": link_token(meeting), **fields}, headers=headers or {})


async def test_instant_meeting_is_live_and_a_scheduled_one_waits(client, db, backend):
    host, org = await org_with_host(client, db)
    instant = await create(client, host, org)
    scheduled = await create(client, host, org, title="Review", scheduled_at="2026-12-01T09:00:00Z")
    assert instant["status"] == "live" and instant["cap"] == 300 and instant["join_url"].startswith("http")
    assert scheduled["status"] == "scheduled"
    listed = await (await client.get(f"/api/v1/orgs/{org.id}/meetings", headers=host.headers)).json()
    assert {m["id"] for m in listed} == {instant["id"], scheduled["id"]}


async def test_member_joins_with_account_and_a_guest_gets_a_scoped_session(client, db, backend):
    host, org = await org_with_host(client, db)
    member = await person(client, db)
    await add_member(db, org, member)
    meeting = await create(client, host, org)

    resp = await join(client, meeting, member.headers)
    body = await resp.json()
    assert resp.status == 200, body
    assert body["role"] == "member" and body["token"] is None
    assert check_ticket("test-secret-key", body["ticket"], member.id) == (meeting["id"], "member")

    resp = await join(client, meeting, display_name="Gail Guest")
    guest = await resp.json()
    assert resp.status == 200, guest
    assert guest["role"] == "guest" and guest["token"].startswith("mst_")
    guest_headers = {"Authorization": f"Bearer {guest['token']}"}
    seen = await client.get(f"/api/v1/orgs/{org.id}/meetings/{meeting['id']}", headers=guest_headers)
    assert seen.status == 200
    other = await create(client, host, org, title="Other")
    assert (await client.get(f"/api/v1/orgs/{org.id}/meetings/{other['id']}", headers=guest_headers)).status == 404
    assert (await client.get(f"/api/v1/orgs/{org.id}/meetings", headers=guest_headers)).status == 403


async def test_a_guest_without_display_name_is_told_what_is_missing(client, db, backend):
    host, org = await org_with_host(client, db)
    meeting = await create(client, host, org)
    resp = await join(client, meeting)
    assert resp.status == 400
    assert (await resp.json())["error"]["field"] == "display_name"


async def test_wrong_passcode_is_refused_and_repeated_guessing_is_limited(client, db, backend):
    host, org = await org_with_host(client, db)
    meeting = await create(client, host, org, passcode="4711")
    wrong = await join(client, meeting, display_name="G", passcode="0000")
    assert wrong.status == 403
    assert (await wrong.json())["error"]["message"] == "wrong passcode for this meeting"
    assert (await join(client, meeting, display_name="G", passcode="4711")).status == 200
    for _ in range(9):
        await join(client, meeting, display_name="G", passcode="1111")
    limited = await join(client, meeting, display_name="G", passcode="4711")
    assert limited.status == 429 and "Retry-After" in limited.headers


async def test_locked_meeting_refuses_newcomers_but_not_its_host(client, db, backend):
    host, org = await org_with_host(client, db)
    meeting = await create(client, host, org)
    resp = await client.patch(f"/api/v1/orgs/{org.id}/meetings/{meeting['id']}", json={"locked": True}, headers=host.headers)
    assert resp.status == 200 and (await resp.json())["locked"] is True
    refused = await join(client, meeting, display_name="Late")
    assert refused.status == 403 and "locked" in (await refused.json())["error"]["message"]
    assert (await join(client, meeting, host.headers)).status == 200


async def test_the_participant_over_the_cap_is_told_the_meeting_is_full(client, db, backend):
    from rooms.models import MeetingParticipant

    host, org = await org_with_host(client, db)
    meeting = await create(client, host, org, cap=2)
    async with db.transaction(org_id=org.id) as tx:
        for _ in range(2):
            tx.session.add(MeetingParticipant(org_id=org.id, meeting_id=meeting["id"], user_id=host.id, display_name="x", role="member"))
    full = await join(client, meeting, display_name="Third")
    assert full.status == 409
    assert (await full.json())["error"]["message"] == "meeting is full (2)"


async def test_only_hosts_change_or_end_a_meeting_and_an_ended_link_is_gone(client, db, backend):
    host, org = await org_with_host(client, db)
    member = await person(client, db)
    await add_member(db, org, member)
    meeting = await create(client, host, org)
    url = f"/api/v1/orgs/{org.id}/meetings/{meeting['id']}"
    assert (await client.patch(url, json={"title": "Mine"}, headers=member.headers)).status == 403
    assert (await client.post(url + "/end", headers=member.headers)).status == 403
    ended = await client.post(url + "/end", headers=host.headers)
    assert ended.status == 200 and (await ended.json())["status"] == "ended"
    assert (await join(client, meeting, member.headers)).status == 410


async def test_another_organisation_sees_no_meeting(client, db, backend):
    host, org = await org_with_host(client, db)
    stranger = await person(client, db)
    other_org = await make_org(db, stranger.user)
    meeting = await create(client, host, org)
    assert (await client.get(f"/api/v1/orgs/{org.id}/meetings/{meeting['id']}", headers=stranger.headers)).status == 404
    assert (await client.get(f"/api/v1/orgs/{other_org.id}/meetings/{meeting['id']}", headers=stranger.headers)).status == 404


def test_turn_credentials_follow_the_coturn_rest_scheme():
    username, credential = turn_credential("s3cret", 42, 3600, now=1_000_000)
    assert username == "1003600:42"
    assert credential == base64.b64encode(hmac.new(b"s3cret", b"1003600:42", hashlib.sha1).digest()).decode()
    servers = ice_servers(RoomsSettings(stun_urls=["stun:t:3478"], turn_urls=["turn:t:3478"], turn_secret="s3cret"), 42)
    assert servers[0] == {"urls": ["stun:t:3478"]}
    assert servers[1]["username"].endswith(":42") and servers[1]["credential"]
    assert ice_servers(RoomsSettings(), 42) == []


async def test_recordings_are_for_hosts_and_only_finished_ones_download(client, db, backend):
    from rooms.models import MeetingRecording

    host, org = await org_with_host(client, db)
    member = await person(client, db)
    await add_member(db, org, member)
    meeting = await create(client, host, org)
    async with db.transaction(org_id=org.id) as tx:
        rows = [
            MeetingRecording(org_id=org.id, meeting_id=meeting["id"], status=status, file_name=f"x-{status}.webm", error=error)
            for status, error in (("recording", None), ("failed", "writing the recording failed: disk full"))
        ]
        tx.session.add_all(rows)
        await tx.session.flush()
        going, failed = (row.id for row in rows)
    url = f"/api/v1/orgs/{org.id}/meetings/{meeting['id']}/recordings"
    listed = await (await client.get(url, headers=host.headers)).json()
    assert [(r["id"], r["status"], r["download_url"]) for r in listed] == [(failed, "failed", None), (going, "recording", None)]
    still = await client.get(f"{url}/{going}", headers=host.headers)
    assert still.status == 409 and (await still.json())["error"]["code"] == "still_recording"
    gone = await client.get(f"{url}/{failed}", headers=host.headers)
    assert gone.status == 410 and "disk full" in (await gone.json())["error"]["message"]
    assert (await client.get(f"{url}/{failed + 100}", headers=host.headers)).status == 404
    assert (await client.get(url, headers=member.headers)).status == 403
    assert (await client.get(f"{url}/{failed}", headers=member.headers)).status == 403


async def test_a_change_that_sets_a_title_lock_lobby_or_cap_to_null_is_a_400_and_changes_nothing(client, db, backend):
    host, org = await org_with_host(client, db)
    meeting = await create(client, host, org, cohost_ids=[])
    url = f"/api/v1/orgs/{org.id}/meetings/{meeting['id']}"
    for field in ("title", "locked", "lobby_enabled", "cap"):
        resp = await client.patch(url, json={field: None}, headers=host.headers)
        assert resp.status == 400, await resp.text()
        assert (await resp.json())["error"]["field"] == field
    assert (await client.patch(url, json={"scheduled_at": None, "passcode": None}, headers=host.headers)).status == 200
    unchanged = await (await client.get(url, headers=host.headers)).json()
    assert (unchanged["title"], unchanged["locked"], unchanged["lobby_enabled"], unchanged["cap"]) == ("Standup", False, False, 300)


async def test_a_co_host_id_too_large_for_the_database_is_a_400(client, db, backend):
    host, org = await org_with_host(client, db)
    resp = await client.post(f"/api/v1/orgs/{org.id}/meetings", json={"title": "Standup", "cohost_ids": [2**63]}, headers=host.headers)
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["error"]["field"].startswith("cohost_ids")
