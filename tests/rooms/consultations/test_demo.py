"""The demo's clinic: one, served by the demo nurse, whose doctors' page lists it; seeding again adds none."""
from __future__ import annotations

from server.demo import DEMO_LOGINS, do_seed_demo
from tests.factories import sign_in


async def test_the_demo_has_one_clinic_that_the_nurse_serves(client, db):
    demo = await do_seed_demo(db)
    await do_seed_demo(db)
    nurse = next(login for login in DEMO_LOGINS if login.email.startswith("nurse"))
    headers = await sign_in(client, nurse.email, nurse.password)
    clinics = await (await client.get(f"/api/v1/orgs/{demo.org_id}/clinics", headers=headers)).json()
    assert [c["name"] for c in clinics] == ["Online fever clinic"] and clinics[0]["link_url"] is None  # the link is for admins
