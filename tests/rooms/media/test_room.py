"""Rooms with light probe clients: speaker selection, errors that stay with their sender."""
import asyncio

from aiortc.rtcdtlstransport import RTCCertificate

from rooms.media.offer import OfferError
from rooms.media.probe import ProbeClient
from rooms.media.router import LocalRouter

CERT = RTCCertificate.generateCertificate()


async def join(room, name, **options) -> ProbeClient:
    client = ProbeClient(CERT, **options)
    participant = await room.add_participant(name)
    await client.accept(await participant.handle_offer(await client.offer()))
    client.participant = participant
    return client


async def talk(clients_levels, seconds):
    for _ in range(int(seconds / 0.02)):
        for client, level in clients_levels:
            client.send_audio(level)
        await asyncio.sleep(0.02)


async def test_each_listener_receives_the_three_loudest_others():
    router = await LocalRouter.start(tick=0.05)
    room = router.room("r")
    events = []
    room.on_event(events.append)
    try:
        speakers = [await join(room, f"s{i}") for i in range(5)]
        listener = await join(room, "listener", publish_audio=False)
        levels = [10, 20, 30, 90, 100]  # s0 loudest
        await talk(list(zip(speakers, levels)), 1.5)
        listener.received.clear()
        await talk(list(zip(speakers, levels)), 0.6)
        assert sorted(listener.received.values())[-1] > 20 and len(listener.received) == 3
        # s0 hears s1, s2, s3 (never itself)
        assert len(speakers[0].received) == 3
        assert {"event": "speaker", "room": "r", "participant": "s0"} in events
        assert listener.latencies and max(listener.latencies) < 0.5
    finally:
        for c in speakers + [listener]:
            await c.close()
        await router.close()


async def test_offer_without_fingerprint_is_refused_and_the_meeting_goes_on():
    router = await LocalRouter.start(tick=0.05)
    room = router.room("r")
    try:
        a = await join(room, "a")
        b = await join(room, "b")
        bad = ProbeClient(CERT)
        text = "".join(line + "\r\n" for line in (await bad.offer()).splitlines() if not line.startswith("a=fingerprint"))
        participant = await room.add_participant("mallory")
        try:
            await participant.handle_offer(text)
        except OfferError as exc:
            assert "fingerprint" in str(exc)
        else:
            raise AssertionError("offer without fingerprint was answered")
        b.received.clear()
        await talk([(a, 20)], 0.5)
        assert sum(b.received.values()) > 15
        await bad.close()
    finally:
        await a.close()
        await b.close()
        await router.close()


async def test_malformed_rtp_and_rtcp_are_reported_to_their_sender_only():
    router = await LocalRouter.start(tick=0.05)
    room = router.room("r")
    events = []
    room.on_event(events.append)
    try:
        a = await join(room, "a")
        b = await join(room, "b")
        a.transport.send_rtp(bytes.fromhex("a06f0001000000010000000200"))  # padding length 0
        a.transport.send_rtcp(bytes.fromhex("81c90007" "00000005"))  # length past the end
        b.received.clear()
        await talk([(a, 20)], 0.5)
        assert sum(b.received.values()) > 15
        errors = [(e["participant"], e["kind"]) for e in events if e["event"] == "error"]
        assert errors == [("a", "rtp"), ("a", "rtcp")]
        assert "padding" in next(e["message"] for e in events if e.get("kind") == "rtp")
    finally:
        await a.close()
        await b.close()
        await router.close()


async def test_silent_audio_nobody_hears_is_not_fanned_out_to_other_workers():
    router = await LocalRouter.start(workers=2, tick=0.05)
    room = router.room("r")
    clients = []
    try:
        for name in ["t0", "t1", "t2", "t3", "quiet", "listener"]:
            clients.append(await join(room, name))
        assert room.participants["quiet"].worker == 0 and room.participants["listener"].worker == 1
        talkers = [(c, 10 + 10 * i) for i, c in enumerate(clients[:4])] + [(clients[4], 127)]
        await talk(talkers, 1.0)
        on_worker_1 = {t.owner: t.received for t in router.workers[1].forwarder.tracks.values()}
        assert on_worker_1["quiet"] == 0  # 50 silent packets stayed on worker 0
        assert on_worker_1["t0"] > 30 and on_worker_1["t2"] > 30  # audible ones from worker 0 did cross
        assert next(t.received for t in router.workers[0].forwarder.tracks.values() if t.owner == "quiet") > 30  # its own worker got them
    finally:
        for c in clients:
            await c.close()
        await router.close()


async def test_leaving_removes_the_participants_tracks_from_every_worker():
    router = await LocalRouter.start(workers=2, tick=0.05)
    room = router.room("r")
    try:
        a, b, c = [await join(room, name) for name in "abc"]
        await talk([(a, 10), (b, 20)], 0.5)
        assert len(router.workers[0].forwarder.tracks) == len(router.workers[1].forwarder.tracks) == 3
        await b.participant.leave()
        await b.close()
        c.received.clear()
        await talk([(a, 10)], 0.5)
        assert [len(w.forwarder.tracks) for w in router.workers] == [2, 2]
        assert "b" not in room.participants and router.load == [2, 0]
        assert sum(c.received.values()) > 15  # the meeting goes on for the others
    finally:
        for client in (a, c):
            await client.close()
        await router.close()
