"""Two media worker processes: subscribers on both receive every publisher, whichever worker it is on."""
import asyncio

from aiortc.rtcdtlstransport import RTCCertificate

from rooms.media.offer import OfferError
from rooms.media.probe import ProbeClient
from rooms.media.processes import ProcessRouter

CERT = RTCCertificate.generateCertificate()


async def test_subscribers_on_two_worker_processes_receive_publishers_from_both():
    router = await ProcessRouter.start(workers=2, host_addresses=["127.0.0.1"], tick=0.05)
    room = router.room("r")
    events = []
    room.on_event(events.append)
    clients = {}
    try:
        for name in ["a", "b", "c", "d"]:
            client = ProbeClient(CERT)
            participant = await room.add_participant(name)
            await client.accept(await participant.handle_offer(await client.offer()))
            clients[name] = client
        assert {n: room.participants[n].worker for n in clients} == {"a": 0, "b": 1, "c": 0, "d": 1}
        for _ in range(50):
            for name, level in (("a", 10), ("b", 20)):  # a on worker 0, b on worker 1
                clients[name].send_audio(level)
            await asyncio.sleep(0.02)
        counts = {name: sorted(c.received.values(), reverse=True) for name, c in clients.items()}
        assert all(sum(counts[n]) > 60 for n in "cd"), counts  # hear both a and b, across workers
        assert len(clients["c"].received) >= 2 and len(clients["d"].received) >= 2
        assert sum(counts["a"]) > 30 and sum(counts["b"]) > 30  # a hears b (other worker) and b hears a
        stats = [await router.call(i, "stats") for i in range(2)]
        assert all(s["forwarded"] > 50 for s in stats), stats
        assert {"event": "speaker", "room": "r", "participant": "a"} in events

        bad = await room.add_participant("mallory")
        try:
            await bad.handle_offer("v=0\r\n")
        except OfferError as exc:
            assert "m-lines" in str(exc)
        else:
            raise AssertionError("bad offer answered")
    finally:
        for client in clients.values():
            await client.close()
        await router.close()
