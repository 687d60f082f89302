"""The forms isolation matrix for every school role: a round's parts, children and submissions outside the caller's scope are 404.

The issue's rule: "A guardian submitting for a child not theirs, a teacher opening another school's dashboard: 404."
In the health report of tests/schools/forms_world.py, submitted for Liu Yang (Grade 1 Class 1 of North No. 1), Zhang Lin
(its Class 2), Huang Bo (its Grade 6 Class 1) and Wang Xiaohong (South No. 3), each person calls the rounds' routes with
ids outside their scope (another school's or district's dashboard department, another family's child as respondent,
another school's submission): 404. With ids inside it, the same routes answer 2xx, so the 404s are not vacuous.

Reading individual answers is narrower than following a round (schools/DESIGN.md): a school's, a district's or the
bureau's administrators and subject teachers see counts and who is missing, never a family's answers; so for them
even their own school's submissions are 404, like those outside. A guardian reaches only the respondents' routes of
a round their child is in, and every other forms route answers them 404 (walked from ``app.router``); a member of
another organisation gets 404 from all of them.
"""
from __future__ import annotations

import uuid

import pytest

from tests.schools.conftest import new_bureau
from tests.schools.forms_world import WELL, closes_in, health_report, send_to_children, submit
from tests.server.orgs.conftest import join, ok
from tests.server.orgs.test_isolation import PLAUSIBLE_HEADERS, plausible_body

pytestmark = pytest.mark.timeout(600)
FORMS_ROUTES = ("/forms", "/rounds", "/form-photos", "/calendar", "/form-policy", "/home")
ORG = "/api/v1/orgs/{org_id}"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"forms_engine": False})  # "remind the rest" is stored, not sent: the matrix asks who may


@pytest.fixture
async def world(client, db):
    report = await health_report(client, db)
    sub = {key: (await submit(client, report, who, child))["id"] for key, who, child in (
        ("c1", "Liu Qiang", "P0003"), ("c2", "Zhang Li", "P0004"), ("g6", "Huang Mei", "P0005"), ("south", "Wang Fang", "P0002"))}
    south_round = (await ok(await send_to_children(client, report, report.bureau.owner, {"department_ids": [report.unit("S0201")]}), 201))["id"]
    schedule = {"audience": {"everyone": True}, "respondent_kind": "student", "days": "every_day", "open_time": "07:30", "open_minutes": 240,
                "starts_on": "2030-01-01"}
    schedule_id = (await ok(await client.post(report.url(f"/forms/{report.form_id}/schedules"), json=schedule, headers=report.bureau.owner), 201))["id"]
    other = await new_bureau(db)
    report.people["member of another org"] = (await join(db, other.org.id, "member", "Otto Other")).headers
    ids = {"form_id": report.form_id, "round_id": report.round_id, "submission_id": sub["c1"], "schedule_id": schedule_id, "version_number": 1}
    return report, sub, south_round, ids


def cases(report, sub: dict, south_round: int) -> dict[str, tuple[list, list]]:
    """Per person: (calls that must answer 404, calls that must answer 2xx); a call is (method, tail under the organisation, body)."""
    u = report.unit

    def dash(unit: str):
        return "GET", f"/rounds/{report.round_id}/dashboard?department_id={u(unit)}", None

    def missing(unit: str):
        return "GET", f"/rounds/{report.round_id}/respondents?department_id={u(unit)}", None

    def remind(unit: str):
        return "POST", f"/rounds/{report.round_id}/reminders", {"department_id": u(unit)}

    def read(key: str):
        return "GET", f"/rounds/{report.round_id}/submissions/{sub[key]}", None

    def edit(key: str):
        return "PUT", f"/rounds/{report.round_id}/submissions/{sub[key]}", {"revision": 1, "answers": WELL}

    def answer(child: str):
        return "POST", f"/rounds/{report.round_id}/submissions", {"client_id": uuid.uuid4().hex, "respondent_id": report.child(child), "answers": WELL}

    the_round = ("GET", f"/rounds/{report.round_id}", None)
    export = ("GET", f"/forms/{report.form_id}/export?round_id={report.round_id}", None)
    return {
        "bureau staff": ([read("c1"), read("south"), answer("P0003"), edit("c1"), export],
                         [dash("BUREAU"), dash("S0201"), missing("S0101-G1C1"), remind("D02"), the_round]),
        "district staff": ([dash("D02"), dash("S0201"), dash("BUREAU"), missing("S0201-G1C1"), missing("BUREAU"), remind("S0201"), read("south"),
                            read("c1"), answer("P0002"), answer("P0900"), edit("south")],
                           [dash("D01"), dash("S0101"), missing("S0101-G1C1"), remind("S0101-G6C1"), the_round]),
        "school admin": ([dash("S0201"), dash("D01"), dash("BUREAU"), missing("S0201-G1C1"), remind("S0201-G1C1"), read("south"), read("c1"),
                          answer("P0002"), answer("P0003"), edit("south"), edit("c1"), export],
                         [dash("S0101"), dash("S0101-G6C1"), missing("S0101-G1C2"), remind("S0101-G1"), the_round]),
        "head teacher": ([dash("S0101"), dash("S0101-G1"), dash("S0101-G6C1"), dash("S0201-G1C1"), missing("S0101-G6C1"), missing("S0201-G1C1"),
                          remind("S0101-G6C1"), read("g6"), read("south"), read("c2"), answer("P0003"), answer("P0002"), edit("c1")],
                         [dash("S0101-G1C1"), dash("S0101-G1C2"), missing("S0101-G1C1"), remind("S0101-G1C1"), read("c1"), the_round, export]),
        "subject teacher": ([dash("S0101-G1C1"), dash("S0101"), missing("S0101-G1C1"), remind("S0201-G1C1"), read("g6"), read("c1"),
                             answer("P0005"), edit("g6"), export],
                            [dash("S0101-G6C1"), missing("S0101-G6C1"), remind("S0101-G6C1"), the_round]),
        "health officer": ([dash("S0201"), dash("D01"), missing("S0201-G1C1"), read("south"), answer("P0003"), edit("c1")],
                           [dash("S0101"), missing("S0101-G1C1"), read("c1"), read("g6"), read("c2"), the_round, export]),
        "Liu Qiang": ([answer("P0001"), answer("P0002"), answer("P0900"), read("south"), read("g6"), edit("south"), edit("g6"), dash("S0101-G1C1"),
                       missing("S0101-G1C1"), remind("S0101-G1C1"), export, ("GET", f"/rounds/{south_round}", None),
                       ("POST", f"/rounds/{south_round}/submissions", {"client_id": uuid.uuid4().hex, "respondent_id": report.child("P0003"), "answers": WELL})],
                      [the_round, read("c1"), edit("c1"), ("GET", "/home", None)]),
        "member of another org": ([the_round, read("c1"), answer("P0003"), edit("c1"), dash("S0101"), missing("S0101"), remind("S0101"), export,
                                   ("GET", "/home", None)], []),
    }


async def _status(client, report, headers: dict, method: str, tail: str, body) -> int:
    kwargs = {"headers": headers} | ({"json": body} if body is not None else {})
    async with client.request(method, report.url(tail), **kwargs) as resp:
        await resp.read()
        return resp.status


async def test_every_school_role_gets_404_for_rounds_children_and_submissions_outside_its_scope_and_2xx_inside(client, world):
    report, sub, south_round, _ = world
    wrong = []
    for who, (outside, inside) in cases(report, sub, south_round).items():
        for method, tail, body in outside:
            if (status := await _status(client, report, report.people[who], method, tail, body)) != 404:
                wrong.append(f"{who}: {method} {tail} {body or ''}: {status}, expected 404")
        for method, tail, body in inside:
            if not 200 <= (status := await _status(client, report, report.people[who], method, tail, body)) < 300:
                wrong.append(f"{who}: {method} {tail} {body or ''}: {status}, expected 2xx")
    assert not wrong, "\n".join(wrong)


async def test_a_guardian_and_a_member_of_another_organisation_reach_no_other_forms_route(app, client, world):
    """Walked from the router: to a guardian every forms route but the respondents' ones (``external=True``, in the matrix above)
    is 404, as every one is to a member of another organisation."""
    report, _, _, ids = world
    routes = [r for r in app.router.routes() if r.resource is not None and r.method != "HEAD"
              and any(r.resource.canonical.startswith(ORG + prefix) for prefix in FORMS_ROUTES)]
    assert len(routes) >= 25
    open_to_outsiders, leaks = [], []
    for route in routes:
        spec = route.handler.__muster_endpoint__
        if spec.external:
            open_to_outsiders.append(f"{route.method} {route.resource.canonical.removeprefix(ORG)}")
        url = route.resource.url_for(org_id=str(report.bureau.org.id), **{k: str(v) for k, v in ids.items() if "{" + k + "}" in route.resource.canonical})
        for who in ("Liu Qiang", "member of another org"):
            if spec.external and who == "Liu Qiang":
                continue
            body = plausible_body(route)
            async with client.request(route.method, str(url), headers=PLAUSIBLE_HEADERS | report.people[who],
                                      **({"json": body} if body is not None else {})) as resp:
                if resp.status != 404:
                    leaks.append(f"{who}: {route.method} {route.resource.canonical}: {resp.status}")
    assert not leaks, "\n".join(leaks)
    assert sorted(open_to_outsiders) == [
        "GET /home", "GET /rounds/{round_id}", "GET /rounds/{round_id}/submissions/{submission_id}", "POST /form-photos",
        "POST /rounds/{round_id}/submissions", "PUT /rounds/{round_id}/submissions/{submission_id}",
    ]


async def test_a_guardian_learns_nothing_of_a_round_not_yet_open(client, world):
    """Before a round opens nobody is in it: a guardian gets 404 where a member is told when it opens (409)."""
    report, *_ = world
    later = (await ok(await send_to_children(client, report, report.bureau.owner, {"everyone": True}, opens_at=closes_in(60),
                                             closes_at=closes_in(120)), 201))["id"]
    body = {"client_id": uuid.uuid4().hex, "respondent_id": report.child("P0003"), "answers": WELL}
    assert (await client.post(report.url(f"/rounds/{later}/submissions"), json=body, headers=report.people["Liu Qiang"])).status == 404
    assert (await client.post(report.url(f"/rounds/{later}/submissions"), json=body, headers=report.people["head teacher"])).status == 409
