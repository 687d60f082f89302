"""The schools isolation matrix: every schools route, called by every kind of person with ids outside their scope, is 404.

The routes are walked from ``app.router`` (everything under ``/api/v1/orgs/{org_id}/schools``),
so a new route is in the matrix at once; one with a path parameter the matrix
cannot fill fails it. The people, in the sample bureau (tests/schools/conftest.py):

* bureau staff (Zhou Min): the whole hierarchy; outside it are another organisation's ids;
* district staff of North District (Wu Jie): outside are South District, the bureau;
* the school admin of North No. 1 (Li Hua): outside are the district above, the other school;
* the head teacher of North No. 1 Grade 1 Class 1 (Chen Jing): outside are the school, Grade 6's class, the other school;
* a guardian of a child in that class (Liu Qiang): an outsider of the organisation, who reaches only
  ``GET .../schools/me``: every other schools route is 404 to them, even with their own child's ids;
* a member of another organisation: 404 everywhere.

Ids in a body (a child's ``class_id``) outside the caller's reach are bad input naming the field (400),
as the platform answers ids in bodies (``department_id``); tests/schools/test_api.py shows them.
The matrix is not vacuous: each staff member gets 200 from every GET with ids inside their scope.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from schools.models import Guardian, SchoolJob, UnitRole
from server.orgs.models import Membership
from tests.schools.conftest import Bureau, new_bureau
from tests.server.orgs.conftest import join, ok
from tests.server.orgs.test_isolation import PLAUSIBLE_HEADERS, plausible_body

pytestmark = pytest.mark.timeout(600)
PARAM = re.compile(r"\{(\w+)\}")
PREFIX = "/api/v1/orgs/{org_id}/schools"


def schools_routes(app):
    return [r for r in app.router.routes() if r.resource is not None and r.resource.canonical.startswith(PREFIX) and r.method != "HEAD"]


async def _ids(bureau: Bureau) -> dict:
    """The things the matrix names, by a short key."""
    async with bureau.db.transaction(org_id=bureau.org.id) as tx:
        guardians = dict((await tx.session.execute(select(Guardian.phone, Guardian.id))).all())
        roles = {}
        for role_id, unit_id, role, external_id in await tx.session.execute(
            select(UnitRole.id, UnitRole.unit_id, UnitRole.role, Membership.external_id).join(Membership, Membership.user_id == UnitRole.user_id)
        ):
            roles[external_id, unit_id] = role_id
        job = SchoolJob(org_id=bureau.org.id, status="done", files=["probe.csv"], report={})
        rollover = SchoolJob(org_id=bureau.org.id, kind="rollover", unit_id=bureau.units["S0201"], status="done", report={"label": "2025"})
        tx.session.add_all([job, rollover])
        await tx.session.flush()
    return {"guardians": guardians, "roles": roles, "job": job.id, "rollover": rollover.id}


@pytest.fixture
async def world(client, db):
    a = await new_bureau(db)
    # a child of South District whose guardian has no child in North District
    body = {"external_id": "P0300", "name": "South Child", "class_id": a.units["S0201-G1C1"],
            "guardians": [{"name": "South Parent", "phone": "13900000300"}]}
    await ok(await client.post(a.url("/students"), json=body, headers=a.owner), 201)
    await a.refresh()
    b = await new_bureau(db)
    ids_a, ids_b = await _ids(a), await _ids(b)
    u, s, g = a.units, a.students, ids_a["guardians"]

    def r(external_id: str, unit: str) -> int:
        return ids_a["roles"][external_id, u[unit]]

    jobs_a = {"job_id": ids_a["job"], "rollover_id": ids_a["rollover"]}  # an import, and a rollover of South No. 3
    south = {"unit_id": u["S0201-G1C1"], "student_id": s["P0300"], "guardian_id": g["+8613900000300"], "role_id": r("T0006", "S0201-G1C1"),
             **jobs_a}
    liu_class = {"unit_id": u["S0101-G1C1"], "student_id": s["P0003"], "guardian_id": g["+8613900000003"], "role_id": r("T0004", "S0101-G1C1"),
                 **jobs_a}
    # B's staff have A's email addresses, so B's import invited them (they have no roles there until they accept): B gets a teacher of its own
    otto = await join(db, b.org.id, "member", "Otto Other")
    b_role = await ok(await client.post(b.url(f"/units/{b.units['S0101-G1C1']}/roles"), json={"user_id": otto.id, "role": "head_teacher"},
                                        headers=b.owner), 201)
    b_world = {"unit_id": b.units["S0101-G1C1"], "student_id": b.students["P0003"], "guardian_id": ids_b["guardians"]["+8613900000003"],
               "role_id": b_role["id"], "job_id": ids_b["job"], "rollover_id": ids_b["rollover"]}
    people = {
        "bureau staff": (await a.staff("T0001"), [b_world], south),
        "district staff of D01": (await a.staff("T0002"), [south, {"unit_id": u["D02"]}, {"unit_id": u["BUREAU"], "role_id": r("T0001", "BUREAU")}], liu_class),
        "school admin of S0101": (await a.staff("T0003"), [south, {"unit_id": u["D01"], "role_id": r("T0002", "D01")}, {"unit_id": u["BUREAU"]}], liu_class),
        "head teacher of C1": (await a.staff("T0004"), [
            {"unit_id": u["S0101-G6C1"], "student_id": s["P0005"], "guardian_id": g["+8613900000005"], "role_id": r("T0005", "S0101-G6C1"),
             **jobs_a},
            {"unit_id": u["S0101"], "role_id": r("T0003", "S0101")}, south,
        ], liu_class),
        "guardian of a child in C1": (await a.guardian("+8613900000003"), [liu_class, south], None),
        "member of another org": (otto.headers, [liu_class, south], None),
    }
    return a, people


async def call(client, route, org_id: int, ids: dict, headers: dict, query: dict | None = None) -> int:
    url = route.resource.url_for(org_id=str(org_id), **{p: str(ids[p]) for p in PARAM.findall(route.resource.canonical) if p != "org_id"})
    body = plausible_body(route)
    kwargs = {"headers": PLAUSIBLE_HEADERS | headers, "params": query or {}}
    if body is not None:
        kwargs["json"] = body
    async with client.request(route.method, str(url), **kwargs) as resp:
        await resp.read()
        return resp.status


async def test_every_schools_route_answers_404_for_ids_outside_the_callers_scope(app, client, world):
    bureau, people = world
    routes = schools_routes(app)
    assert len(routes) >= 20
    unfillable = {p for r in routes for p in PARAM.findall(r.resource.canonical)} - {"org_id", "unit_id", "student_id", "guardian_id", "role_id", "job_id",
                                                                                    "rollover_id"}
    assert not unfillable, f"add these path parameters to the schools scope matrix: {unfillable}"
    leaks, calls = [], 0
    for who, (headers, outside, _) in people.items():
        outsider = who in ("guardian of a child in C1", "member of another org")
        for route in routes:
            params = set(PARAM.findall(route.resource.canonical)) - {"org_id"}
            canonical = route.resource.canonical
            if not params:
                if not outsider or canonical.endswith("/schools/me") and who.startswith("guardian"):
                    continue  # staff on routes without ids: the declarations' business (tests/server/test_role_matrix.py)
                variants = [{}]
            else:
                variants = [ids for ids in outside if params <= ids.keys()]
                assert variants, f"{who}: no outside ids for {route.method} {canonical}"
            for ids in variants:
                status = await call(client, route, bureau.org.id, ids, headers)
                calls += 1
                if status != 404:
                    leaks.append(f"{who}: {route.method} {canonical} with {ids}: {status}")
        if not outsider:  # the list of units under a unit outside the scope
            status = await call(client, next(r for r in routes if r.method == "GET" and r.resource.canonical == PREFIX + "/units"),
                                bureau.org.id, {}, headers, {"parent_id": outside[0]["unit_id"]})
            calls += 1
            if status != 404:
                leaks.append(f"{who}: GET {PREFIX}/units?parent_id={outside[0]['unit_id']}: {status}")
    assert not leaks, "these answered something else than 404 for ids outside the caller's scope:\n" + "\n".join(leaks)
    assert calls > 100


async def test_inside_their_scope_every_staff_member_reads_every_route(app, client, world):
    """Guards the matrix against false 404s: the same routes answer 200 with ids inside the caller's scope."""
    bureau, people = world
    wrong = []
    for who, (headers, _, inside) in people.items():
        if inside is None:
            continue
        for route in schools_routes(app):
            params = set(PARAM.findall(route.resource.canonical)) - {"org_id"}
            if route.method != "GET" or not params or (params & {"job_id", "rollover_id"} and who != "bureau staff"):
                continue
            status = await call(client, route, bureau.org.id, inside, headers)
            if status != 200:
                wrong.append(f"{who}: GET {route.resource.canonical} with {inside}: {status}")
    assert not wrong, "\n".join(wrong)
    guardian = people["guardian of a child in C1"][0]
    me = await ok(await client.get(bureau.url("/me"), headers=guardian))
    assert [c["name"] for c in me["children"]] == ["Liu Yang"]
    assert (await client.get(bureau.url("/me"), headers=people["member of another org"][0])).status == 404
