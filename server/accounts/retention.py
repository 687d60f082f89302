"""What of accounts the retention job prunes (server/retention/), ``MUSTER_RETENTION_ENDED_DAYS`` after it ended.

Pruned: device sessions that expired or were signed out, remembered devices
that expired (a revoked one keeps its expiry and goes with it), sign-in links
that expired, account notices the person has read. Nothing refers to these
rows once they ended; a person's device list shows only live sessions, their
notices only unread ones.

Pruned where they are written, so not here: failed logins (older than the
rate limit's window, at each failure: ratelimit.py) and sign-in codes sent by
SMS (older than their limits' window, at each ask: phone_codes.py).

Kept: accounts, unread account notices, guest invites (an organisation's
record of whom it let in).
"""
from __future__ import annotations

import datetime as dt

from aiohttp import web

from server.accounts.models import AccountNotice, DeviceSession, SignInLink, TrustedDevice
from server.appkeys import SETTINGS
from server.retention.registry import aged_rows, register_pruning


def setup(app: web.Application) -> None:
    settings = app[SETTINGS]
    ended, batch = dt.timedelta(days=settings.retention_ended_days), settings.retention_batch
    register_pruning(app, aged_rows("expired device sessions", DeviceSession.expires_at, ended, batch=batch))
    register_pruning(app, aged_rows("signed-out device sessions", DeviceSession.revoked_at, ended, batch=batch))
    register_pruning(app, aged_rows("expired remembered devices", TrustedDevice.expires_at, ended, batch=batch))
    register_pruning(app, aged_rows("expired sign-in links", SignInLink.expires_at, ended, batch=batch))
    register_pruning(app, aged_rows("account notices read", AccountNotice.read_at, ended, batch=batch))
