"""The meetings API: schedule and manage meetings (their invitees too) in an organisation, join one by its link."""
from __future__ import annotations

import datetime as dt

from aiohttp import web
from sqlalchemy import select

from rooms.keys import LIVE_MEETINGS, ROOMS_SETTINGS
from rooms.meetings import meetings as m
from rooms.meetings.ice import ice_servers
from rooms.meetings.recordings import do_note_download, do_delete_recording, may_read_recording
from rooms.meetings.schemas import (
    InviteeOut,
    InviteesIn,
    JoinIn,
    JoinOut,
    JoinQrOut,
    MeetingIn,
    MeetingOut,
    MeetingPatch,
    RecordingOut,
    UpcomingQuery,
)
from rooms.meetings.upcoming import people_of, upcoming_meetings
from rooms.models import Meeting, MeetingRecording
from server.accounts.auth import GuestScope
from server.accounts.totp import qr_svg
from server.accounts.guests import do_open_guest_session
from server.api import endpoint, path_int
from server.appkeys import DB, PRINCIPAL, SETTINGS
from server.audit.record import do_audit
from server.db import utcnow
from server.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound
from server.files.models import StoredFile
from server.files.routes import file_response, file_url
from server.orgs.access import OrgContext

routes = web.RouteTableDef()
MEETINGS = "/api/v1/orgs/{org_id}/meetings"
MEETING = MEETINGS + "/{meeting_id}"
RECORDINGS = MEETING + "/recordings"


async def _out(request: web.Request, tx, meeting: Meeting) -> MeetingOut:
    return (await _outs(request, tx, [meeting]))[0]


async def _outs(request: web.Request, tx, meetings: list[Meeting]) -> list[MeetingOut]:
    """The meetings as answered, with their co-hosts and invitees read in two queries for all of them."""
    cohosts, invitees = await people_of(tx, [meeting.id for meeting in meetings])
    public_url = request.app[SETTINGS].public_url
    return [
        MeetingOut(
            id=meeting.id, org_id=meeting.org_id, title=meeting.title, host_id=meeting.host_id, scheduled_at=meeting.scheduled_at,
            duration_min=meeting.duration_min, status=meeting.status, locked=meeting.locked, lobby_enabled=meeting.lobby_enabled,
            cap=meeting.cap, has_passcode=meeting.passcode_hash is not None, join_url=m.join_url(public_url, meeting),
            cohost_ids=cohosts[meeting.id], invitee_ids=invitees[meeting.id], created_at=meeting.created_at,
        )
        for meeting in meetings
    ]


def _visible(org: OrgContext, meeting_id: int) -> None:
    if not org.principal.may_see("meeting", meeting_id):
        raise NotFound("no such meeting", field="meeting_id")


@routes.post(MEETINGS)
@endpoint(body=MeetingIn, response=MeetingOut, status=201)
async def create_meeting(request: web.Request, body: MeetingIn, org: OrgContext) -> MeetingOut:
    """Create an instant meeting (no scheduled_at: live now) or a scheduled one."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        meeting = await m.do_create_meeting(
            tx, request.app[SETTINGS].secret_key, host_id=org.user_id, title=body.title, scheduled_at=body.scheduled_at,
            passcode=body.passcode, lobby_enabled=body.lobby_enabled, cap=body.cap, cohosts=body.cohost_ids,
            invitees=body.invitee_ids, duration_min=body.duration_min,
        )
        return await _out(request, tx, meeting)


@routes.get(MEETINGS)
@endpoint(response=list[MeetingOut])
async def list_meetings(request: web.Request, org: OrgContext) -> list[MeetingOut]:
    """Meetings of the organisation that have not ended, soonest first."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        rows = await tx.session.scalars(
            select(Meeting).where(Meeting.status != "ended").order_by(Meeting.scheduled_at, Meeting.id).limit(500)
        )
        return await _outs(request, tx, list(rows))


@routes.get(MEETINGS + "/upcoming")
@endpoint(query=UpcomingQuery, response=list[MeetingOut])
async def list_upcoming(request: web.Request, query: UpcomingQuery, org: OrgContext) -> list[MeetingOut]:
    """The caller's meetings (hosting, co-hosting, invited) that have not ended: live ones first, then by start."""
    until = utcnow() + dt.timedelta(hours=query.within_hours) if query.within_hours else None
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        return await _outs(request, tx, await upcoming_meetings(tx, org.user_id, until=until))


@routes.get(MEETING)
@endpoint(response=MeetingOut, auth="any")
async def get_meeting(request: web.Request, org: OrgContext) -> MeetingOut:
    meeting_id = path_int(request, "meeting_id")
    _visible(org, meeting_id)
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        return await _out(request, tx, await m.get_meeting(tx, meeting_id))


@routes.get(MEETING + "/join-qr")
@endpoint(response=JoinQrOut)
async def join_qr(request: web.Request, org: OrgContext) -> JoinQrOut:
    """The meeting's link as a QR code, for a guest to scan from the screen."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        meeting = await m.get_meeting(tx, path_int(request, "meeting_id"))
    url = m.join_url(request.app[SETTINGS].public_url, meeting)
    return JoinQrOut(join_url=url, svg=qr_svg(url))


@routes.patch(MEETING)
@endpoint(body=MeetingPatch, response=MeetingOut)
async def update_meeting(request: web.Request, body: MeetingPatch, org: OrgContext) -> MeetingOut:
    """Change title, time, passcode ("" removes it), lobby, lock or cap (host, co-hosts, admins)."""
    meeting_id = path_int(request, "meeting_id")
    changes = body.model_dump(exclude_unset=True)
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        meeting = await m.get_meeting(tx, meeting_id)
        await m.check_may_manage(tx, meeting, org.user_id, org.is_admin)
        if not changes:
            raise InvalidInput("send at least one field to change")
        meeting = await m.do_update_meeting(tx, request.app[SETTINGS].secret_key, meeting, changes)
        out = await _out(request, tx, meeting)
    request.app[LIVE_MEETINGS].settings_changed(meeting_id, locked=out.locked, lobby_enabled=out.lobby_enabled, cap=out.cap)
    return out


@routes.get(MEETING + "/invitees")
@endpoint(response=list[InviteeOut])
async def list_invitees(request: web.Request, org: OrgContext) -> list[InviteeOut]:
    """Who is invited to the meeting, by name (the members among them)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        meeting = await m.get_meeting(tx, path_int(request, "meeting_id"))
        return [InviteeOut(user_id=user_id, display_name=name) for user_id, name in await m.invitees_of(tx, meeting.id)]


@routes.post(MEETING + "/invitees")
@endpoint(body=InviteesIn, response=list[InviteeOut])
async def invite(request: web.Request, body: InviteesIn, org: OrgContext) -> list[InviteeOut]:
    """Invite more members (host, co-hosts, admins); each new invitee is told (``meeting.invited``). Answers everyone invited."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        meeting = await m.get_meeting(tx, path_int(request, "meeting_id"))
        await m.check_may_manage(tx, meeting, org.user_id, org.is_admin)
        await m.do_invite(tx, meeting, body.user_ids)
        return [InviteeOut(user_id=user_id, display_name=name) for user_id, name in await m.invitees_of(tx, meeting.id)]


@routes.delete(MEETING + "/invitees/{user_id}")
@endpoint(status=204)
async def uninvite(request: web.Request, org: OrgContext) -> None:
    """Take someone off the invitees (host, co-hosts, admins); they are told (``meeting.uninvited``)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        meeting = await m.get_meeting(tx, path_int(request, "meeting_id"))
        await m.check_may_manage(tx, meeting, org.user_id, org.is_admin)
        await m.do_uninvite(tx, meeting, path_int(request, "user_id"))


@routes.post(MEETING + "/end")
@endpoint(response=MeetingOut)
async def end_meeting(request: web.Request, org: OrgContext) -> MeetingOut:
    """End the meeting for everyone; its link stops working."""
    meeting_id = path_int(request, "meeting_id")
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        meeting = await m.get_meeting(tx, meeting_id)
        await m.check_may_manage(tx, meeting, org.user_id, org.is_admin)
        await m.do_end_meeting(tx, meeting)
        await do_audit(tx, org.principal, "meeting.ended", target=("meeting", meeting_id))
        out = await _out(request, tx, meeting)
    await request.app[LIVE_MEETINGS].end(meeting_id, "the host ended the meeting")
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await m.do_sign_out_guests(tx, meeting_id)
    return out


def _recording_out(org: OrgContext, row: MeetingRecording) -> RecordingOut:
    url = file_url(org.org_id, row.file_id) if row.status == "done" and row.file_id is not None else None
    return RecordingOut(
        id=row.id, meeting_id=row.meeting_id, status=row.status, started_by=row.started_by, started_at=row.started_at,
        ended_at=row.ended_at, size_bytes=row.size_bytes, video_frames=row.video_frames, audio_packets=row.audio_packets,
        error=row.error, file_id=row.file_id, download_url=url,
    )


@routes.get(RECORDINGS)
@endpoint(response=list[RecordingOut])
async def list_recordings(request: web.Request, org: OrgContext) -> list[RecordingOut]:
    """The meeting's recordings, newest first: all of them for its hosts and admins, the finished ones they were in for members."""
    meeting_id = path_int(request, "meeting_id")
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        meeting = await m.get_meeting(tx, meeting_id)
        manages = org.is_admin or await m.is_host(tx, meeting, org.user_id)
        rows = await tx.session.scalars(
            select(MeetingRecording).where(MeetingRecording.meeting_id == meeting_id).order_by(MeetingRecording.id.desc()).limit(500)
        )
        return [_recording_out(org, row) for row in rows if manages or await may_read_recording(tx, org, row)]


async def _recording(request: web.Request, tx, org: OrgContext) -> MeetingRecording:
    """The recording the path names, once nothing writes to it any more, for a host, co-host or admin of its meeting."""
    meeting_id = path_int(request, "meeting_id")
    await m.check_may_manage(tx, await m.get_meeting(tx, meeting_id), org.user_id, org.is_admin)
    row = await _recording_of_meeting(request, tx, meeting_id)
    if row.status == "recording":
        raise Conflict("the recording is still going on; stop it first", code="still_recording")
    return row


async def _recording_of_meeting(request: web.Request, tx, meeting_id: int) -> MeetingRecording:
    row = await tx.session.scalar(
        select(MeetingRecording).where(MeetingRecording.id == path_int(request, "recording_id"), MeetingRecording.meeting_id == meeting_id)
    )
    if row is None:
        raise NotFound("no such recording of this meeting", field="recording_id")
    return row


@routes.get(RECORDINGS + "/{recording_id}")
@endpoint()
async def download_recording(request: web.Request, org: OrgContext) -> web.FileResponse:
    """The recording's WebM file, for whoever may read it (``rooms/meetings/recordings.py``); the same as its ``download_url``."""
    meeting_id = path_int(request, "meeting_id")
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        meeting = await m.get_meeting(tx, meeting_id)
        row = await _recording_of_meeting(request, tx, meeting_id)
        file = await tx.session.get(StoredFile, row.file_id) if await may_read_recording(tx, org, row) else None
        if file is None:
            if org.is_admin or await m.is_host(tx, meeting, org.user_id):  # they see it listed: say why there is nothing to download
                if row.status == "recording":
                    raise Conflict("the recording is still going on; stop it first", code="still_recording")
                raise Gone("this recording has no file: {reason}", reason=row.error) if row.error else Gone("this recording's file was removed")
            raise NotFound("no such recording of this meeting", field="recording_id")
        await do_note_download(tx, org, row)
    return file_response(request.app[SETTINGS], file)


@routes.delete(RECORDINGS + "/{recording_id}")
@endpoint(status=204)
async def delete_recording(request: web.Request, org: OrgContext) -> None:
    """Delete a recording and its file (host, co-hosts, admins); one still going on must be stopped first."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        row = await _recording(request, tx, org)
        await do_delete_recording(tx, request.app[SETTINGS], row)
        await do_audit(tx, org.principal, "recording.deleted", target=("recording", row.id), details={"meeting_id": row.meeting_id})


@routes.post("/api/v1/meetings/join")
@endpoint(body=JoinIn, response=JoinOut, auth="none")
async def join_meeting(request: web.Request, body: JoinIn) -> JoinOut:
    """Join by link: members of the meeting's organisation with their account, anyone else as a guest with a display name."""
    principal = request.get(PRINCIPAL)
    settings = request.app[SETTINGS]
    rooms_settings = request.app[ROOMS_SETTINGS]
    db = request.app[DB]
    async with db.transaction() as tx:
        found = (await tx.session.execute(select(Meeting.id, Meeting.org_id).where(Meeting.join_token == body.link_token))).first()
    if found is None:
        raise NotFound("this meeting link is not valid; check that it was copied completely", field="link_token")
    meeting_id, org_id = found
    async with db.transaction(org_id=org_id) as tx:
        meeting = await m.get_meeting(tx, meeting_id)
        user_id, role = await m.joining_as(tx, meeting, principal)
        guesser = m.passcode_guesser(user_id, request.remote or "")
        # the host and co-hosts may change the passcode anyway: they are not asked for it (nor held by others' guesses)
        passcode_ok = role in ("host", "cohost") or await m.do_check_passcode(tx, rooms_settings, settings.secret_key, meeting, body.passcode, guesser)
    if not passcode_ok:
        raise Forbidden("wrong passcode for this meeting", field="passcode", code="wrong_passcode")
    async with db.transaction(org_id=org_id) as tx:
        meeting = await m.get_meeting(tx, meeting_id)
        token = None
        await m.check_may_enter(tx, meeting, host=role in ("host", "cohost"))
        if user_id is None:
            if not body.display_name:
                raise InvalidInput("guests need a display_name to join", field="display_name")
            token, _, user = await do_open_guest_session(
                tx, settings, scope=GuestScope(org_id, m.GUEST_SCOPE_KIND, meeting_id), display_name=body.display_name,
                user_agent=request.headers.get("User-Agent", ""), ip=request.remote or "",
            )
            user_id = user.id
    return JoinOut(
        meeting_id=meeting_id, org_id=org_id, title=meeting.title, role=role, token=token,
        ticket=m.issue_ticket(settings.secret_key, meeting_id, user_id, role),
        ice_servers=ice_servers(rooms_settings, user_id),
    )
