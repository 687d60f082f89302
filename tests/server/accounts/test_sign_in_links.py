"""Sign-in links: a capability issues them (here a test kind standing for a class invitation), anyone with one signs in
as its capability says, within its uses and expiry; a token that opens nothing counts as a failed sign-in."""
from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from sqlalchemy import select, update

from server.accounts import sign_in_links
from server.accounts.auth import Principal
from server.accounts.models import SignInLink, User
from server.accounts.sign_in_links import (
    LinkQuestion,
    SignInGrant,
    SignInLinkKind,
    do_issue_sign_in_link,
    do_revoke_sign_in_link,
    do_withdraw_sign_in_links,
    sign_in_link_url,
)
from server.accounts.users import do_create_user
from server.appkeys import SETTINGS
from server.db import utcnow
from server.errors import Forbidden, InvalidInput
from server.orgs.access import OrgContext
from server.orgs.models import Membership
from server.qr import qr_image
from tests.factories import make_org, make_user, sign_in

CLASS_3B = 7


@pytest.fixture
def class_links(monkeypatch) -> list[tuple[int, int]]:
    """The kind "test.class": joining makes a member of the organisation (a new account, with the name typed)
    and lands on the class's page; the kind "test.person" signs in one existing account, its subject."""
    joined: list[tuple[int, int]] = []

    async def describe(tx, link, locale):
        return ("3B 班" if locale == "zh-CN" else "Class 3B") if link.subject_id == CLASS_3B else "?"

    async def join_class(tx, link, name, answers):
        user = await do_create_user(tx, name=name, email=None)
        tx.session.add(Membership(org_id=tx.org_id, user_id=user.id, role="member", display_name=name, title=answers.get("seat", "")))
        joined.append((link.subject_id, user.id))
        return SignInGrant(user, landing_url=f"/classes/{link.subject_id}")

    async def that_person(tx, link, name, answers):
        return SignInGrant(await tx.session.get(User, link.subject_id))

    monkeypatch.setattr(sign_in_links, "_kinds", {})
    sign_in_links.register_sign_in_link("test.class", SignInLinkKind(describe, join_class))
    seat = LinkQuestion("seat", "Your seat", max_length=4, hint="A1", missing="say where you sit")
    sign_in_links.register_sign_in_link("test.seated", SignInLinkKind(describe, join_class, questions=(seat,)))
    sign_in_links.register_sign_in_link("test.person", SignInLinkKind(describe, that_person, asks_name=False))
    return joined


async def issue(db, settings, org, issuer, *, kind="test.class", subject_id=CLASS_3B, expires_in_s=3600, max_uses=None, role="owner"):
    context = OrgContext(org_id=org.id, principal=Principal(issuer.id, 1, issuer.name), membership_id=None, role=role)
    async with db.transaction(org_id=org.id) as tx:
        return await do_issue_sign_in_link(tx, context, settings, kind=kind, subject_id=subject_id, expires_in_s=expires_in_s, max_uses=max_uses)


async def test_a_class_link_makes_accounts_of_who_joins_until_its_uses_are_spent(client, db, app, class_links):
    teacher = await make_user(db, "Teacher")
    org = await make_org(db, teacher, "Riverside Primary")
    token, link = await issue(db, app[SETTINGS], org, teacher, max_uses=2)
    assert sign_in_link_url(app[SETTINGS], token) == f"https://muster.example.org/link#{token}"
    assert qr_image(sign_in_link_url(app[SETTINGS], token), "svg").startswith(b"<?xml")

    preview = await client.post("/api/v1/auth/link/preview", json={"token": token}, headers={"Accept-Language": "zh-CN"})
    assert await preview.json() == {"org_name": "Riverside Primary", "purpose": "3B 班", "asks_name": True, "questions": []}
    nameless = await client.post("/api/v1/auth/link/sign-in", json={"token": token})
    assert nameless.status == 400 and (await nameless.json())["error"]["field"] == "name"

    first = await client.post("/api/v1/auth/link/sign-in", json={"token": token, "name": "Lin's mother", "device_name": "Phone"})
    assert first.status == 200, await first.text()
    body = await first.json()
    assert body["landing_url"] == "/classes/7" and body["user"]["name"] == "Lin's mother" and body["user"]["email"] is None
    assert class_links == [(CLASS_3B, body["user"]["id"])]
    me = await client.get("/api/v1/orgs", headers={"Authorization": f"Bearer {body['token']}"})
    assert [o["name"] for o in await me.json()] == ["Riverside Primary"]

    assert (await client.post("/api/v1/auth/link/sign-in", json={"token": token, "name": "Wu's father"})).status == 200
    used_up = await client.post("/api/v1/auth/link/sign-in", json={"token": token, "name": "A third"})
    assert used_up.status == 410 and len(class_links) == 2


async def test_an_expired_or_withdrawn_link_says_so_and_signs_nobody_in(client, db, app, class_links):
    teacher = await make_user(db)
    org = await make_org(db, teacher)
    expired, _ = await issue(db, app[SETTINGS], org, teacher)
    withdrawn, link = await issue(db, app[SETTINGS], org, teacher)
    async with db.transaction(org_id=org.id) as tx:
        await tx.session.execute(update(SignInLink).where(SignInLink.id != link.id).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        owner = OrgContext(org_id=org.id, principal=Principal(teacher.id, 1, teacher.name), membership_id=None, role="owner")
        await do_revoke_sign_in_link(tx, owner, link.id)
    for token, says in ((expired, "expired"), (withdrawn, "withdrawn")):
        resp = await client.post("/api/v1/auth/link/sign-in", json={"token": token, "name": "Someone"})
        assert resp.status == 410 and says in (await resp.json())["error"]["message"]
    assert class_links == []


async def test_only_its_issuer_or_an_admin_withdraws_a_link_and_its_life_is_bounded(db, app, class_links):
    teacher, colleague = await make_user(db), await make_user(db)
    org = await make_org(db, teacher)
    _, link = await issue(db, app[SETTINGS], org, teacher)
    async with db.transaction(org_id=org.id) as tx:
        with pytest.raises(Forbidden):
            await do_revoke_sign_in_link(tx, OrgContext(org_id=org.id, principal=Principal(colleague.id, 2, "C"), membership_id=None, role="member"), link.id)
    with pytest.raises(InvalidInput):
        await issue(db, app[SETTINGS], org, teacher, expires_in_s=app[SETTINGS].sign_in_link_max_days * 86400 + 1)


async def test_a_token_that_opens_nothing_counts_as_a_failed_sign_in(client, db, app, class_links):
    app[SETTINGS].login_max_failures = 1  # the address may fail 4 times
    answers = [(await client.post("/api/v1/auth/link/preview", json={"token": f"guess-{n}"})).status for n in range(5)]
    assert answers == [404, 404, 404, 404, 429]


async def test_a_link_to_an_account_with_two_factor_sign_in_still_needs_its_code(client, db, app, class_links):
    teacher = await make_user(db)
    org = await make_org(db, teacher)
    secret = pyotp.random_base32()
    async with db.transaction() as tx:
        account = await tx.session.get(User, teacher.id)
        account.totp_secret, account.totp_enabled = secret, True
    token, _ = await issue(db, app[SETTINGS], org, teacher, kind="test.person", subject_id=teacher.id, max_uses=1)
    asked = await client.post("/api/v1/auth/link/sign-in", json={"token": token})
    assert asked.status == 401 and (await asked.json())["error"]["code"] == "totp_required"
    done = await client.post("/api/v1/auth/link/sign-in", json={"token": token, "totp_code": pyotp.TOTP(secret).now()})
    assert done.status == 200, await done.text()  # the single use was not spent by the first try
    assert (await done.json())["user"]["id"] == teacher.id


async def test_a_kinds_questions_are_shown_and_their_answers_checked_before_anything_is_spent(client, db, app, class_links):
    teacher = await make_user(db)
    org = await make_org(db, teacher)
    token, link = await issue(db, app[SETTINGS], org, teacher, kind="test.seated", max_uses=1)
    preview = await (await client.post("/api/v1/auth/link/preview", json={"token": token})).json()
    assert preview["questions"] == [{"key": "seat", "label": "Your seat", "hint": "A1", "max_length": 4, "required": True}]
    for answers, field in (({}, "answers.seat"), ({"seat": "  "}, "answers.seat"), ({"seat": "A1234"}, "answers.seat"),
                           ({"seat": "A1", "shoe": "42"}, "answers.shoe")):
        resp = await client.post("/api/v1/auth/link/sign-in", json={"token": token, "name": "Lin", "answers": answers})
        assert resp.status == 400 and (await resp.json())["error"]["field"] == field, answers
    assert class_links == []
    done = await client.post("/api/v1/auth/link/sign-in", json={"token": token, "name": "Lin", "answers": {"seat": " B2 "}})
    assert done.status == 200, await done.text()
    async with db.transaction(org_id=org.id) as tx:
        assert (await tx.session.get(SignInLink, link.id)).uses == 1
        member = await tx.session.scalar(select(Membership).where(Membership.user_id == class_links[0][1]))
        assert member.title == "B2"  # trimmed


async def test_a_new_link_for_someone_withdraws_their_old_ones_that_could_still_be_used(client, db, app, class_links):
    teacher = await make_user(db)
    org = await make_org(db, teacher)
    settings = app[SETTINGS]
    old, old_link = await issue(db, settings, org, teacher, max_uses=1)
    spent, spent_link = await issue(db, settings, org, teacher, max_uses=1)
    assert (await client.post("/api/v1/auth/link/sign-in", json={"token": spent, "name": "Lin"})).status == 200
    _, other_subject = await issue(db, settings, org, teacher, subject_id=CLASS_3B + 1, max_uses=1)
    _, other_kind = await issue(db, settings, org, teacher, kind="test.person", subject_id=CLASS_3B)
    principal = Principal(teacher.id, 1, teacher.name)
    async with db.transaction(org_id=org.id) as tx:
        assert await do_withdraw_sign_in_links(tx, principal, kind="test.class", subject_ids=[CLASS_3B]) == 1
        assert await do_withdraw_sign_in_links(tx, principal, kind="test.class", subject_ids=[]) == 0
    async with db.transaction(org_id=org.id) as tx:
        withdrawn = {link.id for link in await tx.session.scalars(select(SignInLink).where(SignInLink.revoked_at.is_not(None)))}
    assert withdrawn == {old_link.id}  # not the used one, another subject's or another kind's
    resp = await client.post("/api/v1/auth/link/preview", json={"token": old})
    assert resp.status == 410


async def test_its_issuer_or_an_admin_withdraws_a_link_through_the_api(client, db, app, class_links):
    teacher, colleague, stranger = await make_user(db, "Teacher"), await make_user(db, "Colleague"), await make_user(db, "Stranger")
    org = await make_org(db, teacher)
    async with db.transaction(org_id=org.id) as tx:
        tx.session.add(Membership(org_id=org.id, user_id=colleague.id, role="member", display_name="Colleague"))
    await make_org(db, stranger, "Elsewhere")
    token, link = await issue(db, app[SETTINGS], org, teacher, role="member")
    url = f"/api/v1/orgs/{org.id}/sign-in-links/{link.id}"
    assert (await client.delete(url, headers=await sign_in(client, stranger.email))).status == 404
    assert (await client.delete(url, headers=await sign_in(client, colleague.email))).status == 403
    assert (await client.delete(url, headers=await sign_in(client, teacher.email))).status == 204
    assert (await client.post("/api/v1/auth/link/preview", json={"token": token})).status == 410
    assert (await client.delete(f"/api/v1/orgs/{org.id}/sign-in-links/{link.id + 100}", headers=await sign_in(client, teacher.email))).status == 404
