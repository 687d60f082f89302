"""Request and response bodies of the consultations API."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from server.api import Id, Model, Out


class ClinicIn(Model):
    name: str = Field(min_length=1, max_length=200)
    doctor_ids: list[Id] = Field(default_factory=list, max_length=200)


class ClinicPatch(Model):
    name: str = Field(None, min_length=1, max_length=200)
    doctor_ids: list[Id] = Field(None, max_length=200)


class ClinicOut(Out):
    id: int
    org_id: int
    name: str
    doctor_ids: list[int]
    link_url: str | None = None  # admins only: the link patients queue at


class QrQuery(Model):
    format: Literal["svg", "png"] = "svg"


class ExportQuery(Model):
    format: Literal["csv", "xlsx"] = "csv"


class ClinicPublicOut(Out):
    """What a patient sees of a clinic: its name, nothing else of the hospital."""

    name: str


LinkToken = Field(min_length=1, max_length=64, description="The token of the clinic's link (/consult/<link_token>).")


class ClinicLinkIn(Model):
    link_token: str = LinkToken


class PatientCodeIn(Model):
    link_token: str = LinkToken
    phone: str = Field(min_length=3, max_length=64, description="The number as the patient writes it; without +country code it is read in the server's default region.")


class PatientCodeOut(Out):
    expires_in_s: int
    resend_in_s: int


class PatientQueueIn(Model):
    link_token: str = LinkToken
    phone: str = Field(min_length=3, max_length=64)
    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=100)


class PatientViewOut(Out):
    """The patient's own place or consultation."""

    id: int
    org_id: int
    clinic_name: str
    status: str  # waiting | called | started | ended | lapsed | left
    position: int | None = None  # while waiting, from 1
    wait_s: int | None = None  # while waiting: the expected wait
    grace_s: int  # how long a dropped connection keeps the place


class QueuedOut(Out):
    token: str  # the patient's guest session: send it as the bearer token
    consultation: PatientViewOut


class PatientJoinOut(Out):
    """What the meeting page needs to join the consultation's meeting (as ``POST /api/v1/meetings/join`` answers)."""

    meeting_id: int
    org_id: int
    title: str
    role: str
    ticket: str
    ice_servers: list[dict]
    link_path: str  # the meeting page


class QueueEntryOut(Out):
    id: int
    patient_name: str
    patient_phone: str
    status: str
    queued_at: dt.datetime
    away: bool


class ConsultationOut(Out):
    id: int
    clinic_id: int
    patient_name: str
    patient_phone: str
    status: str
    doctor_id: int | None
    queued_at: dt.datetime
    called_at: dt.datetime | None
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    notes: str
    meeting_path: str | None = None  # the meeting page, for its doctor


class ClinicQueueOut(Out):
    waiting: list[QueueEntryOut]
    mine: ConsultationOut | None  # the caller's open consultation in this clinic


class EndIn(Model):
    notes: str = Field("", max_length=10_000)
