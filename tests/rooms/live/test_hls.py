"""HLS of a livestream (rooms/live/hls.py, rooms/hls/): an aiortc WHIP publisher's H.264 and Opus become CMAF segments of
1-2 s at keyframes, served with the stream's rotating token (checked without the database, the same for every viewer);
anyone not entitled gets 404 on the URL call and on every playlist; at the end the segments are a seekable replay, a
platform file counted in the quota, deleted at its retention."""
from __future__ import annotations

import io
import re
import time

import av
from sqlalchemy import select, update

from rooms.keys import ROOMS_SETTINGS
from rooms.live.hls import check_token, current_token, stream_token
from rooms.live.replays import expired_replays
from rooms.models import LiveReplay
from server.appkeys import SETTINGS
from server.db import utcnow
from server.errors import NotFound
from server.files.models import OrgStorage, StoredFile
from tests.rooms.live.test_streams_api import start, url
from tests.rooms.live.test_whep import published_with_a_guest, whep_post
from tests.rooms.live.test_whip import gone
from tests.rooms.live.whip_client import close_all, publish, viewer_offer
from tests.server.groups.conftest import create_group, make_people_org, signed_in


async def hls_of(client, stream_id: int, headers: dict) -> dict:
    resp = await client.get(f"/api/v1/live/{stream_id}/hls", headers=headers)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def live_segments(client, playlist_url: str, count: int, seconds: float = 30) -> str:
    """The live playlist once it lists ``count`` segments."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        resp = await client.get(playlist_url)
        if resp.status == 200:
            text = await resp.text()
            if text.count("#EXTINF") >= count:
                return text
        await gone(lambda: False, 0.3)
    raise AssertionError(f"the live playlist never listed {count} segments")


def base_of(playlist_url: str) -> str:
    return playlist_url.rsplit("/", 1)[0] + "/"


async def published_to_a_member(client, db):
    """A group of one member (of two in the organisation), its stream published by aiortc over WHIP, and the member's HLS
    URLs: (org, stream, publisher, urls)."""
    org = await make_people_org(client, db, 2)
    group = await create_group(client, org, member_ids=[org.people[0].id])
    stream = await start(client, org, group)
    pc, _, _ = await publish(client, stream, stream["stream_key"])
    return org, stream, pc, await hls_of(client, stream["id"], org.people[0].headers)


async def test_a_members_hls_plays_the_publisher_in_keyframe_segments_and_only_with_the_streams_current_token(app, client, db, backend):
    org, stream, pc, urls = await published_to_a_member(client, db)
    try:
        assert urls["replay"] is None and urls["live"] == f"/hls/{stream['id']}/{urls['token']}/live.m3u8"
        assert urls == {**await hls_of(client, stream["id"], org.owner.headers), "refresh_s": urls["refresh_s"]}  # one token for all
        text = await live_segments(client, urls["live"], 3)
        assert text.startswith("#EXTM3U\n#EXT-X-VERSION:7\n") and "#EXT-X-ENDLIST" not in text
        durations = [float(d) for d in re.findall(r"#EXTINF:([\d.]+),", text)]
        # aiortc's encoder sends a keyframe only when asked (x264's default interval is 250 frames): the segmenter asks
        assert all(0.5 <= d <= 2.0 for d in durations[1:]), durations
        live = await client.get(urls["live"])
        assert live.headers["Cache-Control"] == "public, max-age=1" and live.content_type == "application/vnd.apple.mpegurl"
        base = base_of(urls["live"])
        init = await client.get(base + re.search(r'#EXT-X-MAP:URI="([^"]+)"', text).group(1))
        names = re.findall(r"^(\S+\.m4s)$", text, re.M)
        segment = await client.get(base + names[-1])
        assert init.status == segment.status == 200 and "immutable" in segment.headers["Cache-Control"]
        with av.open(io.BytesIO(await init.read() + await segment.read())) as container:
            assert {s.type for s in container.streams} == {"video", "audio"}
            assert container.streams.video[0].codec_context.name == "h264" and container.streams.audio[0].codec_context.name == "opus"
            packets = [p for p in container.demux(container.streams.video[0]) if p.size]
            assert packets[0].is_keyframe and len(packets) >= 10
            assert container.streams.video[0].codec_context.width == 640

        # not entitled: 404 for the URL call, for a made-up or another stream's token, for a token two periods old
        assert (await client.get(f"/api/v1/live/{stream['id']}/hls", headers=org.people[1].headers)).status == 404
        stranger = await signed_in(db, "Stranger")
        assert (await client.get(f"/api/v1/live/{stream['id']}/hls", headers=stranger.headers)).status == 404
        secret, period = app[SETTINGS].secret_key, app[ROOMS_SETTINGS].live_hls_token_s
        now_period = int(time.time() // period)
        other = stream_token(secret, stream["id"] + 1, now_period)
        for token in ("AAAAAAAAAAAAAAAAAAAAAA", other, stream_token(secret, stream["id"], now_period - 2)):
            for name in ("live.m3u8", names[-1], "replay.m3u8", "replay.mp4"):
                assert (await client.get(f"/hls/{stream['id']}/{token}/{name}")).status == 404, (token, name)
        previous = stream_token(secret, stream["id"], now_period - 1)
        assert (await client.get(f"/hls/{stream['id']}/{previous}/live.m3u8")).status == 200  # one period of grace
        assert (await client.get(base + "../../etc/passwd")).status == 404
    finally:
        await close_all(pc)


def test_the_token_is_the_streams_for_a_period_accepted_one_more_and_refused_after():
    secret, period, t0 = "test-secret-key", 60, 1_800_000_000.0
    token = current_token(secret, period, 7, t0)
    assert token == current_token(secret, period, 7, t0 + 1) and token != current_token(secret, period, 8, t0)
    check_token(secret, period, 7, token, t0 + period)  # the next period: still accepted
    for later in (t0 + 2 * period, t0 - period):
        try:
            check_token(secret, period, 7, token, later)
        except NotFound:
            continue
        raise AssertionError("an expired token was accepted")


async def test_a_guest_whose_link_is_withdrawn_gets_no_new_token_and_whep_beyond_capacity_is_503(app, client, db, backend):
    org, stream, link, guest, pc = await published_with_a_guest(client, db)
    try:
        urls = await hls_of(client, stream["id"], guest)
        app[ROOMS_SETTINGS].live_whep_viewers_per_stream = 0
        offer, _ = await viewer_offer()
        full = await whep_post(client, stream["id"], guest, offer.localDescription.sdp)
        assert full.status == 503 and (await full.json())["error"]["code"] == "viewers_full"
        await offer.close()
        withdrawn = await client.delete(url(org, f"/{stream['id']}/public-links/{link['public_link_id']}"), headers=org.owner.headers)
        assert withdrawn.status == 204
        assert (await client.get(f"/api/v1/live/{stream['id']}/hls", headers=guest)).status in (401, 404)
        assert urls["token"] == current_token(app[SETTINGS].secret_key, app[ROOMS_SETTINGS].live_hls_token_s, stream["id"])  # until it rotates
    finally:
        await close_all(pc)


async def test_the_ended_streams_segments_become_a_replay_file_within_5_s_that_seeks_and_expires(app, client, db, backend):
    org, stream, pc, urls = await published_to_a_member(client, db)
    try:
        await live_segments(client, urls["live"], 3)
        ended = await client.post(url(org, f"/{stream['id']}/end"), headers=org.owner.headers)
        assert ended.status == 200
        began = time.monotonic()
        replay = None
        while time.monotonic() - began < 5:
            replay = (await hls_of(client, stream["id"], org.people[0].headers))["replay"]
            if replay:
                break
            await gone(lambda: False, 0.2)
        assert replay, "no replay within 5 s of the end"
    finally:
        await close_all(pc)
    vod = await (await client.get(replay)).text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in vod and vod.endswith("#EXT-X-ENDLIST\n") and vod.count("#EXTINF") >= 3
    ended_live = await (await client.get(urls["live"].replace(urls["token"], (await hls_of(client, stream["id"], org.owner.headers))["token"]))).text()
    assert ended_live.endswith("#EXT-X-ENDLIST\n")  # live viewers' players stop at the end

    ranges = [tuple(map(int, r)) for r in re.findall(r"BYTERANGE[:=]\"?(\d+)@(\d+)", vod)]
    file_url = base_of(replay) + "replay.mp4"
    whole = await client.get(file_url)
    data = await whole.read()
    assert whole.status == 200 and "immutable" in whole.headers["Cache-Control"]
    size, offset = ranges[2]  # seeking: the second media segment by its byte range
    part = await client.get(file_url, headers={"Range": f"bytes={offset}-{offset + size - 1}"})
    assert part.status == 206 and await part.read() == data[offset : offset + size]
    with av.open(io.BytesIO(data)) as container:
        frames = sum(1 for p in container.demux(container.streams.video[0]) if p.size)
        assert frames >= 30
    with av.open(io.BytesIO(data[: ranges[0][0]] + data[offset : offset + size])) as container:  # init + that segment alone
        assert next(p for p in container.demux(container.streams.video[0]) if p.size).is_keyframe

    async with db.transaction() as tx:
        row = await tx.session.scalar(select(LiveReplay).where(LiveReplay.stream_id == stream["id"]))
        file = await tx.session.get(StoredFile, row.file_id)
        held = await tx.session.scalar(select(OrgStorage.reserved_bytes).where(OrgStorage.org_id == org.id))
    assert row.status == "ready" and file.owner_kind == "live_replay" and file.size == len(data) == row.size_bytes and held >= len(data)
    download = f"/api/v1/orgs/{org.id}/files/{file.id}"
    assert (await client.get(download, headers=org.people[0].headers)).status == 200  # the same people as the stream
    assert (await client.get(download, headers=org.people[1].headers)).status == 404

    async with db.transaction() as tx:
        await tx.session.execute(update(LiveReplay).where(LiveReplay.id == row.id).values(expires_at=row.started_at))
    assert [gone async for gone in expired_replays(app[SETTINGS])(db, utcnow())] == [1]
    async with db.transaction() as tx:
        assert await tx.session.get(StoredFile, file.id) is None
        assert await tx.session.scalar(select(OrgStorage.reserved_bytes).where(OrgStorage.org_id == org.id)) == held - len(data)
    assert (await hls_of(client, stream["id"], org.people[0].headers))["replay"] is None
    assert (await client.get(replay)).status == 404
