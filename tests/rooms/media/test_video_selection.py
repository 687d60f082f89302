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
