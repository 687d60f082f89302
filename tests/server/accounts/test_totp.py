"""Two-factor sign-in with TOTP: enrolment, login with a code, replay refusal, turning it off.

Adding or removing the second factor needs the password in the same request (and
removing it a current code too), so a stolen session cannot take the account over.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pyotp
import pytest

from server.accounts.totp import matching_step
from tests.factories import PASSWORD, person
from tests.server.accounts.conftest import MAX_FAILURES, totp_code, wait_for_fresh_step

SECRET = pyotp.random_base32()
T = 1_800_000_015.0  # a fixed instant, mid-step
STEP = int(T // 30)


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_code_of_the_current_step_or_one_either_side_matches(offset):
    code = pyotp.TOTP(SECRET).at(T + 30 * offset)
    assert matching_step(SECRET, code, now=T) == STEP + offset


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_code_two_or_more_steps_away_does_not_match(offset):
    assert matching_step(SECRET, pyotp.TOTP(SECRET).at(T + 30 * offset), now=T) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef"])
def test_malformed_code_does_not_match(code):
    assert matching_step(SECRET, code, now=T) is None


def test_spaces_inside_a_code_are_ignored():
    code = pyotp.TOTP(SECRET).at(T)
    assert matching_step(SECRET, f"{code[:3]} {code[3:]}", now=T) == STEP


async def login(client, email: str, password: str = PASSWORD, code: str | None = None):
    body = {"email": email, "password": password} | ({"totp_code": code} if code is not None else {})
    return await client.post("/api/v1/auth/login", json=body)


async def enrol(client, headers) -> str:
    """Begin and confirm TOTP; the confirmation spends the code of the previous step."""
    wait_for_fresh_step()
    begin = await client.post("/api/v1/me/totp", json={"password": PASSWORD}, headers=headers)
    assert begin.status == 201, await begin.text()
    secret = (await begin.json())["secret"]
    confirm = await client.post("/api/v1/me/totp/confirm", json={"code": totp_code(secret, -1)}, headers=headers)
    assert confirm.status == 200, await confirm.text()
    return secret


async def test_enrolment_returns_secret_uri_and_qr_but_is_not_on_until_confirmed(client, db, backend):
    alice = await person(client, db)

    resp = await client.post("/api/v1/me/totp", json={"password": PASSWORD}, headers=alice.headers)

    assert resp.status == 201
    body = await resp.json()
    uri = urlparse(body["otpauth_uri"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert parse_qs(uri.query)["secret"] == [body["secret"]] and parse_qs(uri.query)["issuer"] == ["Muster"]
    assert body["qr_svg"].startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in body["qr_svg"]
    assert (await (await client.get("/api/v1/me", headers=alice.headers)).json())["totp_enabled"] is False
    assert (await login(client, alice.email)).status == 200


async def test_confirming_with_a_wrong_code_leaves_totp_off(client, db, backend):
    alice = await person(client, db)
    secret = (await (await client.post("/api/v1/me/totp", json={"password": PASSWORD}, headers=alice.headers)).json())["secret"]
    wrong = str((int(totp_code(secret)) + 1) % 1_000_000).zfill(6)

    resp = await client.post("/api/v1/me/totp/confirm", json={"code": wrong}, headers=alice.headers)

    assert resp.status == 400 and (await resp.json())["error"]["code"] == "bad_totp"
    assert (await (await client.get("/api/v1/me", headers=alice.headers)).json())["totp_enabled"] is False


async def test_login_asks_for_the_code_then_accepts_a_valid_one(client, db, backend):
    alice = await person(client, db)
    secret = await enrol(client, alice.headers)

    without = await login(client, alice.email)
    with_code = await login(client, alice.email, code=totp_code(secret))

    assert without.status == 401 and (await without.json())["error"]["code"] == "totp_required"
    assert with_code.status == 200 and (await with_code.json())["user"]["totp_enabled"] is True


async def test_wrong_password_with_totp_on_says_bad_credentials_not_totp_required(client, db, backend):
    alice = await person(client, db)
    await enrol(client, alice.headers)
    resp = await login(client, alice.email, password="wrong password")
    assert (await resp.json())["error"]["code"] == "bad_credentials"


async def test_wrong_code_is_bad_totp_and_counts_toward_the_rate_limit(client, db, backend):
    alice = await person(client, db)
    secret = await enrol(client, alice.headers)
    for _ in range(MAX_FAILURES):
        resp = await login(client, alice.email, code="000000" if totp_code(secret) != "000000" else "111111")
        assert resp.status == 401 and (await resp.json())["error"]["code"] == "bad_totp"

    resp = await login(client, alice.email, code=totp_code(secret))

    assert resp.status == 429


async def test_the_same_code_is_refused_the_second_time(client, db, backend):
    alice = await person(client, db)
    secret = await enrol(client, alice.headers)
    code = totp_code(secret)

    first = await login(client, alice.email, code=code)
    second = await login(client, alice.email, code=code)

    assert first.status == 200
    assert second.status == 401 and (await second.json())["error"]["code"] == "bad_totp"


async def test_code_of_a_step_before_the_last_used_one_is_refused(client, db, backend):
    alice = await person(client, db)
    secret = await enrol(client, alice.headers)
    assert (await login(client, alice.email, code=totp_code(secret, +1))).status == 200

    resp = await login(client, alice.email, code=totp_code(secret, 0))

    assert resp.status == 401 and (await resp.json())["error"]["code"] == "bad_totp"


async def test_enrolling_again_while_on_is_a_conflict(client, db, backend):
    alice = await person(client, db)
    await enrol(client, alice.headers)
    assert (await client.post("/api/v1/me/totp", json={"password": PASSWORD}, headers=alice.headers)).status == 409


async def test_enrolment_needs_the_password_so_a_stolen_session_cannot_add_a_second_factor(client, db, backend):
    alice = await person(client, db)

    without = await client.post("/api/v1/me/totp", json={}, headers=alice.headers)
    wrong = await client.post("/api/v1/me/totp", json={"password": "not her password"}, headers=alice.headers)

    assert without.status == 400 and "secret" not in await without.text()
    assert wrong.status == 403 and (await wrong.json())["error"]["code"] == "wrong_password"
    assert (await login(client, alice.email)).status == 200  # no second factor to lock her out with


async def test_a_wrong_password_at_enrolment_counts_toward_the_rate_limit(client, db, backend):
    alice = await person(client, db)
    for _ in range(MAX_FAILURES):
        await client.post("/api/v1/me/totp", json={"password": "guess guess"}, headers=alice.headers)

    resp = await client.post("/api/v1/me/totp", json={"password": PASSWORD}, headers=alice.headers)

    assert resp.status == 429


async def test_disable_with_the_password_and_a_current_code_turns_totp_off(client, db, backend):
    alice = await person(client, db)
    secret = await enrol(client, alice.headers)

    resp = await client.delete("/api/v1/me/totp", json={"password": PASSWORD, "code": totp_code(secret)}, headers=alice.headers)

    assert resp.status == 204
    assert (await (await client.get("/api/v1/me", headers=alice.headers)).json())["totp_enabled"] is False
    assert (await login(client, alice.email)).status == 200


async def test_disable_needs_both_the_password_and_a_current_code(client, db, backend):
    alice = await person(client, db)
    secret = await enrol(client, alice.headers)

    password_only = await client.delete("/api/v1/me/totp", json={"password": PASSWORD}, headers=alice.headers)
    code_only = await client.delete("/api/v1/me/totp", json={"code": totp_code(secret)}, headers=alice.headers)

    assert password_only.status == 400 and (await password_only.json())["error"]["field"] == "code"
    assert code_only.status == 400
    assert (await (await client.get("/api/v1/me", headers=alice.headers)).json())["totp_enabled"] is True


async def test_disable_with_a_wrong_proof_is_refused_and_totp_stays_on(client, db, backend):
    alice = await person(client, db)
    secret = await enrol(client, alice.headers)
    used = totp_code(secret, -1)  # spent by the enrolment

    wrong_password = await client.delete("/api/v1/me/totp", json={"password": "nope nope", "code": totp_code(secret)}, headers=alice.headers)
    replayed = await client.delete("/api/v1/me/totp", json={"password": PASSWORD, "code": used}, headers=alice.headers)

    assert wrong_password.status == 403 and (await wrong_password.json())["error"]["code"] == "wrong_password"
    assert replayed.status == 403 and (await replayed.json())["error"]["code"] == "bad_totp"
    assert (await (await client.get("/api/v1/me", headers=alice.headers)).json())["totp_enabled"] is True


async def test_an_unconfirmed_enrolment_is_cancelled_with_the_password(client, db, backend):
    alice = await person(client, db)
    await client.post("/api/v1/me/totp", json={"password": PASSWORD}, headers=alice.headers)

    resp = await client.delete("/api/v1/me/totp", json={"password": PASSWORD}, headers=alice.headers)

    assert resp.status == 204


async def test_disable_when_totp_is_off_is_a_conflict(client, db, backend):
    alice = await person(client, db)
    resp = await client.delete("/api/v1/me/totp", json={"password": PASSWORD}, headers=alice.headers)
    assert resp.status == 409
