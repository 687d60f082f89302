"""The meetings API: create, manage, end; joining by link with passcode, lock and cap; guests."""
import base64
import hashlib
import hmac

import pytest

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


async def test_a_guest_invite_to_a_meeting_leads_to_its_page_where_the_guest_session_joins(client, db, backend):
    host, org = await org_with_host(client, db)
    meeting = await create(client, host, org)
    invite = await client.post(f"/api/v1/orgs/{org.id}/guest-invites", json={"scope_kind": "meeting", "scope_id": meeting["id"]}, headers=host.headers)
    assert invite.status == 201, await invite.text()

    resp = await client.post("/api/v1/guest-sessions", json={"invite_token": (await invite.json())["token"], "display_name": "Gail Guest"})
    guest = await resp.json()

    assert resp.status == 201, guest
    assert guest["landing_url"] == f"/m/{link_token(meeting)}"
    joined = await join(client, meeting, {"Authorization": f"Bearer {guest['token']}"})
    assert joined.status == 200 and (await joined.json())["role"] == "guest"


async def test_a_guest_without_display_name_is_told_what_is_missing(client, db, backend):
    host, org = await org_with_host(client, db)
    meeting = await create(client, host, org)
    resp = await join(client, meeting)
    assert resp.status == 400
    assert (await resp.json())["error"]["field"] == "display_name"


@pytest.fixture
def behind_proxy(settings):
    """The test client is the reverse proxy: X-Forwarded-For says whose request it is (list before ``client``)."""
    settings.trusted_proxies = "127.0.0.1"


def from_address(address: str, headers: dict | None = None) -> dict:
    return {**(headers or {}), "X-Forwarded-For": address}


async def test_wrong_passcode_is_refused_and_repeated_guessing_is_limited(behind_proxy, client, db, backend):
    host, org = await org_with_host(client, db)
    meeting = await create(client, host, org, passcode="4711")
    wrong = await join(client, meeting, from_address("198.51.100.7"), display_name="G", passcode="0000")
    assert wrong.status == 403
    assert (await wrong.json())["error"]["message"] == "wrong passcode for this meeting"
    assert (await join(client, meeting, from_address("198.51.100.7"), display_name="G", passcode="4711")).status == 200
    for _ in range(9):
        await join(client, meeting, from_address("198.51.100.7"), display_name="G", passcode="1111")
    limited = await join(client, meeting, from_address("198.51.100.7"), display_name="G", passcode="4711")
    assert limited.status == 429 and "Retry-After" in limited.headers
    assert (await limited.json())["error"]["message"].startswith("too many wrong passcodes for this meeting from you; try again in ")


async def test_one_address_guessing_locks_out_only_itself_never_the_host_a_member_or_other_guests(behind_proxy, client, db, backend):
    host, org = await org_with_host(client, db)
    member = await person(client, db)
    await add_member(db, org, member)
    meeting = await create(client, host, org, passcode="4711")
    attacker = "198.51.100.7"
    for _ in range(12):
        await join(client, meeting, from_address(attacker), display_name="Mallory", passcode="0000")
    assert (await join(client, meeting, from_address(attacker), display_name="Mallory", passcode="4711")).status == 429
    assert (await join(client, meeting, from_address("203.0.113.9"), display_name="Gail", passcode="4711")).status == 200
    # the host needs no passcode; a member behind the attacker's address counts only their own failures
    assert (await join(client, meeting, from_address(attacker, host.headers))).status == 200
    assert (await join(client, meeting, from_address(attacker, member.headers), passcode="4711")).status == 200


@pytest.fixture
def strict_passcodes(monkeypatch):
    monkeypatch.setenv("MUSTER_ROOMS_PASSCODE_MAX_FAILURES", "3")
    monkeypatch.setenv("MUSTER_ROOMS_PASSCODE_MAX_FAILURES_PER_MEETING", "5")


async def test_guessing_from_many_addresses_stops_at_the_meeting_ceiling_and_members_still_get_in(strict_passcodes, behind_proxy, client, db, backend):
    host, org = await org_with_host(client, db)
    member = await person(client, db)
    await add_member(db, org, member)
    meeting = await create(client, host, org, passcode="4711")
    for n in range(5):  # one wrong guess from each of five addresses
        assert (await join(client, meeting, from_address(f"198.51.100.{n}"), display_name="M", passcode="0000")).status == 403
    held = await join(client, meeting, from_address("203.0.113.9"), display_name="Gail", passcode="4711")
    assert held.status == 429
    assert "from people not signed in" in (await held.json())["error"]["message"]
    for _ in range(3):  # a member's own mistakes count against them alone
        assert (await join(client, meeting, member.headers, passcode="0000")).status == 403
    assert (await join(client, meeting, member.headers, passcode="4711")).status == 429
    assert (await join(client, meeting, host.headers)).status == 200


async def test_a_passcode_change_needs_4_to_32_characters_and_an_empty_one_removes_it(client, db, backend):
    host, org = await org_with_host(client, db)
    meeting = await create(client, host, org, passcode="4711")
    url = f"/api/v1/orgs/{org.id}/meetings/{meeting['id']}"
    short = await client.patch(url, json={"passcode": "12"}, headers=host.headers)
    assert short.status == 400
    assert (await short.json())["error"] == {
        "code": "invalid", "message": "a passcode needs 4 to 32 characters (an empty one removes it)", "field": "passcode",
    }
    assert (await join(client, meeting, display_name="G", passcode="4711")).status == 200  # unchanged
    removed = await client.patch(url, json={"passcode": ""}, headers=host.headers)
    assert removed.status == 200 and (await removed.json())["has_passcode"] is False
    assert (await join(client, meeting, display_name="G")).status == 200


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


async def test_recordings_are_listed_for_hosts_and_only_finished_ones_download(client, db, backend):
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
    assert await (await client.get(url, headers=member.headers)).json() == []  # a member sees only finished ones they were in
    assert (await client.get(f"{url}/{failed}", headers=member.headers)).status == 404


async def test_a_meeting_link_never_appears_in_the_request_log(client, db, backend, caplog):
    import logging

    from server.observability import JsonFormatter

    host, org = await org_with_host(client, db)
    meeting = await create(client, host, org, passcode="4711")
    token = link_token(meeting)
    with caplog.at_level(logging.INFO):
        assert (await client.get(f"/m/{token}")).status == 200
        assert (await join(client, meeting, display_name="G", passcode="0000")).status == 403
        assert (await join(client, meeting, display_name="G", passcode="4711")).status == 200
    logged = [JsonFormatter().format(record) for record in caplog.records]
    assert any('"path": "/m/***"' in line for line in logged), logged
    assert not [line for line in logged if token in line]


async def test_the_nginx_sample_keeps_meeting_links_out_of_its_access_log(client, db, backend, tmp_path):
    import aiohttp

    from tests import services

    if backend == "postgresql":
        pytest.skip("nginx's access log does not depend on the database")
    host, org = await org_with_host(client, db)
    token = link_token(await create(client, host, org))
    with services.nginx_in_front(tmp_path, [str(client.make_url("")).rstrip("/")]) as url:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as http:
            async with http.get(f"{url}/m/{token}?x=1") as page:
                assert page.status == 200
            async with http.get(f"{url}/healthz") as other:
                assert other.status == 200
    logged = (tmp_path / "access.log").read_text()
    assert '"GET /m/***?x=1 HTTP/' in logged and '"GET /healthz HTTP/' in logged
    assert token not in logged


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
