"""Video slots end to end: last-N with the speaker on stage, pin, screen share by renegotiation, seamless switches."""
import asyncio

from aiortc.rtcdtlstransport import RTCCertificate

from rooms.media.probe import ProbeClient
from rooms.media.router import LocalRouter

CERT = RTCCertificate.generateCertificate()
KEYFRAME = b"\x10\x00"  # VP8 descriptor S=1 PID=0, payload header with P=0


async def join(room, name, **options) -> ProbeClient:
    client = ProbeClient(CERT, **options)
    client.participant = await room.add_participant(name)
    await client.accept(await client.participant.handle_offer(await client.offer(), client.screen_mids))
    client.name = name
    return client


async def run(publishers, seconds, loud=None, screen=None):
    ts = 0
    for _ in range(int(seconds / 0.02)):
        ts += 1800
        for client in publishers:
            client.send_video(KEYFRAME + client.name.encode(), ts)
            client.send_audio(10 if client is loud else 127)
        if screen is not None:
            screen.send_video(KEYFRAME + b"screen-" + screen.name.encode(), ts, screen=True)
        await asyncio.sleep(0.02)


def shown(client, mid) -> bytes:
    return client.last_payload.get(client.slot_ssrcs[mid], b"")[2:]


async def test_stage_follows_the_speaker_pin_overrides_and_screen_share_reaches_everyone_else():
    router = await LocalRouter.start(tick=0.05)
    room = router.room("r")
    clients = []
    try:
        a, b, c = [await join(room, n, publish_video=True, audio_slots=0, screen_slot=(n == "a")) for n in "abc"]
        listener = await join(room, "listener", publish_audio=False, audio_slots=0, video_slots=2, screen_slot=True)
        clients = [a, b, c, listener]
        stage, second, screen_slot = "0", "1", "2"  # the listener's m-lines
        await run([a, b, c], 0.5)
        assert (shown(listener, stage), shown(listener, second)) == (b"a", b"b")

        listener.sequences = {}
        await run([a, b, c], 1.5, loud=c)
        assert (shown(listener, stage), shown(listener, second)) == (b"c", b"a")
        seqs = listener.sequences[listener.slot_ssrcs[stage]]
        assert all((y - x) & 0xFFFF == 1 for x, y in zip(seqs, seqs[1:]))  # a -> c on the stage, no gap or jump

        await listener.participant.pin("b")
        await run([a, b, c], 0.3, loud=c)
        assert shown(listener, stage) == b"b"

        a.publish_screen = True
        a.read_answer(await a.participant.handle_offer(await a.offer(), a.screen_mids))
        await run([a, b, c], 0.5, loud=c, screen=a)
        assert shown(listener, screen_slot) == b"screen-a"
        assert a.slot_ssrcs[a.screen_mids[0]] not in a.received  # the sharer does not get its own screen back
    finally:
        for client in clients:
            await client.close()
        await router.close()


async def test_publisher_gets_receiver_reports_and_the_lowest_subscriber_remb():
    from rooms.media import rtcp

    router = await LocalRouter.start(tick=0.05)
    room = router.room("r")
    clients = []
    try:
        publisher = await join(room, "pub", publish_video=True, audio_slots=0)
        slow = await join(room, "slow", publish_audio=False, audio_slots=0, video_slots=1)
        fast = await join(room, "fast", publish_audio=False, audio_slots=0, video_slots=1)
        clients = [publisher, slow, fast]
        await run([publisher], 0.3)
        slow.transport.send_rtcp(rtcp.Remb(1, 300_000, [slow.slot_ssrcs["0"]]).pack())
        fast.transport.send_rtcp(rtcp.Remb(2, 2_000_000, [fast.slot_ssrcs["0"]]).pack())
        publisher.rtcp.clear()
        await run([publisher], 1.3)
        packets = [p for data in publisher.rtcp for p in rtcp.parse_compound(data)]
        reports = [p for p in packets if isinstance(p, rtcp.ReceiverReport)]
        rembs = [p for p in packets if isinstance(p, rtcp.Remb)]
        video_block = next(b for b in reports[-1].reports if b.ssrc == publisher.video_ssrc)
        assert video_block.packets_lost == 0
        assert (publisher.video_seq - video_block.highest_sequence) % 65536 < 70  # at most ~1 s of packets behind
        assert rembs and rembs[-1].ssrcs == [publisher.video_ssrc] and abs(rembs[-1].bitrate - 300_000) < 1000
    finally:
        for client in clients:
            await client.close()
        await router.close()
