"""How rooms/ plugs into the platform (see server/capabilities.py).

Adds the meetings API, the meetings page and the meeting page at the join link (with their place in the
navigation and the home page's "meetings starting soon"), the ``meeting.*`` frames of the device WebSocket and
this node's SFU workers, and registers meetings as something guests can join and recordings as a kind of file owner
(rooms/meetings/recordings.py). Someone who loses the
organisation leaves its meetings on this node (rooms/meetings/revocation.py).

Livestreams (rooms/live/): their API, their WHIP ingest into and WHEP viewers of the same SFU workers, their
room (chat, likes, hands, attendance; the ``live.watch`` frame of the device WebSocket and its events), their
watch and studio pages, their public links as guest invites, and the end of a host's streams when they lose the
group or the organisation.

Consultations (rooms/consultations/): clinics, their queues at public links, the patients' and doctors' pages,
the ``consultation.here`` frame that keeps a waiting patient's place, and patients' sessions as the
``consultation`` guest scope.
"""
import logging
from pathlib import Path

from aiohttp import web

from server.capabilities import Capability


def setup(app: web.Application) -> None:
    from rooms.config import RoomsSettings
    from rooms.keys import LIVE_MEETINGS, ROOMS_SETTINGS
    from rooms.meetings import guests, home, personal_data, recordings, revocation, routes  # noqa: F401  (guests registers the "meeting" scope)
    from rooms import web as meeting_page
    from rooms.meetings.live import LiveMeetings

    from server.appkeys import DB, HUB, SETTINGS
    from server.personal_data.parts import register_personal_data

    settings = app[ROOMS_SETTINGS] = RoomsSettings()
    platform = app[SETTINGS]
    app[LIVE_MEETINGS] = LiveMeetings(app[DB], settings, platform)
    app[LIVE_MEETINGS].attach(app[HUB])
    revocation.attach(app)
    app.router.add_routes(routes.routes)
    register_personal_data(app, personal_data.PART)
    recordings.setup(app)
    meeting_page.setup(app)
    home.setup(app)
    app.cleanup_ctx.append(_run_media)
    _setup_live(app)
    _setup_consultations(app)


def _setup_consultations(app: web.Application) -> None:
    from rooms.consultations import patients, routes  # noqa: F401  (patients registers the "consultation" scope)
    from rooms.consultations.presence import Presence

    from server.appkeys import DB, HUB

    Presence(app[DB]).attach(app[HUB])
    app.router.add_routes(routes.routes)


def _setup_live(app: web.Application) -> None:
    from rooms.keys import LIVE_MEETINGS, ROOMS_SETTINGS
    from rooms.live import guests, hls, home, personal_data, replays, revocation, room_routes, routes, whep, whip  # noqa: F401  (guests registers the "live" scope, revocation its hook)
    from rooms.live.ingest import StreamIngest
    from rooms.live.keys import ANNOUNCER, LIKES, STREAM_INGEST, STREAM_ROOMS
    from rooms.live.likes import Likes
    from rooms.live.notices import Announcer
    from rooms.live.room import StreamRooms

    from server.appkeys import BUS, DB, HUB, SETTINGS
    from server.channels.registry import CHANNELS
    from server.personal_data.parts import register_personal_data
    from server.gateway.presence import PRESENCE
    from server.revocation import on_access_revoked

    settings, platform = app[ROOMS_SETTINGS], app[SETTINGS]
    app[STREAM_INGEST] = StreamIngest(app[DB], settings, platform, lambda: app[LIVE_MEETINGS].router)
    app[STREAM_INGEST].attach(app[BUS])
    app[STREAM_ROOMS] = StreamRooms(app[DB])
    app[STREAM_ROOMS].attach(app[HUB], app[BUS])
    app[LIKES] = Likes(app[DB], settings)
    app[ANNOUNCER] = Announcer(app[DB], app[CHANNELS], app[PRESENCE], default_locale=platform.default_locale, push_per_s=settings.live_push_per_s)
    app.router.add_routes(routes.routes)
    app.router.add_routes(room_routes.routes)
    app.router.add_routes(whip.routes)
    app.router.add_routes(whep.routes)
    hls.setup(app)
    replays.setup(app)
    on_access_revoked(app, app[STREAM_INGEST].drop_viewers)
    on_access_revoked(app, app[STREAM_ROOMS].drop)
    register_personal_data(app, personal_data.PART)
    home.setup(app)
    app.cleanup_ctx.append(_run_live)


async def _run_live(app: web.Application):
    """The publishers of this node go before the SFU workers do (cleanup runs in reverse order)."""
    from rooms.live.keys import ANNOUNCER, LIKES, STREAM_INGEST

    await app[STREAM_INGEST].start()
    await app[LIKES].start()
    yield
    await app[LIKES].stop()
    await app[STREAM_INGEST].stop()
    await app[ANNOUNCER].close()


async def _run_media(app: web.Application):
    """The SFU workers of this node start and stop with the app; recordings made before they were platform files move first.

    A database that cannot answer yet (not migrated, not reachable) does not
    stop the node from starting, as it stops none of its other workers: the
    move is tried again at the next start.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from rooms.keys import LIVE_MEETINGS
    from rooms.meetings.recordings import adopt_old_recordings
    from server.appkeys import DB, SETTINGS
    from server.errors import Unavailable

    try:
        await adopt_old_recordings(app[DB], app[SETTINGS])
    except (SQLAlchemyError, Unavailable) as error:
        logging.getLogger("muster.rooms").warning("old recordings not moved to the platform's files yet (%s); the next start tries again",
                                                  type(error).__name__)
    await app[LIVE_MEETINGS].start()
    yield
    await app[LIVE_MEETINGS].stop()


capability = Capability(
    name="rooms",
    setup=setup,
    models="rooms.models",
    migrations=Path(__file__).parent / "migrations",
    locales=Path(__file__).parent / "locales",
    demo="rooms.demo",
)
