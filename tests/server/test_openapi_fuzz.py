"""Fuzzing from /api/openapi.json: every operation, as every role, answers without a 5xx and as documented.

schemathesis generates requests from the document the app serves (valid ones,
and ones that break the declared schema), for each person of
tests/server/roles.py with their own bearer token. Path parameters that name
things get the ids of the world's real things (a random id only ever finds
nothing), so the generated bodies and queries reach the code behind the
lookup. Every response must:

* not be a server error (5xx);
* have a status code the document declares for the operation;
* match the schema the document declares for that status.

Every failure of every operation is collected and reported at once. No
operation is left out; a few are ordered last for each role (``LAST``), and
two take bodies the document does not describe (tus PATCH takes raw bytes, the
member import a multipart file), so for them the fuzzer reaches only the checks
before the body; tests/server/groups/test_uploads.py and
tests/server/orgs/test_import.py feed them real and hostile bodies. Routes
without an ``@endpoint`` (pages, the WebSocket, health) are not in the
document: the role matrix lists them (tests/server/test_role_matrix.py).
The requests are made from a thread (schemathesis is synchronous) against the
app served in this test's event loop.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from server.openapi import build_openapi
from tests import services
from tests.server.roles import ROLES, World, build_world

pytestmark = pytest.mark.timeout(900)

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
EXAMPLES = {schemathesis.GenerationMode.POSITIVE: 3, schemathesis.GenerationMode.NEGATIVE: 2}  # per operation per role

# Operations that take away what the rest of the run needs, run last for each role:
# signing out ends the very token the fuzzer sends; leaving or removing people from the
# group takes the caller (or others) out of the group every other operation is called on.
LAST = ("POST /api/v1/orgs/{org_id}/groups/{group_id}/leave", "POST /api/v1/orgs/{org_id}/groups/{group_id}/members/remove", "POST /api/v1/auth/logout")


@dataclass
class Finding:
    role: str
    operation: str
    message: str

    def __str__(self) -> str:
        return f"{self.role:>9}  {self.operation}: {self.message}"


def ordered(schema) -> list:
    operations = [result.ok() for result in schema.get_all_operations()]
    return sorted(operations, key=lambda op: (op.label in LAST, LAST.index(op.label) if op.label in LAST else 0))


def fuzz(schema, world: World, base_url: str, roles: tuple[str, ...]) -> list[Finding]:
    findings: list[Finding] = []
    with requests.Session() as session:
        for role in roles:
            for operation in ordered(schema):
                for mode, count in EXAMPLES.items():
                    findings += examine(operation, mode, count, world, role, base_url, session)
    return findings


def examine(operation, mode, count: int, world: World, role: str, base_url: str, session: requests.Session) -> list[Finding]:
    """``count`` generated requests to one operation as one person; a finding per distinct failure."""
    headers = world.headers(role)
    findings: dict[str, Finding] = {}

    # With CI=true every run replays the same draw, so a red CI is a change of the code, not a new draw;
    # elsewhere each run draws new requests, and what they find becomes a fix and a focused test.
    @settings(max_examples=count, deadline=None, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck),
              derandomize=services.IN_CI)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        for name in case.path_parameters or {}:
            if world.knows(name):
                case.path_parameters[name] = world.fill(name, role)
        try:
            case.call_and_validate(base_url=base_url, session=session, headers=headers, checks=CHECKS, timeout=30)
        except (Failure, FailureGroup) as e:
            message = " | ".join(line.strip() for line in str(e).splitlines() if line.strip() and "curl" not in line)[:700]
            findings.setdefault(message, Finding(role, operation.label, f"{message}\n    reproduce: {case.as_curl_command(headers)}"))

    run()
    return list(findings.values())


@pytest.fixture
async def world(client, db) -> World:
    return await build_world(client, db)


async def test_no_operation_answers_a_server_error_or_breaks_its_documented_schema_for_any_role(app, client, world):
    schema = schemathesis.openapi.from_dict(build_openapi(app))
    operations = {op.label for op in ordered(schema)}
    assert len(operations) >= 80, "the OpenAPI document lost operations"
    base_url = str(client.make_url("")).rstrip("/")
    findings = await asyncio.to_thread(fuzz, schema, world, base_url, ROLES)
    assert not findings, f"{len(findings)} findings:\n" + "\n".join(map(str, findings))
