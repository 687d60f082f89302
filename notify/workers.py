"""The background work of each node: perform due escalation steps, and send the outbound queue at the provider's pace.

Started and stopped with the app (``app.cleanup_ctx``). Every node runs the
same loops against the same tables; the claims in notify/escalation.py and
notify/outbound.py are what keep two nodes from doing the same thing. A loop
sleeps until the next due time it knows of, at most ``engine_idle_s``, or
until this node queues something (``wake``); work created on another node is
seen at the latest ``engine_idle_s`` later.
"""
from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from notify.broadcasts import do_store_pending_recipients
from notify.config import NotifySettings
from notify.escalation import do_perform_due_steps, next_due_at
from notify.live import publish_now
from notify.models import Broadcast, BroadcastRecipient
from notify.outbound import ClaimedMessage, Outcome, claim_paced, do_record_outcomes
from notify.texts import CALL, SMS, SPEECH_LANGUAGE
from server.bus import Bus
from server.channels.providers.base import OutgoingCall, ProviderError, ProviderRetryable
from server.channels.registry import Channels, Message
from server.db import Database, utcnow
from server.i18n import translate

log = logging.getLogger("muster.notify")

HORIZON_S = 1.0  # how far ahead a node claims send slots
RECORD_EVERY_S = 0.1
PENDING_EVERY_S = 5.0  # how often a node looks for broadcasts whose recipients a crashed node did not store


class Workers:
    def __init__(self, db: Database, bus: Bus, settings: NotifySettings, channels: Channels, *, node: str, public_url: str,
                 default_locale: str = "en"):
        self.db, self.bus, self.settings, self.channels = db, bus, settings, channels
        self.provider = channels.provider
        self.node = node
        self.public_url = public_url.rstrip("/")
        self.default_locale = default_locale  # of people who chose no language
        self.rates = {"sms": settings.sms_per_s, "call": settings.calls_per_s, "push": settings.push_per_s}
        self._steps_due = asyncio.Event()
        self._queued = {channel: asyncio.Event() for channel in self.rates}
        self._outcomes: list[Outcome] = []
        self._texts: dict[int, tuple[str, str, int | None]] = {}
        self._tasks: list[asyncio.Task] = []
        self._sending: set[asyncio.Task] = set()
        self._stopping = asyncio.Event()

    # --- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._forever(self._escalate_once, "escalation"))]
        for channel in self.rates:
            self._tasks.append(loop.create_task(self._forever(lambda c=channel: self._send_once(c), f"{channel} sender")))
        self._tasks.append(loop.create_task(self._forever(self._record_once, "outcome recorder")))
        self._tasks.append(loop.create_task(self._forever(self._store_pending_once, "pending recipients")))

    async def stop(self) -> None:
        """Let each loop finish the transaction it is in, and each send in flight its request, then cancel what is left.

        A task cancelled inside a transaction can leave its connection open and
        holding locks; a message claimed but not yet sent is left to its lease.
        """
        self._stopping.set()
        running = self._tasks + list(self._sending)
        if running:
            _, late = await asyncio.wait(running, timeout=self.settings.request_timeout_s + 1.0)
            for task in late:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        if self._outcomes:
            await self._record_once()

    def wake(self) -> None:
        """Something was scheduled on this node: look at the steps now rather than after the idle sleep."""
        self._steps_due.set()

    async def _forever(self, once, name: str) -> None:
        while not self._stopping.is_set():
            try:
                await once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notify %s failed; retrying in a second", name)
                await self._pause(1.0)

    async def _pause(self, seconds: float) -> None:
        """Sleep, cut short when the node stops."""
        try:
            await asyncio.wait_for(self._stopping.wait(), max(seconds, 0.0))
        except TimeoutError:
            pass

    async def _wait(self, event: asyncio.Event, timeout_s: float) -> None:
        """Sleep until ``event`` is set or the node stops, at most ``timeout_s``."""
        waiters = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(self._stopping.wait())]
        await asyncio.wait(waiters, timeout=max(timeout_s, 0.0), return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        event.clear()

    # --- escalation --------------------------------------------------------

    async def _escalate_once(self) -> None:
        done = await do_perform_due_steps(self.db, node=self.node, limit=self.settings.engine_batch)
        if done.get("queued"):
            for event in self._queued.values():
                event.set()
        if sum(done.values()) >= self.settings.engine_batch:
            return  # more may be due right now
        due = await next_due_at(self.db)
        sleep_s = self.settings.engine_idle_s if due is None else min((due - utcnow()).total_seconds(), self.settings.engine_idle_s)
        await self._wait(self._steps_due, sleep_s)

    async def _store_pending_once(self) -> None:
        """A node that told the devices and stopped before storing the recipient rows leaves them pending: store them.
        A send still in progress stores its own in well under the grace period; if not, the row lock makes it wait."""
        if await do_store_pending_recipients(self.db, older_than_s=PENDING_EVERY_S):
            self._steps_due.set()
        await self._pause(PENDING_EVERY_S)

    # --- sending -----------------------------------------------------------

    async def _send_once(self, channel: str) -> None:
        if channel != "push" and self.provider is None:
            await self._fail_unsendable(channel)
            return
        claimed, next_free = await claim_paced(
            self.db, channel=channel, rate_per_s=self.rates[channel], node=self.node, lease_s=self.settings.claim_lease_s, horizon_s=HORIZON_S
        )
        if claimed:
            await self._load_texts({m.broadcast_id for m in claimed})
            for message in claimed:
                task = asyncio.get_running_loop().create_task(self._send_at_slot(message))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)
        ahead_s = (next_free - utcnow()).total_seconds()
        if ahead_s > HORIZON_S / 2:
            await self._pause(ahead_s - HORIZON_S / 2)  # the rate, not the queue, is the limit now
        elif not claimed:
            await self._wait(self._queued[channel], self.settings.engine_idle_s)

    async def _fail_unsendable(self, channel: str) -> None:
        """No provider configured: SMS and calls cannot go; record them as failed so the sender sees why."""
        claimed, _ = await claim_paced(self.db, channel=channel, rate_per_s=1000, node=self.node, lease_s=self.settings.claim_lease_s)
        for message in claimed:
            self._outcomes.append(Outcome(message, error="no SMS/phone provider is configured (MUSTER_NOTIFY_PROVIDER)"))
        if not claimed:
            await self._wait(self._queued[channel], self.settings.engine_idle_s)

    async def _load_texts(self, broadcast_ids: set[int]) -> None:
        if len(self._texts) > 1000:
            self._texts.clear()
        missing = broadcast_ids - self._texts.keys()
        if missing:
            async with self.db.transaction() as tx:
                rows = await tx.session.execute(
                    select(Broadcast.id, Broadcast.title, Broadcast.body, Broadcast.sender_id).where(Broadcast.id.in_(missing))
                )
                for row in rows:
                    self._texts[row.id] = (row.title, row.body, row.sender_id)

    async def _send_at_slot(self, message: ClaimedMessage) -> None:
        await self._pause((message.slot_at - utcnow()).total_seconds())
        if self._stopping.is_set():
            return  # not sent: another node, or this one restarted, takes it over when its lease runs out
        try:
            ref = await self._deliver(message)
            self._outcomes.append(Outcome(message, provider_ref=ref))
        except ProviderError as e:
            self._outcomes.append(Outcome(message, error=e.message, retryable=isinstance(e, ProviderRetryable), retry_after_s=e.retry_after_s))
        except Exception as e:  # a bug must not leave the message 'sending' until the lease runs out
            log.exception("sending outbound message %d failed", message.id)
            self._outcomes.append(Outcome(message, error=f"internal error: {type(e).__name__}", retryable=True))

    async def _deliver(self, message: ClaimedMessage) -> str:
        title, body, _ = self._texts[message.broadcast_id]
        key = f"muster-{message.id}"
        callbacks = f"{self.public_url}/api/v1/notify/callbacks/{message.callback_token}"
        locale = message.locale or self.default_locale
        if message.channel == "sms":
            text = translate(locale, SMS, title=title, body=body)
            return await self.channels["sms"].send(Message(0, "", text, to=message.to, idempotency_key=key, status_url=f"{callbacks}/status"))
        if message.channel == "call":
            speech = translate(locale, CALL, title=title, body=body)
            call = OutgoingCall(message.to, speech, f"{callbacks}/gather", f"{callbacks}/status", key, SPEECH_LANGUAGE[locale])
            return await self.provider.place_call(self.channels.http, call)
        data = {"type": "broadcast", "broadcast_id": message.broadcast_id, "org_id": message.org_id, "lang": locale}
        return await self.channels["push"].send(Message(int(message.to), title, body, data=data))

    async def _record_once(self) -> None:
        await self._pause(RECORD_EVERY_S)
        if not self._outcomes:
            return
        outcomes, self._outcomes = self._outcomes, []
        try:
            ended = await do_record_outcomes(self.db, outcomes, max_attempts=self.settings.max_attempts, retry_base_s=self.settings.retry_base_s)
        except Exception:
            self._outcomes[:0] = outcomes  # kept for the next try: lost, they would be sent again once their lease ran out
            raise
        if len(ended) < len(outcomes):
            for event in self._queued.values():
                event.set()  # retries are due later; a sender idling on its event rechecks
        await self._publish_deliveries(ended)

    async def _publish_deliveries(self, ended: list[Outcome]) -> None:
        by_broadcast: dict[int, list] = {}
        recipient_users = await self._recipient_users({o.message.recipient_id for o in ended})
        for o in ended:
            status = "sent" if o.error is None else "failed"
            by_broadcast.setdefault(o.message.broadcast_id, []).append([recipient_users.get(o.message.recipient_id), o.message.channel, status])
        for broadcast_id, changes in by_broadcast.items():
            await publish_now(self.bus, broadcast_id, self._texts.get(broadcast_id, (None, None, None))[2], "deliveries", changes)

    async def _recipient_users(self, recipient_ids: set[int]) -> dict[int, int]:
        if not recipient_ids:
            return {}
        async with self.db.transaction() as tx:
            rows = await tx.session.execute(select(BroadcastRecipient.id, BroadcastRecipient.user_id).where(BroadcastRecipient.id.in_(recipient_ids)))
            return dict(rows.all())
