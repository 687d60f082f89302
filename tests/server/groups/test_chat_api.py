"""What the chat page needs of the API: edit window, search highlights, forwarding, thumbnails, voice messages."""
from __future__ import annotations

import datetime as dt
import io
from fractions import Fraction

import av
from PIL import Image
from sqlalchemy import select, update

from server.accounts.auth import Principal
from server.files.models import OrgStorage
from server.files.storage import thumbnail_path
from server.groups.access import load_group
from server.groups.forwarding import do_forward
from server.groups.messages import do_edit_message, do_react
from server.groups.models import GroupMessage
from server.orgs.access import OrgContext
from tests.server.groups.conftest import add_bulk_members, create_group, post
from tests.server.groups.test_messages import statements_of
from tests.server.groups.test_uploads import create, send


def png(width: int = 1200, height: int = 800) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def webm_voice(seconds: float = 1.5) -> bytes:
    """Opus in WebM, as MediaRecorder records it (no duration in the header)."""
    out = io.BytesIO()
    with av.open(out, "w", format="webm") as container:
        stream = container.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        samples = int(48000 * seconds)
        for start in range(0, samples, 960):
            frame = av.AudioFrame(format="s16", layout="mono", samples=960)
            frame.planes[0].update(bytes(frame.planes[0].buffer_size))
            frame.sample_rate, frame.pts, frame.time_base = 48000, start, Fraction(1, 48000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


async def upload(client, org, group_id, person, data: bytes, filename: str, filetype: str):
    location = (await create(client, org, group_id, person, len(data), filename=filename, filetype=filetype)).headers["Location"]
    done = await send(client, location, person, data)
    assert done.status == 204, await done.text()
    return int(done.headers["Muster-File-Id"]), int(done.headers["Muster-Message-Seq"])


async def test_an_edit_after_the_window_is_refused_and_bad_mentions_are_clear_4xx(client, db, org, settings):
    group = await create_group(client, org)
    msg = await (await post(client, org, group["id"], org.people[0], "first")).json()
    async with db.transaction(org_id=org.id) as tx:
        old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=settings.group_edit_window_s + 5)
        await tx.session.execute(update(GroupMessage).where(GroupMessage.seq == msg["seq"]).values(created_at=old))
    resp = await client.patch(org.url(f"/groups/{group['id']}/messages/{msg['seq']}"), json={"body": "changed"}, headers=org.people[0].headers)
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "edit_window_passed"
    not_member = await post(client, org, group["id"], org.people[0], "hi @x", mentions=[org.people[0].id + 10_000])
    error = (await not_member.json())["error"]
    assert not_member.status == 400 and error["field"] == "mentions"
    everyone = await post(client, org, group["id"], org.people[0], "@all hi", mention_all=True)
    assert everyone.status == 403 and (await everyone.json())["error"]["field"] == "mention_all"
    history = await (await client.get(org.url(f"/groups/{group['id']}/messages"), headers=org.owner.headers)).json()
    assert [m["body"] for m in history["messages"]] == ["first"]


async def test_search_hits_say_where_the_words_stand(client, org):
    group = await create_group(client, org)
    await post(client, org, group["id"], org.people[0], "Lunch at noon? lunch is on me, 今天的健康报告")
    hits = (await (await client.get(org.url("/group-messages/search"), params={"q": "lunch 健康"}, headers=org.people[1].headers)).json())["messages"]
    assert len(hits) == 1
    body = hits[0]["body"]
    assert [body[a:b] for a, b in hits[0]["highlights"]] == ["Lunch", "lunch", "健康"]


async def test_a_forwarded_message_takes_its_file_along_and_outlives_the_original(client, db, org, settings):
    team = await create_group(client, org, name="Team")
    other = await create_group(client, org, name="Other", member_ids=[org.people[0].id, org.people[2].id])
    text = await (await post(client, org, team["id"], org.people[1], "see you at 9")).json()
    file_id, seq = await upload(client, org, team["id"], org.people[0], b"quarterly", "q.pdf", "application/pdf")
    forward = org.url(f"/groups/{team['id']}/messages/{{}}/forward")
    copied = await client.post(forward.format(text["seq"]), json={"group_id": other["id"]}, headers=org.people[0].headers)
    body = await copied.json()
    assert copied.status == 201 and body["body"] == "see you at 9" and body["sender_id"] == org.people[0].id
    assert body["forwarded_from"] == {"group_id": team["id"], "seq": text["seq"], "sender_id": org.people[1].id}
    with_file = await (await client.post(forward.format(seq), json={"group_id": other["id"]}, headers=org.people[0].headers)).json()
    assert with_file["kind"] == "file" and with_file["file"]["id"] != file_id and with_file["file"]["filename"] == "q.pdf"
    copy_url = org.url(f"/groups/{other['id']}/files/{with_file['file']['id']}")
    assert await (await client.get(copy_url, headers=org.people[2].headers)).read() == b"quarterly"
    assert (await client.get(org.url(f"/files/{with_file['file']['id']}"), headers=org.people[1].headers)).status == 404
    async with db.transaction(org_id=org.id) as tx:
        assert await tx.session.scalar(select(OrgStorage.reserved_bytes).where(OrgStorage.org_id == org.id)) == 2 * len(b"quarterly")
    assert (await client.post(org.url(f"/groups/{team['id']}/messages/{seq}/recall"), headers=org.people[0].headers)).status == 200
    assert await (await client.get(copy_url, headers=org.people[2].headers)).read() == b"quarterly"
    # Only into one's own groups; a recalled message is not forwarded.
    not_mine = await client.post(forward.format(text["seq"]), json={"group_id": other["id"]}, headers=org.people[1].headers)
    assert not_mine.status == 403 and (await not_mine.json())["error"]["message"] == "you are not a member of this group"
    recalled = await client.post(forward.format(seq), json={"group_id": other["id"]}, headers=org.people[0].headers)
    assert recalled.status == 400 and (await recalled.json())["error"]["code"] == "recalled"


async def test_an_image_has_a_thumbnail_for_those_who_may_read_it_that_goes_with_it(client, org, settings):
    group = await create_group(client, org, member_ids=[org.people[0].id])
    file_id, seq = await upload(client, org, group["id"], org.people[0], png(), "photo.png", "image/png")
    url = org.url(f"/files/{file_id}/thumbnail")
    resp = await client.get(url, headers=org.owner.headers)
    assert resp.status == 200 and resp.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(await resp.read())) as thumb:
        assert thumb.size == (320, 213)
    assert (await client.get(url, headers=org.people[1].headers)).status == 404  # not in the group
    key = next(p.name for p in thumbnail_path(settings, "x").parent.iterdir()).removesuffix(".jpg")
    assert thumbnail_path(settings, key).exists()
    assert (await client.post(org.url(f"/groups/{group['id']}/messages/{seq}/recall"), headers=org.people[0].headers)).status == 200
    assert not thumbnail_path(settings, key).exists() and (await client.get(url, headers=org.owner.headers)).status == 404
    pdf_id, _ = await upload(client, org, group["id"], org.people[0], b"%PDF-", "a.pdf", "application/pdf")
    assert (await client.get(org.url(f"/files/{pdf_id}/thumbnail"), headers=org.owner.headers)).status == 404
    bomb = io.BytesIO()
    Image.new("1", (8000, 7000)).save(bomb, "PNG")  # 56 megapixels in a few kilobytes
    bomb_id, _ = await upload(client, org, group["id"], org.people[0], bomb.getvalue(), "bomb.png", "image/png")
    assert (await client.get(org.url(f"/files/{bomb_id}/thumbnail"), headers=org.owner.headers)).status == 404


async def test_a_recorded_voice_message_is_posted_with_its_length(client, org):
    group = await create_group(client, org)
    _, seq = await upload(client, org, group["id"], org.people[0], webm_voice(1.5), "voice.webm", "audio/webm")
    message = (await (await client.get(org.url(f"/groups/{group['id']}/messages"), headers=org.owner.headers)).json())["messages"][-1]
    assert message["seq"] == seq and message["kind"] == "voice"
    assert 1400 <= message["duration_ms"] <= 1600
    _, not_audio = await upload(client, org, group["id"], org.people[0], b"not really audio", "x.ogg", "audio/ogg")
    message = (await (await client.get(org.url(f"/groups/{group['id']}/messages"), headers=org.owner.headers)).json())["messages"][-1]
    assert (message["seq"], message["kind"], message["duration_ms"]) == (not_audio, "file", None)


async def test_edits_reactions_and_forwards_cost_the_same_for_10_and_for_10000_members(client, db, org, settings):
    costs = []
    source = await create_group(client, org, name="Source")
    for size in (10, 10_000):
        group = await create_group(client, org, name=f"{size}")
        await add_bulk_members(db, org.id, group["id"], size - 4, prefix=f"g{size}-{org.id}")
        seq = (await (await post(client, org, group["id"], org.owner, "hello")).json())["seq"]
        original = (await (await post(client, org, source["id"], org.owner, "pass it on")).json())["seq"]
        edit = await statements_of(db, org, group["id"], lambda tx, access: do_edit_message(tx, access, settings, seq, "hello!"))
        react = await statements_of(db, org, group["id"], lambda tx, access: do_react(tx, access, seq, "👍", on=True))

        async def forward(tx, target):
            owner = OrgContext(org.id, Principal(user_id=org.owner.id, session_id=0, name="Owner"), None, "owner")
            source_access = await load_group(tx, owner, source["id"])
            await do_forward(tx, source_access, target, settings, original)

        costs.append((len(edit), len(react), len(await statements_of(db, org, group["id"], forward))))
    assert costs[0] == costs[1], costs
