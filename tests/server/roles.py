"""One organisation with a person of every role, and one of every kind of thing they might touch.

The role matrix (tests/server/test_role_matrix.py) and the OpenAPI fuzzer
(tests/server/test_openapi_fuzz.py) both call every route as each of these
people. The things are made through the API where there is one (so they are
real), as the organisation's owner, before ``removed`` is taken out of the
organisation: what the removed person had (group membership, an upload in
progress, a broadcast to confirm) is exactly what they must lose.

``World.fill(param, role)`` gives the id a route's path parameter takes when
``role`` calls it: the shared thing of that kind, except for things that
belong to the caller (their own device session, their own upload).
``World.fresh(param)`` makes a new one, for routes that use a thing up
(deleting it, ending it, leaving it).
"""
from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.accounts.auth import hash_token, issue_session
from server.accounts.models import GuestInvite, User
from server.db import Database, utcnow
from server.orgs.models import Membership
from tests.factories import Person
from tests.rooms.consultations.rows import stand_in_consultation
from tests.server.orgs.conftest import OrgFixture, join, new_org, ok, signed_in

# Everyone who calls the API, from least to most trusted. ``guest`` is a guest of the
# organisation invited to another group than the one the routes are called on.
ROLES = ("anonymous", "outsider", "removed", "guest", "member", "admin", "owner")

TUS = {"Tus-Resumable": "1.0.0"}
_numbers = itertools.count(1)


@dataclass
class World:
    client: TestClient
    db: Database
    org: OrgFixture
    people: dict[str, Person]  # every role but anonymous
    spare: Person  # a plain member the routes about members act on
    ids: dict[str, int | str] = field(default_factory=dict)
    uploads: dict[str, str] = field(default_factory=dict)  # role → an upload that person started
    spare_sessions: dict[str, int] = field(default_factory=dict)  # role → another device session of theirs
    tickets: dict[str, str] = field(default_factory=dict)  # role → a ticket to the meeting (the removed member's: from before removal)
    meeting_link: str = ""  # the link token of the world's meeting
    contact_link: str = ""  # the token of the owner's contact link

    def headers(self, role: str) -> dict[str, str]:
        return {} if role == "anonymous" else self.people[role].headers

    @property
    def owner(self) -> dict[str, str]:
        return self.org.owner.headers

    def url(self, tail: str) -> str:
        return self.org.url(tail)

    def knows(self, param: str) -> bool:
        return param in self.ids or param in ("upload_id", "session_id")

    def fill(self, param: str, role: str) -> int | str:
        if param == "upload_id":
            return self.uploads.get(role, self.uploads["owner"])
        if param == "session_id":
            return self.spare_sessions.get(role, self.spare_sessions["owner"])
        return self.ids[param]

    async def fresh(self, param: str) -> int | str:
        return await FRESH[param](self)

    async def fresh_token(self, role: str) -> dict[str, str]:
        """Another device session of the same person (or a new guest session): for signing out."""
        if role == "guest":
            return await self._guest_session()
        async with self.db.transaction() as tx:
            user = await tx.session.get(User, self.people[role].id)
            token, _ = await issue_session(tx, user, days=1)
        return {"Authorization": f"Bearer {token}"}

    # --- things, made as the owner ---------------------------------------------------

    async def _group(self, name: str, member_ids: list[int], **extra) -> int:
        body = {"name": name, "member_ids": member_ids, **extra}
        return (await ok(await self.client.post(self.url("/groups"), json=body, headers=self.owner), 201))["id"]

    async def _fresh_group(self) -> int:
        return await self._group(f"Team {next(_numbers)}", [self.people[r].id for r in ("admin", "member")] + [self.spare.id])

    async def _message(self) -> int:
        url = self.url(f"/groups/{self.ids['group_id']}/messages")
        return (await ok(await self.client.post(url, json={"body": "hello team"}, headers=self.owner), 201))["seq"]

    async def _announcement(self) -> int:
        url = self.url(f"/groups/{self.ids['group_id']}/announcements")
        return (await ok(await self.client.post(url, json={"body": "pinned"}, headers=self.owner), 201))["message"]["seq"]

    async def _upload(self, headers: dict[str, str], group_id: int, length: int = 5) -> str:
        headers = headers | TUS | {"Upload-Length": str(length), "Upload-Metadata": "filename Yi50eHQ="}
        async with self.client.post(self.url(f"/groups/{group_id}/uploads"), headers=headers) as resp:
            assert resp.status == 201, await resp.text()
            return resp.headers["Location"].rsplit("/", 1)[1]

    async def _file(self) -> int:
        upload_id = await self._upload(self.owner, int(self.ids["group_id"]))
        headers = self.owner | TUS | {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
        async with self.client.patch(f"/api/v1/uploads/{upload_id}", data=b"hello", headers=headers) as resp:
            assert resp.status == 204, await resp.text()
            return int(resp.headers["Muster-File-Id"])

    async def _department(self) -> int:
        body = {"name": f"Ward {next(_numbers)}"}
        return (await ok(await self.client.post(self.url("/departments"), json=body, headers=self.owner), 201))["id"]

    async def _member(self) -> int:
        someone = await join(self.db, self.org.id)
        return await self.membership_id(someone.id)

    async def membership_id(self, user_id: int) -> int:
        async with self.db.transaction(org_id=self.org.id) as tx:
            return await tx.session.scalar(select(Membership.id).where(Membership.user_id == user_id))

    async def _invite(self) -> int:
        # Stored directly, like tests/server/orgs/test_isolation.py: the row is what the routes look up.
        async with self.db.transaction(org_id=self.org.id) as tx:
            invite = GuestInvite(
                org_id=self.org.id, token_hash=hash_token(f"matrix-invite-{next(_numbers)}"), scope_kind="group",
                scope_id=int(self.ids["guest_group_id"]), created_by=self.org.owner.id, expires_at=utcnow() + dt.timedelta(days=1),
            )
            tx.session.add(invite)
            await tx.session.flush()
            return invite.id

    async def _invitation(self) -> int:
        """An invitation to an account of no organisation, waiting for its answer."""
        someone = await signed_in(self.db)
        body = {"display_name": "Invited", "email": someone.email}
        return (await ok(await self.client.post(self.url("/invitations"), json=body, headers=self.owner), 201))["id"]

    async def _guest_session(self) -> dict[str, str]:
        body = {"scope_kind": "group", "scope_id": self.ids["guest_group_id"]}
        invite = await ok(await self.client.post(self.url("/guest-invites"), json=body, headers=self.owner), 201)
        joined = await ok(await self.client.post("/api/v1/guest-sessions", json={"invite_token": invite["token"], "display_name": "Visitor"}), 201)
        return {"Authorization": f"Bearer {joined['token']}"}

    async def _meeting(self) -> int:
        return (await self._new_meeting())["id"]

    async def _new_meeting(self) -> dict:
        body = {"title": "Rounds", "invitee_ids": [self.spare.id]}
        return await ok(await self.client.post(self.url("/meetings"), json=body, headers=self.owner), 201)

    async def _stream(self) -> int:
        """A stream the owner starts from the group "Team" (its owner), open to guests."""
        body = {"group_id": self.ids["group_id"], "title": "Class", "allow_guests": True}
        return (await ok(await self.client.post(self.url("/streams"), json=body, headers=self.owner), 201))["id"]

    async def _public_link(self) -> int:
        url = self.url(f"/streams/{self.ids['stream_id']}/public-links")
        return (await ok(await self.client.post(url, json={}, headers=self.owner), 201))["public_link_id"]

    async def _ticket(self, role: str) -> str:
        body = {"link_token": self.meeting_link}
        return (await ok(await self.client.post("/api/v1/meetings/join", json=body, headers=self.people[role].headers)))["ticket"]

    async def _recording(self) -> int:
        from server.appkeys import SETTINGS
        from tests.rooms.recordings import stand_in_recording

        return (await stand_in_recording(self.db, self.client.app[SETTINGS], self.org.id, int(self.ids["meeting_id"]))).id

    async def _contact_link(self) -> dict:
        return await ok(await self.client.post(self.url("/contact-links"), json={"max_uses": None}, headers=self.owner), 201)

    async def _contact(self) -> int:
        """Someone outside the organisation who became the owner's external contact."""
        someone = await signed_in(self.db)
        body = {"token": self.contact_link}
        return (await ok(await self.client.post("/api/v1/contact-links/accept", json=body, headers=someone.headers)))["contact_id"]

    async def _form(self) -> int:
        body = {"title": "Check-in", "definition": {"fields": [{"name": "well", "type": "yes_no", "label": "Are you well?"}]}}
        return (await ok(await self.client.post(self.url("/forms"), json=body, headers=self.owner), 201))["id"]
    async def _schools(self) -> None:
        """A bureau with a school, a grade and a class (``unit_id``), a child in it (``student_id``) with a guardian
        (``guardian_id``), the spare member's role on the class (``role_id``), an import's job (``job_id``), a rollover's
        (``rollover_id``) and the child's family link (``sign_in_link_id``)."""
        from schools.models import SchoolJob

        async def unit(kind: str, parent_id: int | None, **extra) -> int:
            body = {"kind": kind, "name": f"{kind} {next(_numbers)}", "parent_id": parent_id, **extra}
            return (await ok(await self.client.post(self.url("/schools/units"), json=body, headers=self.owner), 201))["id"]

        school = await unit("school", await unit("bureau", None))
        self.ids["unit_id"] = await unit("class", await unit("grade", school, level=1))
        self.ids["student_id"] = await self._student()
        self.ids["guardian_id"] = await self._guardian()
        self.ids["role_id"] = await self._unit_role()
        async with self.db.transaction(org_id=self.org.id) as tx:
            job = SchoolJob(org_id=self.org.id, status="done", files=["units.csv"], report={})
            rollover = SchoolJob(org_id=self.org.id, kind="rollover", unit_id=school, status="done", report={"label": "2025"})
            tx.session.add_all([job, rollover])
            await tx.session.flush()
            self.ids["job_id"], self.ids["rollover_id"] = job.id, rollover.id
        url = self.url(f"/schools/units/{self.ids['unit_id']}/family-links")
        self.ids["sign_in_link_id"] = (await ok(await self.client.post(url, json={}, headers=self.owner), 201))["links"][0]["link_id"]

    async def _student(self) -> int:
        body = {"external_id": f"S{next(_numbers)}", "name": "Xiaoming", "class_id": self.ids["unit_id"]}
        return (await ok(await self.client.post(self.url("/schools/students"), json=body, headers=self.owner), 201))["id"]

    async def _guardian(self) -> int:
        """Another guardian of the world's child (a link a route may take away)."""
        body = {"name": f"Guardian {next(_numbers)}", "phone": f"+86139{next(_numbers):08d}", "relation": "mother"}
        child = await ok(await self.client.post(self.url(f"/schools/students/{self.ids['student_id']}/guardians"), json=body, headers=self.owner), 201)
        return child["guardians"][-1]["id"]

    async def _unit_role(self) -> int:
        """A new member's role on the world's class (a route may take it away)."""
        teacher = await join(self.db, self.org.id)
        body = {"user_id": teacher.id, "role": "subject_teacher", "subject": "Music"}
        url = self.url(f"/schools/units/{self.ids['unit_id']}/roles")
        return (await ok(await self.client.post(url, json=body, headers=self.owner), 201))["id"]

    async def _round(self) -> int:
        """A round of the owner's form to member, admin, removed and spare."""
        body = {"audience": {"user_ids": [self.people[r].id for r in ("member", "admin", "removed")] + [self.spare.id]},
                "closes_at": (utcnow() + dt.timedelta(hours=2)).isoformat()}
        return (await ok(await self.client.post(self.url(f"/forms/{self.ids['form_id']}/rounds"), json=body, headers=self.owner), 201))["id"]

    async def _schedule(self) -> int:
        body = {"audience": {"everyone": True}, "days": "working_days", "open_time": "07:00", "open_minutes": 60, "starts_on": "2030-01-01"}
        return (await ok(await self.client.post(self.url(f"/forms/{self.ids['form_id']}/schedules"), json=body, headers=self.owner), 201))["id"]

    async def _submission(self) -> int:
        body = {"client_id": f"matrix-{next(_numbers)}", "answers": {"well": True}}
        url = self.url(f"/rounds/{self.ids['round_id']}/submissions")
        return (await ok(await self.client.post(url, json=body, headers=self.people["member"].headers), 201))["id"]

    async def _broadcast(self) -> int:
        recipients = [self.people[r].id for r in ("member", "admin", "removed")] + [self.spare.id]
        body = {"title": "Drill", "body": "please confirm", "recipients": {"user_ids": recipients}}
        return (await ok(await self.client.post(self.url("/broadcasts"), json=body, headers=self.owner), 201))["id"]


FRESH = {
    "group_id": World._fresh_group,
    "department_id": World._department,
    "member_id": World._member,
    "invite_id": World._invite,
    "invitation_id": World._invitation,
    "seq": World._announcement,
    "meeting_id": World._meeting,
    "stream_id": World._stream,
    "public_link_id": World._public_link,
    "recording_id": World._recording,
    "contact_id": World._contact,
    "guardian_id": World._guardian,
    "role_id": World._unit_role,
    "schedule_id": World._schedule,
}


async def build_world(client: TestClient, db: Database) -> World:
    org = await new_org(db, "Olivia Owner")
    people = {
        "owner": org.owner,
        "admin": await join(db, org.id, "admin", "Adam Admin"),
        "member": await join(db, org.id, "member", "Mia Member"),
        "removed": await join(db, org.id, "member", "Rex Removed"),
    }
    other = await new_org(db, "Otto Other")
    people["outsider"] = await join(db, other.id, "member", "Oscar Outsider")
    world = World(client, db, org, people, spare=await join(db, org.id, "member", "Sam Spare"))
    insiders = [people[r].id for r in ("admin", "member", "removed")] + [world.spare.id]
    ids = world.ids
    ids["org_id"] = org.id
    ids["group_id"] = await world._group("Team", insiders)
    ids["guest_group_id"] = await world._group("Partners", insiders, allow_guests=True)
    ids["user_id"] = world.spare.id
    ids["member_id"] = await world.membership_id(world.spare.id)
    ids["admin_member_id"] = await world.membership_id(people["admin"].id)
    ids["department_id"] = await world._department()
    ids["seq"] = await world._announcement()
    await world._message()
    ids["file_id"] = await world._file()
    meeting = await world._new_meeting()
    ids["meeting_id"], world.meeting_link = meeting["id"], meeting["join_url"].rsplit("/m/", 1)[1]
    ids["recording_id"] = await world._recording()
    ids["clinic_id"] = (await ok(await client.post(world.url("/clinics"), json={"name": "Clinic", "doctor_ids": [org.owner.id]}, headers=world.owner), 201))["id"]
    ids["consultation_id"] = await stand_in_consultation(db, org.id, int(ids["clinic_id"]))
    ids["stream_id"] = await world._stream()
    ids["public_link_id"] = await world._public_link()
    ids["broadcast_id"] = await world._broadcast()
    ids["form_id"], ids["version_number"] = await world._form(), 1
    ids["round_id"] = await world._round()
    ids["schedule_id"] = await world._schedule()
    ids["submission_id"] = await world._submission()
    guest_headers = await world._guest_session()
    people["guest"] = Person(None, "", guest_headers)  # type: ignore[arg-type]  # a guest has no account of their own
    ids["invite_id"] = await world._invite()
    ids["invitation_id"] = await world._invitation()
    world.contact_link = (await world._contact_link())["token"]
    ids["link_id"] = (await world._contact_link())["id"]  # another: a route withdraws it
    ids["contact_id"] = await world._contact()
    await world._schools()
    for role in ("owner", "admin", "member", "removed"):
        world.uploads[role] = await world._upload(people[role].headers, int(ids["group_id"]))
    world.uploads["guest"] = await world._upload(guest_headers, int(ids["guest_group_id"]))
    for role in ("owner", "admin", "member", "removed", "outsider"):
        async with db.transaction() as tx:
            user = await tx.session.get(User, people[role].id)
            _, device = await issue_session(tx, user, days=1)
            world.spare_sessions[role] = device.id
    world.tickets["removed"] = await world._ticket("removed")
    # Last: the removal itself, through the API, with everything above already theirs.
    removed_membership = await world.membership_id(people["removed"].id)
    await ok(await client.delete(world.url(f"/members/{removed_membership}"), headers=world.owner), 204)
    return world
