"""Sign-in links: a capability issues them (here a test kind standing for a class invitation), anyone with one signs in
as its capability says, within its uses and expiry; a token that opens nothing counts as a failed sign-in."""
from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from sqlalchemy import update

from server.accounts import sign_in_links
from server.accounts.auth import Principal
from server.accounts.models import SignInLink, User
from server.accounts.sign_in_links import SignInGrant, SignInLinkKind, do_issue_sign_in_link, do_revoke_sign_in_link, sign_in_link_url
from server.accounts.users import do_create_user
from server.appkeys import SETTINGS
from server.db import utcnow
from server.errors import Forbidden, InvalidInput
from server.orgs.access import OrgContext
from server.orgs.models import Membership
from server.qr import qr_image
from tests.factories import make_org, make_user

CLASS_3B = 7


@pytest.fixture
def class_links(monkeypatch) -> list[tuple[int, int]]:
    """The kind "test.class": joining makes a member of the organisation (a new account, with the name typed)
    and lands on the class's page; the kind "test.person" signs in one existing account, its subject."""
    joined: list[tuple[int, int]] = []

    async def describe(tx, link, locale):
        return ("3B 班" if locale == "zh-CN" else "Class 3B") if link.subject_id == CLASS_3B else "?"

    async def join_class(tx, link, name):
        user = await do_create_user(tx, name=name, email=None)
        tx.session.add(Membership(org_id=tx.org_id, user_id=user.id, role="member", display_name=name))
        joined.append((link.subject_id, user.id))
        return SignInGrant(user, landing_url=f"/classes/{link.subject_id}")

    async def that_person(tx, link, name):
        return SignInGrant(await tx.session.get(User, link.subject_id))

    monkeypatch.setattr(sign_in_links, "_kinds", {})
    sign_in_links.register_sign_in_link("test.class", SignInLinkKind(describe, join_class))
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
    assert await preview.json() == {"org_name": "Riverside Primary", "purpose": "3B 班", "asks_name": True}
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
