"""WHEP (draft-ietf-wish-whep) with real aiortc peers: a member's recvonly viewer decodes the frames of an aiortc WHIP
publisher through the SFU; who may watch (others 404); not live 409; sending offers 400; DELETE leaves; an ended
stream or a withdrawn public link drops the viewer at once."""
from __future__ import annotations

import asyncio

from aiortc import RTCSessionDescription

from rooms.live.keys import STREAM_INGEST
from tests.rooms.live.test_streams_api import guest_by_link, start, url
from tests.rooms.live.test_whip import gone
from tests.rooms.live.whip_client import close_all, publish, publisher_offer, viewer_offer
from tests.server.groups.conftest import create_group, make_people_org, signed_in


async def whep_post(client, stream_id: int, headers: dict, sdp: str):
    return await client.post(f"/whep/{stream_id}", data=sdp.encode(), headers={**headers, "Content-Type": "application/sdp"})


async def watch(client, stream_id: int, headers: dict):
    """Watch over WHEP until a video frame decodes; returns the peer, the frame and the session's Location."""
    pc, tracks = await viewer_offer()
    resp = await whep_post(client, stream_id, headers, pc.localDescription.sdp)
    assert resp.status == 201, await resp.text()
    assert resp.headers["Location"].startswith(f"/whep/{stream_id}/") and resp.headers["ETag"].startswith('"')
    assert resp.headers["Access-Control-Allow-Origin"] == "*"  # a player on another origin may read it
    await pc.setRemoteDescription(RTCSessionDescription(await resp.text(), "answer"))
    assert await gone(lambda: "video" in tracks, 10)
    frame = await asyncio.wait_for(tracks["video"].recv(), 15)
    return pc, frame, resp.headers["Location"]


async def test_a_member_watches_the_whip_publisher_over_whep_and_leaves(app, client, db, backend):
    org = await make_people_org(client, db, 2)
    group = await create_group(client, org, member_ids=[org.people[0].id])
    stream = await start(client, org, group)
    pc, _, _ = await publish(client, stream, stream["stream_key"])
    viewer_pc = None
    try:
        viewer_pc, frame, location = await watch(client, stream["id"], org.people[0].headers)
        assert frame.width == 640  # the publisher's camera, H.264 through the SFU, from the keyframe asked on join
        ingest = app[STREAM_INGEST]
        assert len(ingest.viewers) == 1 and len(ingest.publishers) == 1

        offer, _ = await viewer_offer()
        for headers, status in ((org.people[1].headers, 404), ({}, 401)):  # in the organisation but not the group; nobody
            assert (await whep_post(client, stream["id"], headers, offer.localDescription.sdp)).status == status
        stranger = await signed_in(db, "Stranger")
        refused = await whep_post(client, stream["id"], stranger.headers, offer.localDescription.sdp)
        assert refused.status == 404 and refused.headers["Access-Control-Allow-Origin"] == "*"
        preflight = await client.options(f"/whep/{stream['id']}")
        assert preflight.status == 204 and preflight.headers["Access-Control-Allow-Origin"] == "*"
        assert (await whep_post(client, stream["id"] + 1000, org.people[0].headers, offer.localDescription.sdp)).status == 404
        assert (await client.get(f"/api/v1/live/{stream['id']}", headers=org.people[1].headers)).status == 404
        page_view = await (await client.get(f"/api/v1/live/{stream['id']}", headers=org.people[0].headers)).json()
        assert page_view["org_id"] == org.id and page_view["status"] == "live" and page_view["whip_url"] is None
        await offer.close()

        sending = await publisher_offer()
        refused = await whep_post(client, stream["id"], org.people[0].headers, sending.localDescription.sdp)
        assert refused.status == 400 and "recvonly" in (await refused.json())["error"]["message"]
        await sending.close()

        ufrag = viewer_pc.localDescription.sdp.split("a=ice-ufrag:", 1)[1].split()[0]
        fragment = f"a=ice-ufrag:{ufrag}\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\na=end-of-candidates\n"
        trickle = {"Content-Type": "application/trickle-ice-sdpfrag"}
        patched = await client.patch(location, data=fragment, headers=org.people[0].headers | trickle)
        assert patched.status == 204 and patched.headers["ETag"].startswith('"')
        assert (await client.patch(location, data=fragment, headers=org.owner.headers | trickle)).status == 404  # an admin, not theirs
        whip_session = location.replace("/whep/", "/whip/")  # the stream key reaches the publisher's session only
        assert (await client.patch(whip_session, data=fragment, headers={"Authorization": f"Bearer {stream['stream_key']}"} | trickle)).status == 404
        assert (await client.delete(location, headers=org.people[1].headers)).status == 404  # not theirs
        assert (await client.delete(location, headers=org.people[0].headers)).status == 200
        assert ingest.viewers == {}
    finally:
        await close_all(pc, viewer_pc)


async def test_a_stream_not_live_is_409_and_ending_it_drops_its_viewers_at_once(app, client, db, backend):
    org = await make_people_org(client, db, 1)
    group = await create_group(client, org)
    scheduled = await start(client, org, group, scheduled_at="2030-01-01T09:00:00Z")
    offer, _ = await viewer_offer()
    not_live = await whep_post(client, scheduled["id"], org.people[0].headers, offer.localDescription.sdp)
    assert not_live.status == 409 and (await not_live.json())["error"]["code"] == "not_live"
    await offer.close()

    pc, _, _ = await publish(client, scheduled, scheduled["stream_key"])
    viewer_pc = None
    try:
        viewer_pc, _, _ = await watch(client, scheduled["id"], org.people[0].headers)
        ended = await client.post(url(org, f"/{scheduled['id']}/end"), headers=org.owner.headers)
        assert ended.status == 200
        assert await gone(lambda: not app[STREAM_INGEST].viewers)
    finally:
        await close_all(pc, viewer_pc)


async def published_with_a_guest(client, db):
    """A stream that allows guests, a guest who came by its public link, and its aiortc WHIP publisher:
    (org, stream, link, guest's headers, publisher)."""
    org = await make_people_org(client, db, 1)
    group = await create_group(client, org)
    stream = await start(client, org, group, allow_guests=True)
    link = await (await client.post(url(org, f"/{stream['id']}/public-links"), json={}, headers=org.owner.headers)).json()
    guest = await guest_by_link(client, link)
    pc, _, _ = await publish(client, stream, stream["stream_key"])
    return org, stream, link, guest, pc


async def test_a_guest_watches_by_the_public_link_and_is_dropped_when_it_is_withdrawn(app, client, db, backend):
    org, stream, link, guest, pc = await published_with_a_guest(client, db)
    viewer_pc = None
    try:
        viewer_pc, frame, _ = await watch(client, stream["id"], guest)
        assert frame.width == 640
        withdrawn = await client.delete(url(org, f"/{stream['id']}/public-links/{link['public_link_id']}"), headers=org.owner.headers)
        assert withdrawn.status == 204
        assert await gone(lambda: not app[STREAM_INGEST].viewers)
        assert app[STREAM_INGEST].publishers  # the publisher goes on
    finally:
        await close_all(pc, viewer_pc)
