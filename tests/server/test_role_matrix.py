"""The authorisation matrix: every route and every WebSocket frame type, called as every role, answers as it should.

The routes are walked from ``app.router`` and the frame types from the hub's
registry, so a new one cannot be missed. Each route's expected answer per
role comes from its ``@endpoint`` declaration (server/api.py):

* anonymous: 401, unless ``auth="none"``;
* a guest (of the organisation, invited to another group than the one called):
  403 on ``auth="user"`` routes; on ``auth="any"`` routes of the organisation,
  404 for things (path ids) outside what they were invited to, else allowed;
* a removed member and a member of another organisation: 404 on every route of the organisation;
* member, admin, owner: 403 below the declared ``role``, allowed at or above it.

"Allowed" means the caller got past authorisation: anything but 401, 403 and
404 (a 400 for the probe's body is fine), never a 5xx. Routes whose rule is
finer than their declared role (a group admin, a meeting's host, a broadcast's
sender) have a row in ``FINER_RULES`` saying who gets what and why. Every API
route must be in ``FINER_RULES`` or ``AS_DECLARED``, and every other route in
``NOT_API``: a new route fails the matrix until someone decides which.

The holes it found when it was written (a removed member's upload, meeting
ticket and broadcast receipts; receipts "saved" for broadcasts one never got)
are closed; a new one fails the walk itself.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from sqlalchemy import delete

from server.api import ROLES as ORG_ROLE_ORDER
from server.accounts.models import LoginFailure
from server.api import EndpointSpec
from server.appkeys import HUB
from tests.server.orgs.test_isolation import PLAUSIBLE_HEADERS, RawBody, path_params, plausible_body
from tests.server.roles import ROLES, World, build_world

pytestmark = pytest.mark.timeout(600)

ALLOWED, ANY_4XX, ANYTHING = "allowed", "a 4xx", "anything but a 5xx"


@dataclass(frozen=True)
class Rule:
    """What some roles get from one route, where its declaration does not say it all; the rest follow the declaration."""

    reason: str
    outcomes: dict[str, str | int]


def only(reason: str, allowed: tuple[str, ...], refused: int = 403) -> Rule:
    """Among the organisation's people, only ``allowed`` may; the others get ``refused``."""
    return Rule(reason, {role: ALLOWED if role in allowed else refused for role in ("member", "admin", "owner")})


GROUP = "/api/v1/orgs/{org_id}/groups/{group_id}"
MEETING = "/api/v1/orgs/{org_id}/meetings/{meeting_id}"
BROADCAST = "/api/v1/orgs/{org_id}/broadcasts/{broadcast_id}"
# In the world, the owner made the group "Team" (its group owner; admin and member are plain members of it),
# the meeting (its host), the broadcast (its sender, to member, admin and the removed member) and the guest invite.
GROUP_ADMIN = "the group's owner or admins (a group role, not the organisation's): the owner made the group; admin and member are plain members of it"
SENDER = "a broadcast is seen and managed by its sender (the owner) and organisation admins; to a recipient (member) it does not exist here"
RECIPIENT = "a recipient's own copy: member and admin received the broadcast; its sender (the owner) did not"
HOST = "the meeting's host (the owner), co-hosts and organisation admins"
STREAM = "/api/v1/orgs/{org_id}/streams/{stream_id}"
LIVE = "/api/v1/live/{stream_id}"  # a stream's room, for its watchers
# In the world, the owner started the stream from the group "Team" (whose owner it is), open to guests.
STREAM_STARTER = "a stream is started by the group's owner or admins (a group role): the owner made the group; admin and member are plain members of it"
STREAM_MANAGER = "a stream is managed by its host (the owner), the group's owners and admins, and organisation admins"
FORM = "/api/v1/orgs/{org_id}/forms"
BUILDERS = "form builders: organisation admins, and members a registered rule admits (none here; tests/server/forms/test_forms_api.py)"
SCHOOLS = "/api/v1/orgs/{org_id}/schools"
SCOPED = ("schools: a unit, child or guardian is reached through a role on a unit (schools/scope.py); organisation admins reach the "
          "whole hierarchy, a member with no role on any unit reaches nothing (tests/schools/test_scope_matrix.py walks the roles)")
BUREAU_IMPORTS = "importing the hierarchy is for organisation admins and bureau staff; the member holds no role"
ONE_FORM = FORM + "/{form_id}"
ROUND = "/api/v1/orgs/{org_id}/rounds/{round_id}"
# In the world, the owner wrote the form and sent the round to member, admin and the removed member; member submitted.
AUTHOR = "a form is sent and its rounds followed by its author (the owner) and organisation admins"
ANSWERS = "individual answers are for organisation admins (and whom a capability adds); to others they do not exist"
CLINIC = "/api/v1/orgs/{org_id}/clinics/{clinic_id}"
CONSULTATION = "/api/v1/orgs/{org_id}/consultations/{consultation_id}"
# In the world, the owner is the clinic's only doctor; its consultation is a patient waiting (no session in the world).
CLINIC_STAFF = "a clinic's queue is for its doctors (the owner) and organisation admins; to others the clinic does not exist"
PATIENT_ONLY = "only the consultation's patient (a guest session scoped to it, tests/rooms/consultations/) sees it; to people it does not exist"
FINER_RULES: dict[str, Rule] = {
    "GET /api/v1/live/{stream_id}": Rule("a stream is watched by its group's members, organisation admins and its own guests; the guest "
                                         "here is another group's, the removed member and the outsider are not in the organisation",
                                         {"guest": 404, "removed": 404, "outsider": 404}),
    **{key: Rule("as GET /api/v1/live/{stream_id}: the stream's room is for those who may watch it", {"guest": 404, "removed": 404, "outsider": 404})
       for key in ("GET " + LIVE + "/room", "POST " + LIVE + "/chat", "POST " + LIVE + "/likes", "PUT " + LIVE + "/hand",
                   "DELETE " + LIVE + "/hand", "POST " + LIVE + "/presence")},
    "DELETE " + STREAM + "/chat/{message_id}": only(STREAM_MANAGER + " (the routes before posted the message)", ("admin", "owner")),
    "POST " + STREAM + "/viewers/{user_id}/remove": only(STREAM_MANAGER + " (the spare joined the group by the routes before)", ("admin", "owner")),
    "GET " + STREAM + "/hands": only(STREAM_MANAGER, ("admin", "owner")),
    "DELETE " + STREAM + "/hands/{user_id}": Rule(STREAM_MANAGER + "; the spare's hand is not up, so they get 404", {"member": 403, "admin": 404, "owner": 404}),
    "POST " + STREAM + "/hands/{user_id}/invite": Rule(STREAM_MANAGER + "; the spare's hand is not up, so they get 404", {"member": 403, "admin": 404, "owner": 404}),
    "GET " + STREAM + "/attendance": only(STREAM_MANAGER, ("admin", "owner")),
    "GET " + STREAM + "/attendance/export": only(STREAM_MANAGER, ("admin", "owner")),
    "GET /api/v1/live/{stream_id}/hls": Rule("a stream's HLS URLs go to whoever may watch it, as GET /api/v1/live/{stream_id}",
                                             {"guest": 404, "removed": 404, "outsider": 404}),
    "POST /api/v1/orgs/{org_id}/streams": only(STREAM_STARTER, ("owner",)),
    "PATCH " + STREAM: only(STREAM_MANAGER, ("admin", "owner")),
    "POST " + STREAM + "/start": only(STREAM_MANAGER, ("admin", "owner")),
    "POST " + STREAM + "/end": only(STREAM_MANAGER, ("admin", "owner")),
    "POST " + STREAM + "/stream-key": only(STREAM_MANAGER, ("admin", "owner")),
    "DELETE " + STREAM + "/stream-key": only(STREAM_MANAGER, ("admin", "owner")),
    "POST " + STREAM + "/public-links": only(STREAM_MANAGER, ("admin", "owner")),
    "DELETE " + STREAM + "/public-links/{public_link_id}": only(STREAM_MANAGER, ("admin", "owner")),
    "POST " + ONE_FORM + "/rounds": only(AUTHOR, ("admin", "owner")),
    "GET " + ONE_FORM + "/rounds": only(AUTHOR, ("admin", "owner")),
    "GET /api/v1/orgs/{org_id}/respondent-kinds": only(BUILDERS, ("admin", "owner")),
    "POST " + ONE_FORM + "/schedules": only(AUTHOR, ("admin", "owner")),
    "GET " + ONE_FORM + "/schedules": only(AUTHOR, ("admin", "owner")),
    "DELETE " + ONE_FORM + "/schedules/{schedule_id}": only(AUTHOR, ("admin", "owner")),
    "POST " + ROUND + "/close": only(AUTHOR, ("admin", "owner")),
    "GET " + ROUND + "/dashboard": only(AUTHOR + "; to others the round's dashboard does not exist", ("admin", "owner"), 404),
    "GET " + ROUND + "/respondents": only(AUTHOR + "; to others the round's lists do not exist", ("admin", "owner"), 404),
    "POST " + ROUND + "/reminders": only(AUTHOR + "; to others the round's reminders do not exist", ("admin", "owner"), 404),
    "GET " + ROUND + "/reminders": only(AUTHOR + "; to others the round's reminders do not exist", ("admin", "owner"), 404),
    "GET " + ONE_FORM + "/export": only(ANSWERS, ("admin", "owner"), 404),
    "POST " + ROUND + "/submissions": only("a respondent answers for themselves: member and admin were sent the round, its author (the owner) was not",
                                           ("member", "admin"), 404),
    "PUT " + ROUND + "/submissions/{submission_id}": only("a submission is edited only by who answers for its respondent (member)", ("member",), 404),
    "POST /api/v1/auth/login": Rule("answers about the credentials in the body, whoever sends them", dict.fromkeys(ROLES, ANYTHING)),
    "POST /api/v1/guest-sessions": Rule("answers about the invite token in the body", dict.fromkeys(ROLES, ANYTHING)),
    "POST /api/v1/auth/phone/code": Rule(
        "answers about the phone number and organisation in the body, whoever sends them, and the same whether the number is anyone's "
        "(tests/server/accounts/test_phone_sign_in.py)", dict.fromkeys(ROLES, ANYTHING),
    ),
    "POST /api/v1/auth/phone/sign-in": Rule("answers about the number and code in the body, whoever sends them", dict.fromkeys(ROLES, ANYTHING)),
    "POST /api/v1/auth/link/preview": Rule("answers about the sign-in link token in the body, whoever sends it", dict.fromkeys(ROLES, ANYTHING)),
    "POST /api/v1/auth/link/sign-in": Rule("answers about the sign-in link token in the body, whoever sends it", dict.fromkeys(ROLES, ANYTHING)),
    "POST /api/v1/meetings/join": Rule("answers about the meeting link in the body (anyone with the link may join, as a guest)", dict.fromkeys(ROLES, ANYTHING)),
    "POST /api/v1/clinic-links/clinic": Rule("answers about the clinic link in the body (anyone with the link may queue)", dict.fromkeys(ROLES, ANYTHING)),
    "POST /api/v1/clinic-links/code": Rule("answers about the clinic link and the number in the body, whoever sends them", dict.fromkeys(ROLES, ANYTHING)),
    "POST /api/v1/clinic-links/queue": Rule("answers about the clinic link, number and code in the body, whoever sends them", dict.fromkeys(ROLES, ANYTHING)),
    "GET " + CLINIC + "/queue": only(CLINIC_STAFF, ("admin", "owner"), 404),
    "POST " + CLINIC + "/call-next": only("only the clinic's doctors (the owner) call its patients; to others the clinic does not exist", ("owner",), 404),
    "POST " + CONSULTATION + "/end": only("a consultation is ended by its doctor (the world's clinic: the owner) or an organisation admin", ("admin", "owner"), 404),
    "GET " + CONSULTATION + "/patient": Rule(PATIENT_ONLY, dict.fromkeys(("member", "admin", "owner"), 404)),
    "POST " + CONSULTATION + "/patient/join": Rule(PATIENT_ONLY, dict.fromkeys(("member", "admin", "owner"), 404)),
    "POST " + CONSULTATION + "/patient/leave": Rule(PATIENT_ONLY, dict.fromkeys(("member", "admin", "owner"), 404)),
    "POST /api/v1/notify/callbacks/{token}/status": Rule("the SMS/phone provider calls it; believed only with its signature", dict.fromkeys(ROLES, ANY_4XX)),
    "POST /api/v1/notify/callbacks/{token}/gather": Rule("the SMS/phone provider calls it; believed only with its signature", dict.fromkeys(ROLES, ANY_4XX)),
    "POST /api/v1/invitations/{invitation_id}/accept": Rule(
        "an invitation is answered only by the account it invites (someone outside the organisation): to anyone else it does not exist",
        dict.fromkeys(("outsider", "removed", "member", "admin", "owner"), 404),
    ),
    "POST /api/v1/invitations/{invitation_id}/decline": Rule(
        "an invitation is answered only by the account it invites (someone outside the organisation): to anyone else it does not exist",
        dict.fromkeys(("outsider", "removed", "member", "admin", "owner"), 404),
    ),
    "HEAD /api/v1/uploads/{upload_id}": Rule(
        "an upload is its starter's: the outsider is given the owner's upload; the removed member their own, started before removal",
        {"outsider": 404, "removed": 404},
    ),
    "PATCH /api/v1/uploads/{upload_id}": Rule(
        "an upload is its starter's: the outsider is given the owner's upload; the removed member their own, started before removal",
        {"outsider": 404, "removed": 404},
    ),
    "DELETE /api/v1/uploads/{upload_id}": Rule(
        "an upload is its starter's: the outsider is given the owner's upload; the removed member their own, started before removal",
        {"outsider": 404, "removed": 404},
    ),
    "DELETE /api/v1/orgs/{org_id}/guest-invites/{invite_id}": only("organisation admins, or whoever created the link (the owner)", ("admin", "owner")),
    "POST /api/v1/orgs/{org_id}/guest-invites": only("a guest link to a group: " + GROUP_ADMIN, ("owner",)),
    "PATCH " + GROUP: only(GROUP_ADMIN, ("owner",)),
    "POST " + GROUP + "/members": only(GROUP_ADMIN, ("owner",)),
    "POST " + GROUP + "/members/remove": only(GROUP_ADMIN, ("owner",)),
    "PUT " + GROUP + "/members/{user_id}/role": only("the group's owner", ("owner",)),
    "PATCH " + GROUP + "/messages/{seq}": only("the message's sender (the owner)", ("owner",)),
    "POST " + GROUP + "/messages/{seq}/recall": only("the message's sender (the owner) or the group's admins", ("owner",)),
    "POST " + GROUP + "/messages/{seq}/forward": Rule(
        "the probe's target group (group_id 1 in the body) may be one the caller is not in, and 404 is about it; "
        "tests/server/groups/test_chat_api.py forwards between the caller's own groups",
        dict.fromkeys(("member", "admin", "owner"), ANYTHING),
    ),
    "GET /api/v1/orgs/{org_id}/files/{file_id}/thumbnail": Rule(
        "the world's file is not an image: those who may read it get 404 'no thumbnail' (the others 404 'no such file'); "
        "tests/server/groups/test_chat_api.py shows an image's thumbnail only to who may read the image",
        dict.fromkeys(("member", "admin", "owner"), 404),
    ),
    "POST " + GROUP + "/announcements": only(GROUP_ADMIN, ("owner",)),
    "DELETE " + GROUP + "/announcements/{seq}": only(GROUP_ADMIN, ("owner",)),
    "POST /api/v1/me/password": Rule(
        "the probe sends a wrong current password, and 403 is the answer about it (tests/server/accounts/test_password_change.py changes one)",
        dict.fromkeys(("outsider", "removed", "member", "admin", "owner"), 403),
    ),
    "POST /api/v1/me/totp": Rule(
        "enrolling needs the password again; the probe's is wrong and 403 answers about it (tests/server/accounts/test_totp.py enrols)",
        dict.fromkeys(("outsider", "removed", "member", "admin", "owner"), 403),
    ),
    "POST /api/v1/me/deletion": Rule(
        "deleting one's account needs the password again; the probe's is wrong and 403 answers about it "
        "(tests/server/personal_data/test_own_data.py deletes one)",
        dict.fromkeys(("outsider", "removed", "member", "admin", "owner"), 403),
    ),
    "DELETE /api/v1/me/trusted-devices/{trusted_device_id}": Rule(
        "a remembered device is only its owner's, and the probe's id is nobody's: 404 to everyone signed in (tests/server/accounts/test_trusted_devices.py revokes one)",
        dict.fromkeys(("outsider", "removed", "member", "admin", "owner"), 404),
    ),
    "POST /api/v1/orgs": Rule(
        "only the server's operators (MUSTER_OPERATORS) create organisations, and nobody here is one (tests/server/orgs/test_creation.py)",
        dict.fromkeys(("outsider", "removed", "member", "admin", "owner"), 403),
    ),
    "GET /api/v1/push-key": Rule(
        "web push is not set up in the tests (no VAPID key): 404 says so to everyone signed in",
        dict.fromkeys(("outsider", "removed", "member", "admin", "owner"), 404),
    ),
    "GET " + BROADCAST: only(SENDER, ("admin", "owner"), 404),
    "GET " + BROADCAST + "/recipients": only(SENDER, ("admin", "owner"), 404),
    "GET " + BROADCAST + "/deliveries": only(SENDER, ("admin", "owner"), 404),
    "POST " + BROADCAST + "/remind": only(SENDER, ("admin", "owner"), 404),
    "GET " + BROADCAST + "/mine": only(RECIPIENT, ("member", "admin"), 404),
    "POST " + BROADCAST + "/receipt": only(RECIPIENT, ("member", "admin"), 404),
    "GET " + MEETING + "/recordings": Rule(
        "everyone of the organisation may ask; hosts and admins see every recording, a member those they were in (none here)",
        {"member": ALLOWED, "admin": ALLOWED, "owner": ALLOWED},
    ),
    "GET " + MEETING + "/recordings/{recording_id}": only(
        "a recording is read by the meeting's host (the owner), co-hosts, organisation admins and the members who were in it "
        "while it was recorded (member was not); to others it does not exist", ("admin", "owner"), refused=404,
    ),
    "DELETE " + MEETING + "/recordings/{recording_id}": only(HOST, ("admin", "owner")),
    "POST /api/v1/orgs/{org_id}/broadcasts": only("broadcast senders: organisation admins and the people they name", ("admin", "owner")),
    "POST /api/v1/orgs/{org_id}/broadcast-attachments": only("broadcast senders: organisation admins and the people they name", ("admin", "owner")),
    "POST /api/v1/orgs/{org_id}/audiences/preview": only(
        "who may send to an audience: organisation admins and those a capability lets send (notify's named senders; none in the world)",
        ("admin", "owner"),
    ),
    "GET /api/v1/orgs/{org_id}/audiences/reach": only(
        "who may send to an audience (as the preview): organisation admins and those a capability lets send (none in the world)",
        ("admin", "owner"),
    ),
    "GET /api/v1/orgs/{org_id}/audiences/units": only(
        "who may send to an audience (as the preview); the member holds no school role that sends", ("admin", "owner"),
    ),
    "PATCH " + MEETING: only(HOST, ("admin", "owner")),
    "POST " + MEETING + "/end": only(HOST, ("admin", "owner")),
    "POST " + MEETING + "/invitees": only(HOST, ("admin", "owner")),
    "DELETE " + MEETING + "/invitees/{user_id}": only(HOST + " (the world's meetings invite the spare member)", ("admin", "owner")),
    "DELETE /api/v1/orgs/{org_id}/sign-in-links/{sign_in_link_id}": only("whoever issued it (the owner made the family link) or organisation admins",
                                                                       ("admin", "owner")),
    "DELETE /api/v1/orgs/{org_id}/contact-links/{link_id}": only("its creator (the owner made it) or organisation admins", ("admin", "owner")),
    "POST /api/v1/orgs/{org_id}/contact-links/qr": only(
        "the QR code of one's own live link (the owner's), or any of the organisation's for its admins; to others it does not exist",
        ("admin", "owner"), 404,
    ),
    "DELETE /api/v1/orgs/{org_id}/contacts/{contact_id}": only("the staff member in charge of the contact (the owner) or organisation admins", ("admin", "owner")),
    "POST /api/v1/orgs/{org_id}/external-groups/{group_id}/contacts": only(GROUP_ADMIN + " (the group is not external: the owner gets a 400)", ("owner",)),
    "POST " + FORM: only(BUILDERS, ("admin", "owner")),
    "GET " + FORM: only(BUILDERS, ("admin", "owner")),
    "POST " + FORM + "/import-xlsform": only(BUILDERS + "; the probe sends no workbook, a 400 past authorisation", ("admin", "owner")),
    "GET " + FORM + "/{form_id}": only(BUILDERS, ("admin", "owner")),
    "PATCH " + FORM + "/{form_id}": only(BUILDERS, ("admin", "owner")),
    "GET " + FORM + "/{form_id}/versions": only(BUILDERS, ("admin", "owner")),
    "GET " + FORM + "/{form_id}/versions/{version_number}": only(BUILDERS, ("admin", "owner")),
    "GET " + FORM + "/{form_id}/versions/{version_number}/xlsform": only(BUILDERS, ("admin", "owner")),
    "POST /api/v1/contact-links/preview": Rule("answers about the contact link token in the body, whoever sends it", dict.fromkeys(ROLES, ANYTHING)),
    "POST /api/v1/contact-links/sign-up": Rule("answers about the contact link token in the body, whoever sends it", dict.fromkeys(ROLES, ANYTHING)),
    "GET " + SCHOOLS + "/me": Rule("a guest is nobody in the hierarchy: the organisation does not exist for them here", {"guest": 404}),
    "POST " + SCHOOLS + "/units": only("a new unit goes under one the caller manages; the bureau itself: organisation admins", ("admin", "owner")),
    **{
        method + " " + SCHOOLS + path: only(SCOPED, ("admin", "owner"), 404)
        for method, path in (
            ("GET", "/units/{unit_id}"), ("PATCH", "/units/{unit_id}"), ("GET", "/units/{unit_id}/students"), ("GET", "/units/{unit_id}/staff"),
            ("POST", "/units/{unit_id}/roles"), ("DELETE", "/units/{unit_id}/roles/{role_id}"), ("POST", "/units/{unit_id}/group"),
            ("POST", "/units/{unit_id}/rollover"), ("POST", "/units/{unit_id}/family-links"), ("GET", "/rollovers/{rollover_id}"),
            ("GET", "/students/{student_id}"), ("PATCH", "/students/{student_id}"),
            ("POST", "/students/{student_id}/guardians"), ("DELETE", "/students/{student_id}/guardians/{guardian_id}"),
            ("GET", "/guardians/{guardian_id}"), ("PATCH", "/guardians/{guardian_id}"),
        )
    },
    "POST " + SCHOOLS + "/imports": only(BUREAU_IMPORTS, ("admin", "owner")),
    "GET " + SCHOOLS + "/imports": only(BUREAU_IMPORTS, ("admin", "owner")),
    "GET " + SCHOOLS + "/imports/{job_id}": only(BUREAU_IMPORTS + "; to anyone else an import's id does not exist", ("admin", "owner"), 404),
    "POST /api/v1/contact-links/accept": Rule(
        "the probe's token is no link: every account gets a 4xx about it (tests/server/contacts/test_joining.py accepts one)",
        dict.fromkeys(("outsider", "removed", "member", "admin", "owner"), ANY_4XX),
    ),
}

# API routes whose declaration says all there is, with that declaration ("auth" or "auth+role"), pinned:
# loosening a route's @endpoint fails the matrix until this table agrees.
AS_DECLARED: dict[str, str] = {
    "POST /api/v1/auth/logout": "any",
    "GET /api/v1/me": "any",
    "PATCH /api/v1/me": "any",
    "GET /api/v1/me/devices": "user",
    "DELETE /api/v1/me/devices/{session_id}": "user",
    "GET /api/v1/me/trusted-devices": "user",
    "GET /api/v1/me/notices": "user",
    "GET /api/v1/me/personal-data": "user",
    "POST /api/v1/me/notices/read": "user",
    "POST /api/v1/me/password": "user",
    "POST /api/v1/me/totp/confirm": "user",
    "DELETE /api/v1/me/totp": "user",
    "GET /api/v1/orgs": "user",
    "GET /api/v1/orgs/{org_id}": "any",
    "PATCH /api/v1/orgs/{org_id}": "user+admin",
    "GET /api/v1/orgs/{org_id}/home": "user",
    "GET /api/v1/navigation": "user",
    "GET /api/v1/orgs/{org_id}/settings-sections": "user+admin",
    "GET /api/v1/orgs/{org_id}/departments": "user",
    "POST /api/v1/orgs/{org_id}/departments": "user+admin",
    "PATCH /api/v1/orgs/{org_id}/departments/{department_id}": "user+admin",
    "DELETE /api/v1/orgs/{org_id}/departments/{department_id}": "user+admin",
    "GET /api/v1/orgs/{org_id}/members": "user",
    "GET /api/v1/orgs/{org_id}/schools/rollovers": "user",  # the rollovers of the units the caller manages: none, an empty list
    "GET /api/v1/orgs/{org_id}/members/{member_id}": "user",
    "POST /api/v1/orgs/{org_id}/members": "user+admin",
    "PATCH /api/v1/orgs/{org_id}/members/{member_id}": "user+admin",
    "DELETE /api/v1/orgs/{org_id}/members/{member_id}": "user+admin",
    "GET /api/v1/orgs/{org_id}/members/{member_id}/personal-data": "user+admin",
    "POST /api/v1/orgs/{org_id}/members/{member_id}/erasure": "user+admin",
    "POST /api/v1/orgs/{org_id}/invitations": "user+admin",
    "GET /api/v1/orgs/{org_id}/invitations": "user+admin",
    "DELETE /api/v1/orgs/{org_id}/invitations/{invitation_id}": "user+admin",
    "GET /api/v1/invitations": "user",
    "GET /api/v1/orgs/{org_id}/audit": "user+admin",
    "GET /api/v1/orgs/{org_id}/audit/export": "user+admin",
    "POST /api/v1/orgs/{org_id}/imports": "user+admin",
    "GET /api/v1/orgs/{org_id}/files/{file_id}": "any",
    "GET /api/v1/orgs/{org_id}/groups": "any",
    "POST /api/v1/orgs/{org_id}/groups": "user",
    "POST /api/v1/orgs/{org_id}/direct-chats": "user",
    "GET " + GROUP: "any",
    "GET " + GROUP + "/members": "any",
    "POST " + GROUP + "/leave": "any",
    "PUT " + GROUP + "/mute": "any",
    "GET " + GROUP + "/messages": "any",
    "POST " + GROUP + "/messages": "any",
    "PUT " + GROUP + "/messages/{seq}/reactions": "any",
    "POST " + GROUP + "/messages/{seq}/reactions/remove": "any",
    "POST " + GROUP + "/read": "any",
    "GET " + GROUP + "/messages/{seq}/readers": "any",
    "GET " + GROUP + "/announcements": "any",
    "POST " + GROUP + "/announcements/{seq}/open": "any",
    "GET " + GROUP + "/announcements/{seq}/opens": "any",
    "POST " + GROUP + "/uploads": "any",
    "GET " + GROUP + "/files/{file_id}": "any",
    "GET /api/v1/orgs/{org_id}/group-messages/search": "any",
    "GET /api/v1/orgs/{org_id}/broadcasts": "user",
    "GET /api/v1/orgs/{org_id}/broadcasts/received": "any",
    "GET /api/v1/orgs/{org_id}/broadcast-policy": "user",
    "PUT /api/v1/orgs/{org_id}/broadcast-policy": "user+admin",
    "GET /api/v1/orgs/{org_id}/broadcast-policy/limits": "user",
    "GET /api/v1/orgs/{org_id}/broadcast-senders": "user+admin",
    "PUT /api/v1/orgs/{org_id}/broadcast-senders/{user_id}": "user+admin",
    "DELETE /api/v1/orgs/{org_id}/broadcast-senders/{user_id}": "user+admin",
    "POST /api/v1/push-subscriptions": "user",
    "POST /api/v1/push-subscriptions/delete": "user",
    "GET /api/v1/me/notification-settings": "user",
    "PATCH /api/v1/me/notification-settings": "user",
    "GET /api/v1/orgs/{org_id}/notification-settings": "user+admin",
    "PATCH /api/v1/orgs/{org_id}/notification-settings": "user+admin",
    "GET /api/v1/orgs/{org_id}/paid-allowances": "user+admin",
    "GET /api/v1/orgs/{org_id}/mentions": "any",
    "POST /api/v1/orgs/{org_id}/clinics": "user+admin",
    "GET /api/v1/orgs/{org_id}/clinics": "user",
    "PATCH /api/v1/orgs/{org_id}/clinics/{clinic_id}": "user+admin",
    "GET /api/v1/orgs/{org_id}/clinics/{clinic_id}/qr": "user+admin",
    "GET /api/v1/orgs/{org_id}/clinics/{clinic_id}/consultations": "user+admin",
    "POST /api/v1/orgs/{org_id}/meetings": "user",
    "GET /api/v1/orgs/{org_id}/meetings": "user",
    "GET /api/v1/orgs/{org_id}/meetings/upcoming": "user",
    "GET " + MEETING + "/join-qr": "user",
    "GET " + MEETING: "any",
    "GET " + MEETING + "/invitees": "user",
    "GET /api/v1/orgs/{org_id}/streams": "user",
    "GET " + STREAM: "any",
    "GET " + STREAM + "/watch-qr": "user",
    "POST /api/v1/orgs/{org_id}/contact-links": "user",
    "GET /api/v1/orgs/{org_id}/contact-links": "user",
    "GET /api/v1/orgs/{org_id}/contacts": "user",
    "POST /api/v1/orgs/{org_id}/external-groups": "user",
    "GET /api/v1/orgs/{org_id}/external-contacts": "user+admin",
    "GET /api/v1/orgs/{org_id}/external-contacts/policy": "user+admin",
    "PUT /api/v1/orgs/{org_id}/external-contacts/policy": "user+admin",
    "POST /api/v1/orgs/{org_id}/members/{member_id}/handover": "user+admin",
    "GET /api/v1/me/external-chats": "user",
    "GET /api/v1/me/outsider-orgs": "user",
    "POST /api/v1/orgs/{org_id}/form-photos": "user",
    "GET " + SCHOOLS + "/units": "user",
    "POST " + SCHOOLS + "/students": "user",
    "GET " + ROUND: "user",
    "GET " + ROUND + "/submissions/{submission_id}": "user",
    "GET /api/v1/orgs/{org_id}/calendar": "user",
    "PUT /api/v1/orgs/{org_id}/calendar": "user+admin",
    "GET /api/v1/orgs/{org_id}/form-policy": "user+admin",
    "PUT /api/v1/orgs/{org_id}/form-policy": "user+admin",
}

# Routes without an @endpoint declaration, and why they are not in the matrix.
NOT_API: dict[str, str] = {
    "GET /healthz": "liveness for the load balancer; says nothing but 'ok'",
    "GET /readyz": "readiness for the load balancer; says which dependency is down, no data",
    "GET /metrics": "Prometheus text, for loopback or the metrics token (tests/server/test_api_conventions.py)",
    "GET /api/openapi.json": "the API's public description",
    "GET /api/v1/ws": "the device WebSocket: authenticated by its hello frame; its frames are in the second half of this matrix",
    "OPTIONS /api/v1/uploads": "tus discovery: the server's tus version and limits, no data",
    "GET /groups": "the groups page: a static file, its API calls are checked",
    "GET /": "the sign-in page: a static file",
    "GET /home": "the home page: a static file, its API calls are checked",
    "GET /join": "the guest invite page: a static file; POST /api/v1/guest-sessions checks the invite",
    "GET /directory": "the directory page: a static file",
    "GET /account": "the account page: a static file, its API calls are checked",
    "GET /notify": "the broadcasts page: a static file",
    "GET /notify/inbox": "the inbox page: a static file",
    "GET /notify/settings": "the broadcast settings page: a static file, its API calls are checked (admins)",
    "GET /admin": "the organisation's settings page: a static file, its API calls are checked (admins)",
    "GET /admin/notifications": "the organisation's notification settings page: a static file, its API calls are checked (admins)",
    "GET /meetings": "the meetings page: a static file, its API calls are checked",
    "GET /consult/{link_token}": "a clinic's patient page: a static file for any link; POST /api/v1/clinic-links/* check the link",
    "GET /clinics": "the doctors' page: a static file, its API calls are checked (a clinic's doctors, admins)",
    "GET /m/{link_token}": "the meeting page: a static file for any link; POST /api/v1/meetings/join checks the link",
    "POST /whip/{stream_id}": "WHIP ingest: authenticated by the stream's own key, not a session (tests/rooms/live/test_whip.py)",
    "OPTIONS /whip/{stream_id}": "WHIP's CORS preflight: no data, no key needed (RFC 9725)",
    "PATCH /whip/{stream_id}/{resource_id}": "a WHIP session's trickle ICE: the stream's own key (tests/rooms/live/test_whip.py)",
    "DELETE /whip/{stream_id}/{resource_id}": "a WHIP session's end: the stream's own key (tests/rooms/live/test_whip.py)",
    "OPTIONS /whip/{stream_id}/{resource_id}": "WHIP's CORS preflight: no data, no key needed (RFC 9725)",
    "POST /whep/{stream_id}": "WHEP: an SDP body, authorised like GET /api/v1/live/{stream_id} (tests/rooms/live/test_whep.py: members, "
                              "the stream's guests 201; others in or out of the organisation 404; anonymous 401)",
    "PATCH /whep/{stream_id}/{resource_id}": "a WHEP session's trickle ICE: the viewer's own session only (tests/rooms/live/test_whep.py)",
    "DELETE /whep/{stream_id}/{resource_id}": "a WHEP session's end: the viewer's own session only, others 404 (tests/rooms/live/test_whep.py)",
    "OPTIONS /whep/{stream_id}": "WHEP's CORS preflight: no data, no session needed",
    "OPTIONS /whep/{stream_id}/{resource_id}": "WHEP's CORS preflight: no data, no session needed",
    "GET /hls/{stream_id}/{token}/live.m3u8": "the HLS origin: the stream's rotating token in the path, handed out by "
                                              "GET /api/v1/live/{stream_id}/hls, no session (tests/rooms/live/test_hls.py)",
    "GET /hls/{stream_id}/{token}/{name}": "the HLS origin's segments and replay: the stream's rotating token, as for live.m3u8",
    "GET /live/{stream_id}": "a livestream's watch page: a static file, its API calls (GET /api/v1/live/{stream_id}, WHEP) are checked",
    "GET /live/{stream_id}/studio": "a livestream's studio: a static file, its API calls are checked (the stream's managers)",
    "GET /contacts": "the external contacts page: a static file, its API calls are checked",
    "GET /link": "the sign-in link page: a static file; POST /api/v1/auth/link/* check the token in the body",
    "GET /c/{link_token}": "the contact link page: a static file for any link; POST /api/v1/contact-links/* check the token",
    "GET /forms/{form_id}/rounds": "sending a form: a static file for any id, its API calls are checked",
    "GET /rounds/{round_id}": "a round's dashboard: a static file for any id, its API calls are checked",
    "GET /f/{round_id}": "the fill page: a static file for any round, its API calls are checked",
    "GET /forms": "the form builder: a static file, its API calls are checked (form builders)",
    "GET /schools/settings": "the schools' settings page (importing the hierarchy): a static file, its API calls are checked (admins)",
    "GET /schools/family": "a guardian's children: a static file, its API calls are checked (their own children)",
    "GET /schools/family-links": "a class's family links to print: a static file, its API calls are checked (the class's head teacher, its managers)",
    "GET /schools/units": "the hierarchy and the rollover: a static file, its API calls are checked (within the caller's roles)",
}

# Routes that use their thing up: each call gets a new one (World.fresh), so the next role still finds one.
FRESH: dict[str, tuple[str, ...]] = {
    "DELETE /api/v1/orgs/{org_id}/departments/{department_id}": ("department_id",),
    "DELETE /api/v1/orgs/{org_id}/members/{member_id}": ("member_id",),
    "POST /api/v1/orgs/{org_id}/members/{member_id}/erasure": ("member_id",),
    "DELETE /api/v1/orgs/{org_id}/invitations/{invitation_id}": ("invitation_id",),
    "DELETE /api/v1/orgs/{org_id}/guest-invites/{invite_id}": ("invite_id",),
    "POST " + GROUP + "/leave": ("group_id",),
    "POST " + GROUP + "/members/remove": ("group_id",),
    "POST " + GROUP + "/messages/{seq}/recall": ("seq",),
    "DELETE " + GROUP + "/announcements/{seq}": ("seq",),
    "POST " + MEETING + "/end": ("meeting_id",),
    "POST " + STREAM + "/end": ("stream_id",),
    "DELETE " + STREAM + "/public-links/{public_link_id}": ("public_link_id",),
    "DELETE " + MEETING + "/invitees/{user_id}": ("meeting_id",),
    "DELETE " + MEETING + "/recordings/{recording_id}": ("recording_id",),
    "DELETE /api/v1/orgs/{org_id}/contacts/{contact_id}": ("contact_id",),
    "DELETE " + SCHOOLS + "/units/{unit_id}/roles/{role_id}": ("role_id",),
    "DELETE " + SCHOOLS + "/students/{student_id}/guardians/{guardian_id}": ("guardian_id",),
    "DELETE " + ONE_FORM + "/schedules/{schedule_id}": ("schedule_id",),
}


def key_of(route: web.AbstractRoute) -> str:
    return f"{route.method} {route.resource.canonical}"


def spec_of(route: web.AbstractRoute) -> EndpointSpec | None:
    return getattr(route.handler, "__muster_endpoint__", None)


def api_routes(app: web.Application) -> list[web.AbstractRoute]:
    """Every declared route; the HEAD that aiohttp adds beside each GET is the GET's handler, and left out."""
    routes = [r for r in app.router.routes() if r.resource is not None and spec_of(r) is not None]
    gets = {r.resource.canonical for r in routes if r.method == "GET"}
    return [r for r in routes if not (r.method == "HEAD" and r.resource.canonical in gets)]


def declared(route: web.AbstractRoute, role: str) -> str | int:
    """What ``role`` gets from ``route`` by its @endpoint declaration alone."""
    spec = spec_of(route)
    in_org = "{org_id}" in route.resource.canonical
    if spec.auth == "none":
        return ALLOWED
    if role == "anonymous":
        return 401
    if role == "guest":
        if spec.auth == "user":
            return 403
        return 404 if in_org and len(path_params(route)) > 1 else ALLOWED
    if role in ("removed", "outsider"):
        return 404 if in_org else ALLOWED
    if spec.role is not None and ORG_ROLE_ORDER.index(role) < ORG_ROLE_ORDER.index(spec.role):
        return 403
    return ALLOWED


def expected(route: web.AbstractRoute, role: str) -> tuple[str | int, str]:
    rule = FINER_RULES.get(key_of(route))
    if rule is not None and role in rule.outcomes:
        return rule.outcomes[role], rule.reason
    return declared(route, role), "as declared"


def matches(outcome: str | int, status: int) -> bool:
    if status >= 500:
        return False
    if outcome == ALLOWED:
        return status not in (401, 403, 404)
    if outcome == ANY_4XX:
        return 400 <= status < 500
    if outcome == ANYTHING:
        return True
    return status == outcome


def body_for(route: web.AbstractRoute, world: World):
    """A body the route accepts from someone allowed, so that validation cannot answer before authorisation does."""
    ids = world.ids
    bodies = {
        "POST /api/v1/orgs/{org_id}/guest-invites": {"scope_kind": "group", "scope_id": ids["guest_group_id"]},
        "POST " + GROUP + "/members": {"user_ids": [world.spare.id]},
        "POST " + GROUP + "/members/remove": {"user_ids": [world.spare.id]},
        "POST /api/v1/orgs/{org_id}/broadcasts": {"title": "Probe", "body": "probe", "recipients": {"user_ids": [world.spare.id]}},
        "PATCH " + GROUP: {"name": "Team, renamed"},
        "PATCH " + MEETING: {"title": "Rounds"},
        "POST /api/v1/orgs/{org_id}/streams": {"group_id": ids["group_id"], "title": "Probe"},
        "PATCH " + STREAM: {"title": "Class"},
        "POST /api/v1/orgs/{org_id}/members/{member_id}/erasure": {"confirm": True},
        "POST /api/v1/orgs/{org_id}/contact-links/qr": {"token": world.contact_link},
        "POST /api/v1/orgs/{org_id}/members/{member_id}/handover": {"to_member_id": ids["admin_member_id"]},
        "POST " + SCHOOLS + "/units/{unit_id}/rollover": {"label": "probe", "final_level": 20},  # moves classes up, graduates nobody
        "POST " + SCHOOLS + "/students": {"external_id": "probe", "name": "Probe", "class_id": ids["unit_id"]},
    }
    return bodies[key_of(route)] if key_of(route) in bodies else plausible_body(route)


async def call(world: World, route: web.AbstractRoute, role: str) -> int:
    key = key_of(route)
    params = {p: world.fill(p, role) if world.knows(p) else 1 for p in path_params(route)}
    for param in FRESH.get(key, ()):
        params[param] = await world.fresh(param)
    headers = await world.fresh_token(role) if key == "POST /api/v1/auth/logout" and role != "anonymous" else world.headers(role)
    url = route.resource.url_for(**{k: str(v) for k, v in params.items()})
    body = body_for(route, world)
    kwargs: dict = {"headers": PLAUSIBLE_HEADERS | headers}
    if isinstance(body, RawBody):
        kwargs["data"] = body.data
        kwargs["headers"] = kwargs["headers"] | {"Content-Type": body.content_type}
    elif body is not None:
        kwargs["json"] = body
    async with world.client.request(route.method, str(url), **kwargs) as resp:
        await resp.read()
        return resp.status


@pytest.fixture
async def world(client, db) -> World:
    return await build_world(client, db)


def test_every_route_is_classified(app):
    """A new route fails here until someone says whether its declaration says it all (and adds it to the matrix)."""
    routes = {key_of(r): r for r in api_routes(app)}
    routes |= {key_of(r): r for r in app.router.routes() if r.resource is not None and spec_of(r) is None and r.method != "HEAD"}
    unclassified = sorted(
        k for k, r in routes.items()
        if k not in NOT_API and k not in AS_DECLARED and k not in FINER_RULES and not isinstance(r.resource, web.StaticResource)
    )
    assert not unclassified, (
        "these routes are not in the role matrix (tests/server/test_role_matrix.py): add each to AS_DECLARED "
        "(its @endpoint auth/role says who may), FINER_RULES (with who gets what and why) or NOT_API:\n  " + "\n  ".join(unclassified)
    )
    gone = sorted((AS_DECLARED.keys() | FINER_RULES.keys() | NOT_API.keys()) - set(routes))
    assert not gone, f"the matrix lists routes the app no longer has: {gone}"
    changed = [
        f"{key}: declared {spec.auth}{'+' + spec.role if spec.role else ''}, the matrix says {AS_DECLARED[key]}"
        for key, spec in ((k, spec_of(r)) for k, r in routes.items() if k in AS_DECLARED)
        if AS_DECLARED[key] != spec.auth + (f"+{spec.role}" if spec.role else "")
    ]
    assert not changed, "these routes' @endpoint declarations changed; if that is meant, change AS_DECLARED too:\n  " + "\n  ".join(changed)


async def test_every_route_answers_every_role_as_its_declaration_and_rules_say(app, world):
    wrong = []
    for route in api_routes(app):
        await forget_failed_guesses(world)
        for role in ROLES:
            outcome, why = expected(route, role)
            status = await call(world, route, role)
            if not matches(outcome, status):
                wrong.append(f"{key_of(route)} as {role}: {status}, expected {outcome} ({why})")
    assert not wrong, f"{len(wrong)} answers differ from the matrix:\n" + "\n".join(wrong)


async def forget_failed_guesses(world: World) -> None:
    """The probes' wrong passwords and codes, forgotten before each route: every probe comes from one address, and the
    matrix asks who may call a route, not how often (tests/server/accounts/ test the rate limits)."""
    async with world.db.transaction() as tx:
        await tx.session.execute(delete(LoginFailure))


# --- WebSocket frames ------------------------------------------------------------------


def frame_probe(frame_type: str, world: World, role: str, ref: int) -> dict:
    """A frame of ``frame_type`` with fields that name the world's things (and, for the removed member, the ticket they had)."""
    return {
        "type": frame_type, "ref": ref, "broadcast_id": world.ids["broadcast_id"], "state": "read",
        "meeting_id": world.ids["meeting_id"], "stream_id": world.ids["stream_id"], "ticket": world.tickets.get(role, "probe"), "round_id": world.ids["round_id"],
        "pid": "1", "sdp": "v=0", "candidate": {}, "emoji": "+1", "text": "probe", "body": "probe",
    }


# Answers that do not echo ``ref``: a seat in a meeting (or its lobby) is the answer to meeting.join.
ANSWERS_WITHOUT_REF = frozenset({"meeting.joined", "meeting.lobby"})


async def frame_answer(ws: aiohttp.ClientWebSocketResponse, ref: int) -> dict:
    """The server's answer to the frame sent with ``ref`` (events and other frames in between are skipped)."""
    while True:
        try:
            msg = await ws.receive(timeout=5)
        except TimeoutError:
            return {"type": "no answer in 5 s"}
        assert msg.type == WSMsgType.TEXT, f"socket closed: {msg.type} {msg.data!r}"
        frame = json.loads(msg.data)
        if frame.get("ref") == ref or frame.get("type") in ANSWERS_WITHOUT_REF:
            return frame


OUTSIDERS = ("removed", "outsider", "guest")


async def test_every_frame_type_answers_an_outsider_with_an_error(app, client, world):
    """A removed member, a member of another organisation and a guest of something else: an error frame for every frame type."""
    frame_types = sorted(app[HUB].frame_types())
    assert "broadcast.receipt" in frame_types and "meeting.join" in frame_types
    wrong = []
    async with aiohttp.ClientSession() as http:
        for role in OUTSIDERS:
            ws = await http.ws_connect(str(client.make_url("/api/v1/ws")))
            await ws.send_str(json.dumps({"type": "hello", "token": world.headers(role)["Authorization"].removeprefix("Bearer "), "user_seq": 0}))
            for ref, frame_type in enumerate(frame_types, 1):
                await ws.send_str(json.dumps(frame_probe(frame_type, world, role, ref)))
                answer = await frame_answer(ws, ref)
                if answer["type"] != "error" or answer["error"]["code"] == "internal":
                    wrong.append(f"{frame_type} as {role}: {answer}")
            await ws.close()
    assert not wrong, "these frames were not refused:\n" + "\n".join(wrong)
