"""How notify/ plugs into the platform (see server/capabilities.py).

Adds the broadcasts API, its pages (with their places in the navigation and the home page's notices
waiting for confirmation) and the provider callbacks, the ``broadcast.receipt``
frame of the device WebSocket, the owner of broadcast attachments (server/files/),
the dashboard's bus subscription, its senders' right to preview audiences, the end of escalations to people who leave
(notify/revocation.py), and (unless ``MUSTER_NOTIFY_ENGINE=false``) this
node's escalation and sending workers.
"""
from pathlib import Path

from aiohttp import web

from server.capabilities import Capability


def setup(app: web.Application) -> None:
    from notify import attachments, callbacks, home, live, pages, personal_data, retention, revocation, routes  # noqa: F401  (revocation registers its handler)
    from notify.config import NotifySettings
    from notify.keys import NOTIFY_SETTINGS, RECEIPTS, WORKERS
    from notify.receipts import ReceiptBatcher
    from notify.workers import Workers
    from notify.broadcasts import granted_reach
    from server.appkeys import BUS, DB, HUB, SETTINGS
    from server.audiences.routes import register_audience_sender
    from server.channels.registry import CHANNELS
    from server.files.owners import FileOwner, register_file_owner
    from server.personal_data.parts import register_personal_data
    from server.retention.registry import register_pruning

    settings = NotifySettings()
    platform = app[SETTINGS]
    app[NOTIFY_SETTINGS] = settings
    app[WORKERS] = Workers(app[DB], app[BUS], settings, app[CHANNELS], node=platform.node_name, public_url=platform.public_url,
                           default_locale=platform.default_locale)
    app[RECEIPTS] = ReceiptBatcher(app[DB])
    app[HUB].on("broadcast.receipt", app[RECEIPTS].on_frame)
    live.attach(app)
    register_file_owner(app, FileOwner(attachments.BROADCAST_FILES, may_read=attachments.may_read, outsiders=True))
    register_personal_data(app, personal_data.PART)
    register_audience_sender(app, granted_reach)
    register_pruning(app, retention.done_steps_pruning(platform))
    app.router.add_routes(routes.routes)
    app.router.add_routes(callbacks.routes)
    pages.setup(app)
    home.setup(app)
    app.cleanup_ctx.append(_flush_receipts)
    if settings.engine:
        app.cleanup_ctx.append(_run_workers)


async def _flush_receipts(app: web.Application):
    from notify.keys import RECEIPTS

    yield
    await app[RECEIPTS].close()


async def _run_workers(app: web.Application):
    from notify.keys import WORKERS

    await app[WORKERS].start()
    yield
    await app[WORKERS].stop()


capability = Capability(
    name="notify",
    setup=setup,
    models="notify.models",
    migrations=Path(__file__).parent / "migrations",
    locales=Path(__file__).parent / "locales",
    demo="notify.demo",
)
