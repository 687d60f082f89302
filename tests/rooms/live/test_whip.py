"""WHIP ingest (RFC 9725) with real aiortc publishers: 201 + Location + answer, media reaching the SFU room, one
publisher only (409), keys checked (401), trickle ICE, DELETE, CORS; and ending or re-keying drops the publisher at once."""
from __future__ import annotations

import asyncio

from sqlalchemy import select

from rooms.keys import LIVE_MEETINGS
from rooms.live.ingest import media_room
from rooms.live.keys import STREAM_INGEST
from rooms.models import LiveStream
from tests.rooms.live.test_streams_api import start, url
from tests.rooms.live.whip_client import publish, publisher_offer, watch_in_sfu, whip_post
from tests.server.groups.conftest import create_group, make_people_org


async def live_stream(client, db):
    org = await make_people_org(client, db, 1)
    group = await create_group(client, org)
    when = "2030-01-01T09:00:00Z"
    return org, await start(client, org, group, scheduled_at=when)


async def row(db, stream) -> LiveStream:
    async with db.transaction() as tx:
        return await tx.session.scalar(select(LiveStream).where(LiveStream.id == stream["id"]))


async def gone(predicate, seconds: float = 5.0) -> bool:
    for _ in range(int(seconds * 20)):
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


async def test_obs_style_publish_reaches_the_sfu_room_and_a_second_publisher_gets_409_not_a_takeover(app, client, db):
    org, stream = await live_stream(client, db)
    pc, location, etag = await publish(client, stream, stream["stream_key"])
    second = None
    viewer_pc = viewer = None
    try:
        assert location.startswith(f"/whip/{stream['id']}/") and etag.startswith('"')
        video = pc.remoteDescription.sdp.split("m=video", 1)[1]
        assert "H264/90000" in video and "VP8" not in video and "packetization-mode=1" in video  # a stream's video is H.264
        stored = await row(db, stream)
        assert stored.status == "live" and stored.publisher_id == location.rsplit("/", 1)[1]  # the publisher started it
        viewer_pc, frame, viewer = await watch_in_sfu(app, stream["id"])
        assert frame.width == 640  # the publisher's camera, forwarded by the SFU: the viewer came late, so it decodes
        # from a keyframe it asked for, whose IDR fragments follow a STAP-A it skipped: the SPS/PPS came from the track

        second = await publisher_offer()
        refused = await whip_post(client, stream, stream["stream_key"], second.localDescription.sdp)
        assert refused.status == 409 and (await refused.json())["error"]["code"] == "already_publishing"
        assert refused.headers["Access-Control-Allow-Origin"] == "*"
        assert (await row(db, stream)).publisher_id == stored.publisher_id
        frame = await asyncio.wait_for(viewer_pc.getTransceivers()[0].receiver.track.recv(), 10)  # still the first one's
        assert frame.width == 640
    finally:
        for peer in (pc, second, viewer_pc):
            if peer is not None:
                await peer.close()
        if viewer is not None:
            await viewer.leave()


async def test_wrong_missing_or_revoked_keys_are_401_and_changing_the_key_drops_the_publisher(app, client, db):
    org, stream = await live_stream(client, db)
    offer = await publisher_offer()
    try:
        for key in (None, "mlk_wrong", stream["stream_key"] + "x"):
            resp = await whip_post(client, stream, key, offer.localDescription.sdp)
            assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await whip_post(client, {"id": 10**12}, stream["stream_key"], offer.localDescription.sdp)).status == 404
    finally:
        await offer.close()

    pc, location, _ = await publish(client, stream, stream["stream_key"])
    try:
        renewed = await (await client.post(url(org, f"/{stream['id']}/stream-key"), headers=org.owner.headers)).json()
        ingest = app[STREAM_INGEST]
        assert await gone(lambda: not ingest.publishers)
        assert (await row(db, stream)).publisher_id is None
        assert await gone(lambda: media_room(stream["id"]) not in app[LIVE_MEETINGS].router.rooms)
        offer = await publisher_offer()
        assert (await whip_post(client, stream, stream["stream_key"], offer.localDescription.sdp)).status == 401  # the old key
        await offer.close()
    finally:
        await pc.close()
    pc, location, _ = await publish(client, stream, renewed["stream_key"])  # the new one publishes
    await pc.close()


async def test_trickle_ice_patch_and_its_refusals(app, client, db):
    org, stream = await live_stream(client, db)
    pc, location, etag = await publish(client, stream, stream["stream_key"])
    key = {"Authorization": f"Bearer {stream['stream_key']}"}
    frag = "a=ice-ufrag:{ufrag}\r\na=ice-pwd:x\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 {port} typ host\r\na=end-of-candidates\r\n"
    ufrag = pc.localDescription.sdp.split("a=ice-ufrag:", 1)[1].split()[0]
    try:
        trickle = {**key, "Content-Type": "application/trickle-ice-sdpfrag"}
        ok = await client.patch(location, data=frag.format(ufrag=ufrag, port=9999), headers={**trickle, "If-Match": etag})
        assert ok.status == 204, await ok.text()
        stale = await client.patch(location, data=frag.format(ufrag=ufrag, port=9998), headers={**trickle, "If-Match": '"stale"'})
        assert stale.status == 412
        restart = await client.patch(location, data=frag.format(ufrag="newufrag", port=9997), headers=trickle)
        assert restart.status == 422
        wrong_type = await client.patch(location, data="a=end-of-candidates\r\n", headers={**key, "Content-Type": "text/plain"})
        assert wrong_type.status == 415
        unknown = await client.patch(f"/whip/{stream['id']}/nope", data=frag.format(ufrag=ufrag, port=1), headers=trickle)
        assert unknown.status == 404
        assert (await client.patch(location, data="", headers={"Content-Type": "application/trickle-ice-sdpfrag"})).status == 401
        assert pc.connectionState == "connected"
    finally:
        await pc.close()


async def test_delete_ends_the_session_and_the_stream_and_the_key_stops_working(app, client, db):
    org, stream = await live_stream(client, db)
    pc, location, _ = await publish(client, stream, stream["stream_key"])
    key = {"Authorization": f"Bearer {stream['stream_key']}"}
    try:
        assert (await client.delete(f"/whip/{stream['id']}/other", headers=key)).status == 404
        resp = await client.delete(location, headers=key)
        assert resp.status == 200
        assert not app[STREAM_INGEST].publishers and media_room(stream["id"]) not in app[LIVE_MEETINGS].router.rooms
        stored = await row(db, stream)
        assert stored.status == "ended" and stored.publisher_id is None
        offer = await publisher_offer()
        assert (await whip_post(client, stream, stream["stream_key"], offer.localDescription.sdp)).status == 401
        await offer.close()
    finally:
        await pc.close()


async def test_ending_the_stream_from_the_api_drops_its_publisher_at_once(app, client, db):
    org, stream = await live_stream(client, db)
    pc, _, _ = await publish(client, stream, stream["stream_key"])
    try:
        assert (await client.post(url(org, f"/{stream['id']}/end"), headers=org.owner.headers)).status == 200
        assert await gone(lambda: not app[STREAM_INGEST].publishers)
        assert await gone(lambda: pc.connectionState in ("failed", "closed"), 15), pc.connectionState  # the SFU closed its DTLS
    finally:
        await pc.close()


async def test_bad_offers_and_bodies_are_refused_with_reasons_before_any_media(app, client, db):
    org, stream = await live_stream(client, db)
    key = stream["stream_key"]
    malformed = await whip_post(client, stream, key, "v=0\r\nthis is not sdp\r\n")
    assert malformed.status == 400 and (await malformed.json())["error"]["code"] == "bad_offer"
    viewer_only = await publisher_offer(video=False, audio=False)
    viewer_only.addTransceiver("video", direction="recvonly")
    await viewer_only.setLocalDescription(await viewer_only.createOffer())
    recv = await whip_post(client, stream, key, viewer_only.localDescription.sdp)
    assert recv.status == 400 and "must send media" in (await recv.json())["error"]["message"]
    await viewer_only.close()
    no_codec = await publisher_offer(audio=False)
    sdp = no_codec.localDescription.sdp.replace("VP8/90000", "VP7/90000").replace("H264/90000", "H263/90000")
    refused = await whip_post(client, stream, key, sdp)
    assert refused.status == 400 and "offers no" in (await refused.json())["error"]["message"]
    await no_codec.close()
    wrong_type = await whip_post(client, stream, key, "v=0", content_type="application/json")
    assert wrong_type.status == 415
    assert (await row(db, stream)).publisher_id is None and not app[STREAM_INGEST].publishers


async def test_cors_preflight_needs_no_key_and_every_answer_carries_cors(client, db):
    org, stream = await live_stream(client, db)
    for path, methods in ((f"/whip/{stream['id']}", "POST"), (f"/whip/{stream['id']}/abc", "PATCH")):
        resp = await client.options(path, headers={"Origin": "https://studio.example", "Access-Control-Request-Method": methods})
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == "*" and methods in resp.headers["Access-Control-Allow-Methods"]
        assert "Authorization" in resp.headers["Access-Control-Allow-Headers"] and "Location" in resp.headers["Access-Control-Expose-Headers"]


async def test_a_publisher_that_vanishes_gives_the_stream_back_so_it_can_be_published_again(short_media_timeout, app, client, db):
    org, stream = await live_stream(client, db)
    pc, _, _ = await publish(client, stream, stream["stream_key"])
    await pc.close()  # gone without a DELETE: the SFU hears nothing more from it
    for _ in range(200):
        stored = await row(db, stream)
        if stored.publisher_id is None:
            break
        await asyncio.sleep(0.05)
    assert stored.publisher_id is None and stored.status == "live"  # the stream goes on: the publisher may come back
    assert not app[STREAM_INGEST].publishers
    pc, _, _ = await publish(client, stream, stream["stream_key"])
    await pc.close()


async def test_a_publisher_on_one_media_worker_process_reaches_a_viewer_on_the_other(media_processes, app, client, db):
    org, stream = await live_stream(client, db)
    pc, _, _ = await publish(client, stream, stream["stream_key"])
    viewer_pc = viewer = None
    try:
        viewer_pc, frame, viewer = await watch_in_sfu(app, stream["id"])
        assert viewer.worker != app[STREAM_INGEST].publishers[next(iter(app[STREAM_INGEST].publishers))].participant.worker
        assert frame.width == 640  # H.264 over the fan-out between worker processes
    finally:
        for peer in (pc, viewer_pc):
            if peer is not None:
                await peer.close()
        if viewer is not None:
            await viewer.leave()


async def test_a_publisher_that_does_not_come_back_within_the_grace_period_ends_the_stream(short_media_timeout, monkeypatch, app, client, db):
    monkeypatch.setattr(app[STREAM_INGEST].settings, "live_grace_s", 1.0)
    org, stream = await live_stream(client, db)
    pc, _, _ = await publish(client, stream, stream["stream_key"])
    await pc.close()
    for _ in range(300):
        stored = await row(db, stream)
        if stored.status == "ended":
            break
        await asyncio.sleep(0.05)
    assert stored.status == "ended" and stored.key_hash is None
