"""Clinics as rows: an organisation's admins make them and name their doctors; the link a patient queues at.

The link carries a secret token (``/consult/<link_token>``), since whoever has
it may queue and be sent SMS codes; admins show it as a QR code (server/qr.py).
"""
from __future__ import annotations

import secrets

from sqlalchemy import delete, insert, select

from rooms.meetings.meetings import check_members
from rooms.models import Clinic, ClinicDoctor
from server.db import Transaction
from server.errors import NotFound
from server.orgs.access import OrgContext
from server.orgs.models import Membership


def clinic_url(public_url: str, clinic: Clinic) -> str:
    return f"{public_url.rstrip('/')}/consult/{clinic.link_token}"


async def do_create_clinic(tx: Transaction, *, created_by: int, name: str, doctor_ids: list[int]) -> Clinic:
    clinic = Clinic(org_id=tx.org_id, name=name, link_token=secrets.token_urlsafe(24), created_by=created_by)
    tx.session.add(clinic)
    await tx.session.flush()
    await do_set_doctors(tx, clinic, doctor_ids)
    return clinic


async def do_set_doctors(tx: Transaction, clinic: Clinic, doctor_ids: list[int]) -> None:
    """The clinic's doctors become exactly ``doctor_ids`` (members of the organisation)."""
    await check_members(tx, doctor_ids, "doctor_ids")
    await tx.session.execute(delete(ClinicDoctor).where(ClinicDoctor.clinic_id == clinic.id).execution_options(synchronize_session=False))
    if doctor_ids:
        await tx.session.execute(insert(ClinicDoctor), [{"org_id": tx.org_id, "clinic_id": clinic.id, "user_id": u} for u in sorted(set(doctor_ids))])


async def doctors_of(tx: Transaction, clinic_id: int) -> list[int]:
    """The clinic's doctors who are still members: one removed from the organisation is told nothing more of its queue."""
    return list(await tx.session.scalars(
        select(ClinicDoctor.user_id).join(Membership, Membership.user_id == ClinicDoctor.user_id)
        .where(ClinicDoctor.clinic_id == clinic_id).order_by(ClinicDoctor.user_id)
    ))


async def get_clinic(tx: Transaction, clinic_id: int) -> Clinic:
    clinic = await tx.session.scalar(select(Clinic).where(Clinic.id == clinic_id))
    if clinic is None:
        raise NotFound("no such clinic", field="clinic_id")
    return clinic


async def clinic_of_link(tx: Transaction, link_token: str) -> Clinic:
    """In an unscoped transaction: the clinic a link opens, of whichever organisation."""
    clinic = await tx.session.scalar(select(Clinic).where(Clinic.link_token == link_token))
    if clinic is None:
        raise NotFound("this clinic link is not valid; check that it was copied completely", field="link_token")
    return clinic


async def check_serves(tx: Transaction, org: OrgContext, clinic_id: int) -> Clinic:
    """The clinic, for one of its doctors or an admin; anyone else of the organisation reads it as missing."""
    clinic = await get_clinic(tx, clinic_id)
    if not org.is_admin and org.user_id not in await doctors_of(tx, clinic_id):
        raise NotFound("no such clinic", field="clinic_id")
    return clinic


async def clinics_served_by(tx: Transaction, org: OrgContext) -> list[Clinic]:
    """The clinics the caller serves (all of them for an admin), by name."""
    query = select(Clinic).order_by(Clinic.name, Clinic.id)
    if not org.is_admin:
        query = query.where(Clinic.id.in_(select(ClinicDoctor.clinic_id).where(ClinicDoctor.user_id == org.user_id)))
    return list(await tx.session.scalars(query.limit(500)))


async def serves_clinics(tx: Transaction, user_id: int, org_id: int) -> bool:
    """Whether the doctors' page is in the person's navigation: an admin, or a doctor of some clinic."""
    role = await tx.session.scalar(select(Membership.role).where(Membership.org_id == org_id, Membership.user_id == user_id))
    if role in ("admin", "owner"):
        return True
    return await tx.session.scalar(select(ClinicDoctor.id).where(ClinicDoctor.org_id == org_id, ClinicDoctor.user_id == user_id).limit(1)) is not None
