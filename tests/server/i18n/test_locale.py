"""Which language the server answers in: the person's setting, then Accept-Language, then the default."""
from __future__ import annotations

import pytest

from server.errors import InvalidInput
from server.i18n import from_accept_language, normalise, translate
from tests.factories import make_org, person


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr-FR, zh-Hans;q=0.5, en;q=0.4", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("en;q=0.2, zh;q=0.7", "zh-CN"),
        ("zh;q=0, en", "en"),
        ("fr, de", None),
        ("", None),
        ("en;q=abc, zh", "zh-CN"),
    ],
)
def test_accept_language_picks_the_preferred_supported_language(header, locale):
    assert from_accept_language(header) == locale


def test_every_chinese_tag_reads_simplified_chinese():
    assert [normalise(t) for t in ("zh", "zh_CN", "zh-Hans-CN", "ZH-hk", "en-GB", "de", None)] == ["zh-CN"] * 4 + ["en", None, None]


def test_an_error_message_is_a_msgid_filled_in_either_language():
    error = InvalidInput("the address '{slug}' is taken", field="slug", slug="riverside")
    assert error.message == "the address 'riverside' is taken"
    assert error.as_json()["error"] == {"code": "invalid", "message": "the address 'riverside' is taken", "field": "slug"}
    assert error.as_json("zh-CN")["error"]["message"] == translate("zh-CN", "the address '{slug}' is taken", slug="riverside")
    assert "riverside" in error.as_json("zh-CN")["error"]["message"]


async def test_errors_come_in_the_language_the_request_asks_for(client, db, backend):
    someone = await person(client, db)
    english = await client.get("/api/v1/orgs/999/departments", headers=someone.headers)
    chinese = await client.get("/api/v1/orgs/999/departments", headers={**someone.headers, "Accept-Language": "zh-CN,zh;q=0.9"})
    assert english.status == chinese.status == 404
    english_text, chinese_text = (await english.json())["error"]["message"], (await chinese.json())["error"]["message"]
    assert english_text.isascii() and not chinese_text.isascii()
    assert (await english.json())["error"]["code"] == (await chinese.json())["error"]["code"]


async def test_the_persons_own_setting_wins_over_the_browser(client, db, backend):
    someone = await person(client, db)
    resp = await client.patch("/api/v1/me", json={"locale": "zh-CN"}, headers=someone.headers)
    assert resp.status == 200 and (await resp.json())["locale"] == "zh-CN"
    answer = await client.get("/api/v1/orgs/999/departments", headers={**someone.headers, "Accept-Language": "en"})
    assert not (await answer.json())["error"]["message"].isascii()
    # The name stays as it was when only the language changes.
    me = await (await client.get("/api/v1/me", headers=someone.headers)).json()
    assert me["name"] == someone.user.name and me["locale"] == "zh-CN"


async def test_an_unsupported_language_is_refused_with_the_field(client, db, backend):
    someone = await person(client, db)
    resp = await client.patch("/api/v1/me", json={"locale": "fr"}, headers=someone.headers)
    assert resp.status == 400
    assert (await resp.json())["error"]["field"] == "locale"


async def test_admins_set_the_organisations_time_zone(client, db, backend):
    owner = await person(client, db)
    org = await make_org(db, owner.user)
    shown = await (await client.get(f"/api/v1/orgs/{org.id}", headers=owner.headers)).json()
    assert shown["time_zone"] == "Asia/Shanghai"

    resp = await client.patch(f"/api/v1/orgs/{org.id}", json={"time_zone": "Europe/Berlin"}, headers=owner.headers)
    assert resp.status == 200 and (await resp.json())["time_zone"] == "Europe/Berlin"

    bad = await client.patch(f"/api/v1/orgs/{org.id}", json={"time_zone": "Mars/Olympus"}, headers=owner.headers)
    assert bad.status == 400
    assert (await bad.json())["error"]["field"] == "time_zone"
    assert (await (await client.get(f"/api/v1/orgs/{org.id}", headers=owner.headers)).json())["time_zone"] == "Europe/Berlin"
