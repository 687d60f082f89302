"""The channels' API: Web Push subscriptions, a person's notification settings, an organisation's SMS digest and paid allowances;
and the organisation's notification settings page (``/admin/notifications``, a section of its settings for admins).

Also opens the node's channels (``app[CHANNELS]``) with the app and closes them after every capability stopped.
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web
from sqlalchemy import delete

from server.api import endpoint
from server.appkeys import DB, PRINCIPAL, SETTINGS
from server.audit.record import do_audit
from server.channels import personal_data
from server.channels.config import ChannelSettings
from server.channels.models import PushSubscription
from server.channels.paid import counters_pruning, limit_of, next_reset, used_today
from server.channels.preferences import DEFAULTS, clock_text, do_set_sms_digest, do_update_preferences, has_push, preferences_of, \
    sms_digest_orgs
from server.channels.providers.configured import configured_provider
from server.channels.push_endpoints import check_push_endpoint
from server.channels.registry import CHANNELS, Channels
from server.channels.schemas import (
    NotificationSettingsIn,
    NotificationSettingsOut,
    OrgNotificationSettingsIn,
    OrgNotificationSettingsOut,
    PaidAllowanceOut,
    PaidAllowancesOut,
    PushKeyOut,
    PushSubscriptionIn,
)
from server.db import utcnow
from server.errors import NotFound
from server.i18n import _
from server.orgs.access import OrgContext
from server.orgs.settings_sections import SettingsSection, register_settings_section
from server.personal_data.parts import register_personal_data
from server.retention.registry import register_pruning
from server.web.routes import WEB_ROUTE_PREFIX, page_handler

routes = web.RouteTableDef()
WEB = Path(__file__).parent / "web"


@routes.get("/api/v1/push-key")
@endpoint(response=PushKeyOut)
async def push_key(request: web.Request) -> PushKeyOut:
    """The VAPID public key browsers subscribe to Web Push with."""
    key = request.app[CHANNELS].settings.vapid_public_key
    if not key:
        raise NotFound("Web Push is not configured on this server")
    return PushKeyOut(public_key=key)


@routes.post("/api/v1/push-subscriptions")
@endpoint(body=PushSubscriptionIn, status=204)
async def subscribe_push(request: web.Request, body: PushSubscriptionIn) -> None:
    """Store this browser's Web Push subscription for the caller (replacing any other owner of the same endpoint).

    The endpoint must be https at a public address (400 ``push_endpoint_not_public``)."""
    await check_push_endpoint(body.endpoint, allow_private=request.app[CHANNELS].settings.push_allow_private)
    user_id = request[PRINCIPAL].user_id
    async with request.app[DB].transaction() as tx:
        await tx.session.execute(delete(PushSubscription).where(PushSubscription.endpoint == body.endpoint))
        tx.session.add(PushSubscription(user_id=user_id, endpoint=body.endpoint, p256dh=body.keys["p256dh"], auth=body.keys["auth"]))


@routes.post("/api/v1/push-subscriptions/delete")
@endpoint(body=PushSubscriptionIn, status=204)
async def unsubscribe_push(request: web.Request, body: PushSubscriptionIn) -> None:
    """Forget this browser's subscription (when the person signs out of it)."""
    async with request.app[DB].transaction() as tx:
        await tx.session.execute(
            delete(PushSubscription).where(PushSubscription.endpoint == body.endpoint, PushSubscription.user_id == request[PRINCIPAL].user_id)
        )


async def _settings_out(tx, user_id: int, preferences=None) -> NotificationSettingsOut:
    preferences = preferences or (await preferences_of(tx, [user_id])).get(user_id, DEFAULTS)
    return NotificationSettingsOut(
        quiet_hours_start=clock_text(preferences.quiet_start_min),
        quiet_hours_end=clock_text(preferences.quiet_end_min),
        mentions_when_muted=preferences.mentions_when_muted,
        push_subscribed=await has_push(tx, user_id),
    )


@routes.get("/api/v1/me/notification-settings")
@endpoint(response=NotificationSettingsOut)
async def my_notification_settings(request: web.Request) -> NotificationSettingsOut:
    """When the server may push to the caller: quiet hours, mentions from muted groups (groups are muted with ``PUT .../mute``)."""
    async with request.app[DB].transaction() as tx:
        return await _settings_out(tx, request[PRINCIPAL].user_id)


@routes.patch("/api/v1/me/notification-settings")
@endpoint(body=NotificationSettingsIn, response=NotificationSettingsOut)
async def change_notification_settings(request: web.Request, body: NotificationSettingsIn) -> NotificationSettingsOut:
    """Set quiet hours ("HH:MM" both, or null both) or whether mentions reach the caller from muted groups."""
    user_id = request[PRINCIPAL].user_id
    async with request.app[DB].transaction() as tx:
        return await _settings_out(tx, user_id, await do_update_preferences(tx, user_id, body))


@routes.get("/api/v1/orgs/{org_id}/notification-settings")
@endpoint(response=OrgNotificationSettingsOut, role="admin")
async def org_notification_settings(request: web.Request, org: OrgContext) -> OrgNotificationSettingsOut:
    """The organisation's choices: whether members Web Push cannot reach get an SMS digest of their mentions (admins)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        return OrgNotificationSettingsOut(sms_digest=org.org_id in await sms_digest_orgs(tx, [org.org_id]))


@routes.patch("/api/v1/orgs/{org_id}/notification-settings")
@endpoint(body=OrgNotificationSettingsIn, response=OrgNotificationSettingsOut, role="admin")
async def change_org_notification_settings(request: web.Request, body: OrgNotificationSettingsIn, org: OrgContext) -> OrgNotificationSettingsOut:
    """Turn the SMS digest on or off (admins; counted against the organisation's SMS allowance, never past it)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        if await do_set_sms_digest(tx, org.org_id, body.sms_digest):
            await do_audit(tx, org.principal, "notification_settings.changed", details={"sms_digest": body.sms_digest})
        return OrgNotificationSettingsOut(sms_digest=body.sms_digest)


@routes.get("/api/v1/orgs/{org_id}/paid-allowances")
@endpoint(response=PaidAllowancesOut, role="admin")
async def paid_allowances(request: web.Request, org: OrgContext) -> PaidAllowancesOut:
    """How many SMS and calls the organisation may send a day and how many today (UTC) used (admins; read-only: the operator sets them)."""
    settings = request.app[CHANNELS].settings
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        used = await used_today(tx, org.org_id)
    return PaidAllowancesOut(
        channels=[
            PaidAllowanceOut(channel=channel, per_day=limit_of(settings, channel, "org"), used_today=used.get(channel, 0),
                             per_number_per_day=limit_of(settings, channel, "number"))
            for channel in ("sms", "call")
        ],
        resets_at=next_reset(utcnow()),
    )


async def _open_channels(app: web.Application):
    await app[CHANNELS].open()
    yield
    await app[CHANNELS].close()


def setup(app: web.Application) -> None:
    settings = ChannelSettings()
    app[CHANNELS] = Channels(app[DB], settings, configured_provider(settings))
    app.router.add_routes(routes)
    app.cleanup_ctx.append(_open_channels)
    register_personal_data(app, personal_data.PART)
    register_pruning(app, counters_pruning(app[SETTINGS].retention_batch))
    # The organisation's choices are a section of its settings, on a page of their own; a person's are on /account.
    app.router.add_get("/admin/notifications", page_handler(WEB / "notifications.html"), name=WEB_ROUTE_PREFIX + "channels-notifications")
    app.router.add_static("/channels/static/", WEB / "static", name=WEB_ROUTE_PREFIX + "channels-static", append_version=False)
    register_settings_section(app, SettingsSection("notifications", "/admin/notifications", _("Notifications"), 60))
