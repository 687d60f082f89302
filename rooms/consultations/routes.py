"""The consultations API: clinics for admins, the queue for doctors, the patient's own place and consultation.

Patients (no account) use the routes under ``/api/v1/clinic-links`` with
their clinic's link token to get a code and queue, then only ``.../consultations/{id}/patient...`` with
their guest session, which answers 404 for any consultation but theirs.
"""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from rooms.consultations import clinics as c
from rooms.consultations import queue as q
from rooms.consultations.export import consultation_pages, HEADER
from rooms.consultations.patients import ask_for_patient_code, do_queue_patient, do_sign_out_patient
from rooms.consultations.schemas import (
    ClinicIn,
    ClinicLinkIn,
    ClinicOut,
    ClinicPatch,
    ClinicPublicOut,
    ClinicQueueOut,
    ConsultationOut,
    EndIn,
    ExportQuery,
    PatientCodeIn,
    PatientCodeOut,
    PatientJoinOut,
    PatientQueueIn,
    PatientViewOut,
    QrQuery,
    QueuedOut,
    QueueEntryOut,
)
from rooms.keys import LIVE_MEETINGS, ROOMS_SETTINGS
from rooms.meetings.ice import ice_servers
from rooms.meetings.meetings import issue_ticket
from rooms.models import Clinic, Consultation, Meeting
from server.accounts.auth import GuestScope
from server.api import endpoint, path_int
from server.appkeys import DB, SETTINGS
from server.audit.record import do_audit
from server.channels.registry import CHANNELS
from server.db import Transaction
from server.errors import Conflict, InvalidInput, NotFound
from server.table_export import send_xlsx, stream_csv
from server.i18n import request_locale
from server.orgs.access import OrgContext
from server.orgs.phones import normalise_phone
from server.qr import qr_response

routes = web.RouteTableDef()
CLINICS = "/api/v1/orgs/{org_id}/clinics"
CLINIC = CLINICS + "/{clinic_id}"
CONSULTATION = "/api/v1/orgs/{org_id}/consultations/{consultation_id}"
LINK = "/api/v1/clinic-links"  # the link token rides in the body, as a meeting link's does: out of URLs and logs


async def _clinic_out(request: web.Request, tx: Transaction, org: OrgContext, clinic: Clinic) -> ClinicOut:
    link = c.clinic_url(request.app[SETTINGS].public_url, clinic) if org.is_admin else None
    return ClinicOut(id=clinic.id, org_id=clinic.org_id, name=clinic.name, doctor_ids=await c.doctors_of(tx, clinic.id), link_url=link)


def _consultation_out(row: Consultation, meeting: Meeting | None = None) -> ConsultationOut:
    return ConsultationOut(
        id=row.id, clinic_id=row.clinic_id, patient_name=row.patient_name, patient_phone=row.patient_phone, status=row.status,
        doctor_id=row.doctor_id, queued_at=row.queued_at, called_at=row.called_at, started_at=row.started_at, ended_at=row.ended_at,
        notes=row.notes, meeting_path=f"/m/{meeting.join_token}" if meeting is not None and meeting.status != "ended" else None,
    )


# --- admins: clinics --------------------------------------------------------------------


@routes.post(CLINICS)
@endpoint(body=ClinicIn, response=ClinicOut, status=201, role="admin")
async def create_clinic(request: web.Request, body: ClinicIn, org: OrgContext) -> ClinicOut:
    """A clinic with its doctors (members); the answer has its link for patients."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        clinic = await c.do_create_clinic(tx, created_by=org.user_id, name=body.name, doctor_ids=body.doctor_ids)
        await do_audit(tx, org.principal, "clinic.created", target=("clinic", clinic.id))
        return await _clinic_out(request, tx, org, clinic)


@routes.get(CLINICS)
@endpoint(response=list[ClinicOut])
async def list_clinics(request: web.Request, org: OrgContext) -> list[ClinicOut]:
    """The clinics the caller serves as a doctor (every clinic, for an admin)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        return [await _clinic_out(request, tx, org, clinic) for clinic in await c.clinics_served_by(tx, org)]


@routes.patch(CLINIC)
@endpoint(body=ClinicPatch, response=ClinicOut, role="admin")
async def update_clinic(request: web.Request, body: ClinicPatch, org: OrgContext) -> ClinicOut:
    """Rename a clinic or change its doctors."""
    changes = body.model_dump(exclude_unset=True)
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        clinic = await c.get_clinic(tx, path_int(request, "clinic_id"))
        if not changes:
            raise InvalidInput("send at least one field to change")
        if "name" in changes:
            clinic.name = body.name
        if "doctor_ids" in changes:
            await c.do_set_doctors(tx, clinic, body.doctor_ids)
        await tx.session.flush()
        return await _clinic_out(request, tx, org, clinic)


@routes.get(CLINIC + "/qr")
@endpoint(query=QrQuery, role="admin")
async def clinic_qr(request: web.Request, query: QrQuery, org: OrgContext) -> web.Response:
    """The clinic's link as a QR code (SVG to show, PNG to print)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        clinic = await c.get_clinic(tx, path_int(request, "clinic_id"))
    return qr_response(c.clinic_url(request.app[SETTINGS].public_url, clinic), query.format)


@routes.get(CLINIC + "/consultations")
@endpoint(query=ExportQuery, role="admin")
async def export_consultations(request: web.Request, query: ExportQuery, org: OrgContext) -> web.StreamResponse:
    """Every consultation of the clinic, one row each (doctor, patient, times, length, notes), as CSV or XLSX."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        clinic = await c.get_clinic(tx, path_int(request, "clinic_id"))
        await do_audit(tx, org.principal, "clinic.exported", target=("clinic", clinic.id))
    pages = consultation_pages(request.app[DB], org.org_id, clinic.id)
    filename = f"consultations-{clinic.id}"
    if query.format == "csv":
        return await stream_csv(request, HEADER, pages, filename)
    return await send_xlsx(request, HEADER, pages, request.app[SETTINGS].data_dir / "tmp", filename, sheet="consultations")


# --- doctors: the queue -----------------------------------------------------------------


@routes.get(CLINIC + "/queue")
@endpoint(response=ClinicQueueOut)
async def clinic_queue(request: web.Request, org: OrgContext) -> ClinicQueueOut:
    """Who waits, in order (places lapsed meanwhile are dropped), and the caller's open consultation here."""
    settings = request.app[ROOMS_SETTINGS]
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        clinic = await c.check_serves(tx, org, path_int(request, "clinic_id"))
        lapsed = await q.do_lapse_away(tx, clinic.id, settings)
        if lapsed:
            await q.do_tell_queue(tx, clinic.id, settings, lapsed)
        rows = await q.waiting(tx, clinic.id)
        mine = await tx.session.scalar(select(Consultation).where(
            Consultation.clinic_id == clinic.id, Consultation.doctor_id == org.user_id, Consultation.status.in_((q.CALLED, q.STARTED))))
        meeting = await tx.session.get(Meeting, mine.meeting_id) if mine is not None and mine.meeting_id else None
        return ClinicQueueOut(
            waiting=[QueueEntryOut(id=r.id, patient_name=r.patient_name, patient_phone=r.patient_phone, status=r.status,
                                   queued_at=r.queued_at, away=r.away_since is not None) for r in rows],
            mine=_consultation_out(mine, meeting) if mine is not None else None,
        )


@routes.post(CLINIC + "/call-next")
@endpoint(response=ConsultationOut)
async def call_next(request: web.Request, org: OrgContext) -> ConsultationOut:
    """Take the next waiting patient (never the same one as another doctor calling at once) into a new 1:1 meeting;
    the patient's page is told to join. 409 ``queue_empty`` if nobody waits."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        clinic = await c.check_serves(tx, org, path_int(request, "clinic_id"))
        if org.user_id not in await c.doctors_of(tx, clinic.id):
            raise NotFound("you are not a doctor of this clinic", field="clinic_id")
        row = await q.do_call_next(tx, request.app[SETTINGS].secret_key, request.app[ROOMS_SETTINGS], clinic, org.user_id)
        if row is None:
            raise Conflict("nobody is waiting", code="queue_empty")
        return _consultation_out(row, await tx.session.get(Meeting, row.meeting_id))


@routes.post(CONSULTATION + "/end")
@endpoint(body=EndIn, response=ConsultationOut)
async def end_consultation(request: web.Request, body: EndIn, org: OrgContext) -> ConsultationOut:
    """End a consultation with notes (its doctor, or an admin): its meeting ends and the patient is signed out."""
    consultation_id = path_int(request, "consultation_id")
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        row = await q.get_consultation(tx, consultation_id)
        if not (org.is_admin or row.doctor_id == org.user_id):
            raise NotFound("no such consultation", field="consultation_id")
        meeting_id = await q.do_end_consultation(tx, request.app[ROOMS_SETTINGS], row, body.notes)
        out = _consultation_out(row)
    if meeting_id is not None:
        await request.app[LIVE_MEETINGS].end(meeting_id, "the host ended the meeting")
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await do_sign_out_patient(tx, consultation_id)
    return out


# --- patients -----------------------------------------------------------------------------


async def _clinic_by_link(request: web.Request, link_token: str) -> Clinic:
    async with request.app[DB].transaction() as tx:
        return await c.clinic_of_link(tx, link_token)


@routes.post(LINK + "/clinic")
@endpoint(body=ClinicLinkIn, response=ClinicPublicOut, auth="none")
async def clinic_by_link(request: web.Request, body: ClinicLinkIn) -> ClinicPublicOut:
    """The clinic a link opens: its name only."""
    return ClinicPublicOut(name=(await _clinic_by_link(request, body.link_token)).name)


@routes.post(LINK + "/code")
@endpoint(body=PatientCodeIn, response=PatientCodeOut, status=202, auth="none")
async def ask_patient_code(request: web.Request, body: PatientCodeIn) -> PatientCodeOut:
    """Send a one-time code by SMS to the patient's phone, to queue at this clinic."""
    settings = request.app[SETTINGS]
    clinic = await _clinic_by_link(request, body.link_token)
    await ask_for_patient_code(request.app[DB], settings, request.app[CHANNELS], clinic, phone=normalise_phone(body.phone, settings.default_phone_region),
                               ip=request.remote or "", locale=request_locale(request))
    return PatientCodeOut(expires_in_s=settings.phone_code_ttl_s, resend_in_s=settings.phone_code_resend_s)


@routes.post(LINK + "/queue")
@endpoint(body=PatientQueueIn, response=QueuedOut, status=201, auth="none")
async def queue_patient(request: web.Request, body: PatientQueueIn) -> QueuedOut:
    """With the code: a place at the end of the clinic's queue, and a guest session for it alone."""
    settings, rooms = request.app[SETTINGS], request.app[ROOMS_SETTINGS]
    clinic = await _clinic_by_link(request, body.link_token)
    token, row = await do_queue_patient(
        request.app[DB], settings, rooms, clinic, phone=normalise_phone(body.phone, settings.default_phone_region), code=body.code,
        name=body.name, user_agent=request.headers.get("User-Agent", ""), ip=request.remote or "",
    )
    async with request.app[DB].transaction(org_id=clinic.org_id) as tx:
        return QueuedOut(token=token, consultation=await _patient_view(tx, rooms, await q.get_consultation(tx, row.id)))


async def _patients_own(request: web.Request, tx: Transaction, org: OrgContext) -> Consultation:
    """The consultation the path names, if the caller is its patient; 404 for anyone else."""
    consultation_id = path_int(request, "consultation_id")
    if org.principal.guest != GuestScope(org.org_id, q.GUEST_SCOPE_KIND, consultation_id):
        raise NotFound("no such consultation", field="consultation_id")
    return await q.get_consultation(tx, consultation_id)


async def _patient_view(tx: Transaction, settings, row: Consultation) -> PatientViewOut:
    position = wait_s = None
    if row.status == q.WAITING:
        position, wait_s = await q.place_of(tx, row, settings)
    clinic = await c.get_clinic(tx, row.clinic_id)
    return PatientViewOut(id=row.id, org_id=row.org_id, clinic_name=clinic.name, status=row.status, position=position, wait_s=wait_s,
                          grace_s=int(settings.consultation_grace_s))


@routes.get(CONSULTATION + "/patient")
@endpoint(response=PatientViewOut, auth="any")
async def patient_view(request: web.Request, org: OrgContext) -> PatientViewOut:
    """The patient's own place (position and expected wait) or consultation."""
    settings = request.app[ROOMS_SETTINGS]
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        row = await _patients_own(request, tx, org)
        lapsed = await q.do_lapse_away(tx, row.clinic_id, settings)
        if lapsed:
            await q.do_tell_queue(tx, row.clinic_id, settings, lapsed)
            await tx.session.refresh(row)
        return await _patient_view(tx, settings, row)


@routes.post(CONSULTATION + "/patient/join")
@endpoint(response=PatientJoinOut, auth="any")
async def patient_join(request: web.Request, org: OrgContext) -> PatientJoinOut:
    """Once called: a ticket into the consultation's meeting, for the meeting page (the link's passcode is nobody's)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        meeting = await q.do_patient_joins(tx, await _patients_own(request, tx, org))
    return PatientJoinOut(
        meeting_id=meeting.id, org_id=org.org_id, title=meeting.title, role="guest",
        ticket=issue_ticket(request.app[SETTINGS].secret_key, meeting.id, org.user_id, "guest"),
        ice_servers=ice_servers(request.app[ROOMS_SETTINGS], org.user_id), link_path=f"/m/{meeting.join_token}",
    )


@routes.post(CONSULTATION + "/patient/leave")
@endpoint(status=204, auth="any")
async def patient_leave(request: web.Request, org: OrgContext) -> None:
    """The patient gives up their place in the queue; their session ends."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        row = await _patients_own(request, tx, org)
        await q.do_leave_queue(tx, request.app[ROOMS_SETTINGS], row)
        await do_sign_out_patient(tx, row.id)
