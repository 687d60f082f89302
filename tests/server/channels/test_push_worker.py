"""Web Push from the node's push worker process (server/channels/push_worker.py): encrypted, signed and sent there, at the
pace given, to the fake push service that checks VAPID and decrypts (tests/notify/fake_push.py)."""
from __future__ import annotations

import asyncio
import json
import os
import signal

import pytest

from server.channels.config import ChannelSettings
import http_ece
from cryptography.hazmat.primitives.asymmetric import ec

from server.channels.push_worker import BAD_KEY, NICE, STOPPED, PushWorker, starts_after
from server.channels.webpush import RECORD_SIZE, Browser, VapidSigner, encrypt
from tests.notify.fake_push import FakePushService, b64url, forbid_encrypting_here, public_point, unb64url, vapid_keys


@pytest.fixture
async def service_and_worker():
    private, public = vapid_keys()
    service = FakePushService(public)
    await service.start()
    worker = PushWorker(ChannelSettings(vapid_private_key=private, vapid_public_key=public, push_allow_private=True))
    yield service, worker
    await worker.close()
    await service.stop()


def browser_of(n: int, subscription) -> Browser:
    keys = subscription.as_browser_gives_it()["keys"]
    return Browser(n, subscription.endpoint, keys["p256dh"], keys["auth"])


async def test_pushes_are_encrypted_signed_and_sent_by_the_worker_process_at_the_pace_given(service_and_worker, monkeypatch):
    service, worker = service_and_worker
    forbid_encrypting_here(monkeypatch)
    subscriptions = [service.subscribe() for _ in range(10)]
    gone = service.subscribe()
    gone.gone = True
    pushes = [([browser_of(n, s)], {"type": "test", "n": n}) for n, s in enumerate(subscriptions)]
    pushes.append(([browser_of(99, gone)], {"type": "test", "n": 99}))
    loop = asyncio.get_running_loop()

    started = loop.time()
    pushed, forgotten = await worker.push(pushes, per_s=20)

    assert loop.time() - started >= 10 / 20  # the 11th push starts half a second after the first
    assert [p.sent for p in pushed] == ["1 browser(s)"] * 10 + [None]
    assert (pushed[-1].error, pushed[-1].retryable, forgotten) == ("every Web Push subscription has expired", False, [99])
    assert [[m["payload"] for m in s.messages] for s in subscriptions] == [[{"type": "test", "n": n}] for n in range(10)]
    assert {m["urgency"] for s in subscriptions for m in s.messages} == {"high"} and service.refused == []
    assert worker.pid not in (None, os.getpid())
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, worker.pid) == min(19, mine + NICE)  # live frames first where cores are scarce


async def test_a_worker_that_dies_fails_its_pushes_as_retryable_and_the_next_push_starts_another(service_and_worker):
    service, worker = service_and_worker
    subscription = service.subscribe()
    slow = asyncio.create_task(worker.push([([browser_of(1, subscription)], {"n": n}) for n in range(5)], per_s=1))
    while worker.pid is None:
        await asyncio.sleep(0.05)
    first = worker.pid
    await asyncio.sleep(0.5)
    os.kill(first, signal.SIGKILL)

    pushed, forgotten = await slow
    assert {(p.sent, p.error, p.retryable) for p in pushed} == {(None, STOPPED, True)} and forgotten == []

    (again,), _ = await worker.push([([browser_of(1, subscription)], {"n": "again"})])
    assert again.result() == "1 browser(s)"
    assert worker.pid not in (None, first)
    assert subscription.messages[-1]["payload"] == {"n": "again"}


def test_a_paced_job_starts_a_tenth_of_a_seconds_pushes_at_once_and_keeps_the_pace():
    """Bursts: pushes started one by one, 5 ms apart, woke the worker from sleep for each (0.9 ms of CPU a push, 0.6 in bursts of 20)."""
    assert [starts_after(n, 200) for n in (0, 19, 20, 39, 40, 999)] == [0.0, 0.0, 0.1, 0.1, 0.2, 4.9]
    assert [starts_after(n, 20) for n in range(5)] == [0.0, 0.0, 0.1, 0.1, 0.2]
    assert [starts_after(n, 1) for n in range(3)] == [0.0, 1.0, 2.0]  # under ten a second: one at a time
    assert all(starts_after(n, per_s) <= n / per_s for per_s in (0.5, 3, 50, 200, 1000) for n in range(2000))  # never later than evenly spread
    assert all(starts_after(n, per_s) > n / per_s - 0.1 for per_s in (3, 50, 200, 1000) for n in range(2000))  # nor more than a tick earlier


@pytest.mark.parametrize("length", [2, 3000, 9000])
def test_a_push_is_one_aes128gcm_record_a_browser_decrypts_whatever_its_length(length):
    """RFC 8291 as a browser reads it (http_ece, the reference implementation), a new key pair and salt each time."""
    browser, auth = ec.generate_private_key(ec.SECP256R1()), os.urandom(16)
    data = json.dumps({"body": "通" * (length // 3)}).encode()[:length] if length > 2 else b"{}"
    first, second = (encrypt(data, b64url(public_point(browser)), b64url(auth)) for _ in range(2))
    for body in (first, second):
        assert http_ece.decrypt(body, private_key=browser, auth_secret=auth, version="aes128gcm") == data
        assert int.from_bytes(body[16:20], "big") == max(RECORD_SIZE, len(data) + 17)  # one record: the data, its delimiter, the tag
    assert first[:16] != second[:16] and first[21:86] != second[21:86]  # salt and the server's public key


def claims_of(headers: dict) -> dict:
    token = headers["Authorization"].split("t=", 1)[1].split(",", 1)[0]
    return json.loads(unb64url(token.split(".")[1]))


def test_a_vapid_token_is_signed_once_per_push_service_and_again_an_hour_before_it_expires():
    private, _ = vapid_keys()
    signer = VapidSigner(private, "mailto:ops@example.org")
    now = 1_800_000_000.0
    first = signer.headers("https://push.example.org/push/a", now)
    assert signer.headers("https://push.example.org/push/b", now + 60) is first  # the same service: the same token
    assert claims_of(first) == {"sub": "mailto:ops@example.org", "aud": "https://push.example.org", "exp": int(now) + 12 * 3600}
    assert claims_of(signer.headers("https://other.example.net/x", now))["aud"] == "https://other.example.net"
    renewed = signer.headers("https://push.example.org/push/a", now + 11 * 3600)
    assert renewed is not first and claims_of(renewed)["exp"] == int(now + 11 * 3600) + 12 * 3600


async def test_a_vapid_key_that_cannot_be_read_refuses_every_push_and_keeps_the_worker():
    worker = PushWorker(ChannelSettings(vapid_private_key="not-a-key", push_allow_private=True))
    try:
        browser = Browser(1, "http://127.0.0.1:9/push/x", "BKey", "secret")
        for _ in range(2):
            (pushed,), _ = await worker.push([([browser], {"n": 1})])
            assert (pushed.sent, pushed.error, pushed.retryable) == (None, BAD_KEY, False)
        assert worker.pid is not None  # the same worker answered both
    finally:
        await worker.close()
