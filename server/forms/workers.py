"""The forms worker of each node: rounds that open, recurrences that come due, reminders to send.

Started and stopped with the app (``MUSTER_FORMS_ENGINE``). Every node runs
the same loop against the same tables; the conditional UPDATEs in rounds.py
and reminders.py are what keep two nodes from doing the same thing. The loop
sleeps until the next reminder it knows of, at most ``IDLE_S``, or until this
node asks it to look now (``wake``, after "remind the rest" or a round made to
open at once).
"""
from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from server.appkeys import DB, SETTINGS
from server.channels.providers.base import ProviderError
from server.channels.registry import CHANNELS, Channels, Message
from server.db import Database, utcnow
from server.forms.reminders import Outreach, claim_due, do_remind_batch, next_due_at
from server.forms.rounds import do_make_scheduled_rounds, do_open_due_rounds
from server.gateway.presence import PRESENCE, Presence

log = logging.getLogger("muster.forms")

IDLE_S = 5.0


class FormsWorker:
    def __init__(self, db: Database, channels: Channels, presence: Presence, settings) -> None:
        self.db, self.channels, self.presence, self.settings = db, channels, presence, settings
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._sending: set[asyncio.Task] = set()

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._forever(self.run_once, "rounds and reminders"))]

    async def stop(self) -> None:
        self._stopping.set()
        running = self._tasks + list(self._sending)
        if running:
            _, late = await asyncio.wait(running, timeout=10)
            for task in late:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def _forever(self, once, name: str) -> None:
        while not self._stopping.is_set():
            try:
                await once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("forms %s failed; retrying in a second", name)
                await self._sleep(1.0)

    async def _sleep(self, seconds: float, event: asyncio.Event | None = None) -> None:
        waiters = [asyncio.ensure_future(self._stopping.wait())] + ([asyncio.ensure_future(event.wait())] if event else [])
        await asyncio.wait(waiters, timeout=max(seconds, 0.0), return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()

    async def run_once(self) -> None:
        """One pass: open what is due, then send what is due; then sleep until the next thing due (or a wake)."""
        self._wake.clear()
        while await do_make_scheduled_rounds(self.db):
            pass
        while await do_open_due_rounds(self.db):
            pass
        for reminder_id, org_id in await claim_due(self.db, node=self.settings.node_name):
            await self.remind(reminder_id, org_id)
        due = await next_due_at(self.db)
        sleep_s = IDLE_S if due is None else min((due - utcnow()).total_seconds(), IDLE_S)
        if sleep_s > 0:
            await self._sleep(sleep_s, self._wake)

    async def remind(self, reminder_id: int, org_id: int) -> int:
        """Go through a claimed reminder batch by batch; returns how many people were told in the app."""
        told = 0
        while not self._stopping.is_set():
            batch = await do_remind_batch(
                self.db, reminder_id, org_id, node=self.settings.node_name, size=self.settings.forms_reminder_batch, presence=self.presence,
                channels=self.channels.settings, public_url=self.settings.public_url, default_locale=self.settings.default_locale,
            )
            if batch is None:
                break
            told += batch.reminded
            self._send_later(batch.outreach)
            if not batch.more:
                break
        return told

    def _send_later(self, outreach: Outreach) -> None:
        if outreach.push or outreach.sms:
            task = asyncio.get_running_loop().create_task(self._send(outreach))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, outreach: Outreach) -> None:
        if outreach.push and self.channels.push_enabled:
            await self.channels["push"].send_all(outreach.push, per_s=self.settings.forms_push_per_s)
        for message in outreach.sms:
            await self._sms(message)
            await self._sleep(1.0 / self.settings.forms_sms_per_s)

    async def _sms(self, message: Message) -> None:
        try:
            await self.channels["sms"].send(message)
        except ProviderError as e:
            log.info("a form reminder SMS was not delivered: %s", e.message)


FORMS_WORKER = web.AppKey("forms_worker", FormsWorker)


def setup_worker(app: web.Application) -> None:
    app[FORMS_WORKER] = FormsWorker(app[DB], app[CHANNELS], app[PRESENCE], app[SETTINGS])
    if app[SETTINGS].forms_engine:
        app.cleanup_ctx.append(_run)


async def _run(app: web.Application):
    await app[FORMS_WORKER].start()
    yield
    await app[FORMS_WORKER].stop()
