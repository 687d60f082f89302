"""Errors, validation errors and WebSocket error frames read in Chinese for a Chinese reader, and as before in English."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, ValidationError

from server.errors import RateLimited
from server.i18n import _, translate
from server.i18n.time_zones import TimeZone
from server.i18n.validation import InvalidValue, validation_error
from tests.factories import make_org, person
from tests.server.gateway.test_websocket import connect, token_of, ws_url

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _no_twos(value: int) -> int:
    if value == 2:
        raise ValueError("two is not allowed")  # a plain ValueError: its reason stays English
    return value


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field("x", min_length=1, max_length=3, pattern="^[a-z]+$")
    count: int = Field(1, gt=0, le=5)
    tags: list[str] = Field(default_factory=list, max_length=2)
    kind: Literal["a", "b"] = "a"
    on: bool = True
    link: HttpUrl | None = None
    zone: TimeZone = "Asia/Shanghai"
    number: Annotated[int, AfterValidator(_no_twos)] = 1


def first_error(data) -> dict:
    try:
        Sample.model_validate(data)
    except ValidationError as e:
        return e.errors()[0]
    raise AssertionError("valid")


def test_each_common_validation_error_reads_in_chinese_and_unchanged_in_english():
    cases = {
        "name: String should have at least 1 character": ({"name": ""}, "name: 至少需要 1 个字符"),
        "name: String should have at most 3 characters": ({"name": "abcd"}, "name: 最多 3 个字符"),
        "name: String should match pattern '^[a-z]+$'": ({"name": "A"}, "name: 格式不正确，应符合 '^[a-z]+$'"),
        "count: Input should be greater than 0": ({"count": 0}, "count: 应大于 0"),
        "count: Input should be less than or equal to 5": ({"count": 6}, "count: 应小于或等于 5"),
        "count: Input should be a valid integer, unable to parse string as an integer": ({"count": "x"}, "count: 应为整数"),
        "tags: List should have at most 2 items after validation, not 3": ({"tags": ["a", "b", "c"]}, "tags: 最多 2 项，当前为 3 项"),
        "kind: Input should be 'a' or 'b'": ({"kind": "c"}, "kind: 应为 'a', 'b' 之一"),
        "on: Input should be a valid boolean, unable to interpret input": ({"on": "maybe"}, "on: 应为布尔值（true 或 false）"),
        "link: Input should be a valid URL, relative URL without a base": ({"link": "nope"}, "link: 应为有效的网址"),
        "zone: Value error, unknown time zone 'Mars/Olympus': use an IANA name such as Asia/Shanghai":
            ({"zone": "Mars/Olympus"}, "zone: 未知时区“Mars/Olympus”：请使用 IANA 名称，例如 Asia/Shanghai"),
        "unknown field 'colour'": ({"colour": "red"}, "未知字段“colour”"),
        "number: Value error, two is not allowed": ({"number": 2}, "number: Value error, two is not allowed"),  # not ours: English
    }
    for english, (data, chinese) in cases.items():
        error = validation_error(first_error(data))
        assert (error.message, error.as_json()["error"]["message"]) == (english, english)
        assert error.as_json("zh-CN")["error"]["message"] == chinese
        assert error.as_json("zh-CN")["error"]["field"] == error.field


def test_a_missing_field_and_a_validators_own_refusal():
    class Needs(BaseModel):
        title: str

    try:
        Needs.model_validate({})
    except ValidationError as e:
        error = validation_error(e.errors()[0])
    assert error.as_json()["error"]["message"] == "title: Field required"
    assert error.as_json("zh-CN")["error"]["message"] == "title: 此项为必填项"
    refusal = InvalidValue("unknown time zone '{name}': use an IANA name such as Asia/Shanghai", name="X")
    assert str(refusal) == "unknown time zone 'X': use an IANA name such as Asia/Shanghai"


def test_a_marked_placeholder_value_is_translated_with_its_text():
    error = RateLimited("too many failed sign-in attempts for {whose}; try again in {seconds} seconds",
                        retry_after_s=9, whose=_("this account"), seconds=9)
    assert error.message == "too many failed sign-in attempts for this account; try again in 9 seconds"
    assert error.as_json("zh-CN")["error"]["message"] == "此账号登录失败次数过多，请 9 秒后重试"
    assert translate("zh-CN", "no such {name}", name="this account") == "this account 不存在"  # an unmarked value stays as given


async def test_an_api_error_with_values_reads_in_chinese_and_as_before_in_english(client, db, backend):
    admin = await person(client, db)
    org = await make_org(db, admin.user)
    body = {"name": "Ward 9", "parent_id": 987654}
    english = await client.post(f"/api/v1/orgs/{org.id}/departments", json=body, headers=admin.headers)
    chinese = await client.post(f"/api/v1/orgs/{org.id}/departments", json=body, headers={**admin.headers, **ZH})
    assert english.status == chinese.status == 400
    assert (await english.json())["error"] == {"code": "invalid", "message": "no department 987654 in this organisation", "field": "parent_id"}
    assert (await chinese.json())["error"] == {"code": "invalid", "message": "本组织中没有编号为 987654 的部门", "field": "parent_id"}


async def test_a_validation_error_of_a_request_reads_in_chinese_and_as_before_in_english(client, db, backend):
    owner = await person(client, db)
    org = await make_org(db, owner.user)
    for body, english, chinese in [
        ({"time_zone": "Mars/Olympus"}, "time_zone: Value error, unknown time zone 'Mars/Olympus': use an IANA name such as Asia/Shanghai",
         "time_zone: 未知时区“Mars/Olympus”：请使用 IANA 名称，例如 Asia/Shanghai"),
        ({"name": ""}, "name: String should have at least 1 character", "name: 至少需要 1 个字符"),
        ({"colour": "red"}, "unknown field 'colour'", "未知字段“colour”"),
    ]:
        in_english = await client.patch(f"/api/v1/orgs/{org.id}", json=body, headers=owner.headers)
        in_chinese = await client.patch(f"/api/v1/orgs/{org.id}", json=body, headers={**owner.headers, **ZH})
        assert in_english.status == in_chinese.status == 400
        assert (await in_english.json())["error"]["message"] == english
        assert (await in_chinese.json())["error"]["message"] == chinese


async def test_websocket_error_frames_read_in_the_persons_chosen_language(client, db):
    reader = await person(client, db)
    english = await connect(client.session, ws_url(client), token_of(reader.headers))
    await english.until_ready()
    await english.send({"type": "teleport", "ref": 1})
    assert (await english.next_frame())["error"]["message"] == "unknown frame type 'teleport'"

    assert (await client.patch("/api/v1/me", json={"locale": "zh-CN"}, headers=reader.headers)).status == 200
    chinese = await connect(client.session, ws_url(client), token_of(reader.headers))
    await chinese.until_ready()
    await chinese.send({"type": "teleport", "ref": 2})
    frame = await chinese.next_frame()
    assert frame["error"] == {"code": "unknown_type", "message": "未知的消息类型 'teleport'"} and frame["ref"] == 2


async def test_the_sockets_own_error_frames_read_in_the_persons_chosen_language(client, db):
    reader = await person(client, db)
    assert (await client.patch("/api/v1/me", json={"locale": "zh-CN"}, headers=reader.headers)).status == 200
    device = await connect(client.session, ws_url(client), token_of(reader.headers))
    await device.until_ready()
    for text, code, chinese in [
        ("{nope", "malformed_json", "消息不是有效的 JSON（第 2 个字符处）"),
        ('{"type":"ping","ref":NaN}', "malformed_json", "消息不是有效的 JSON：NaN 不是 JSON 数字"),
        ("[" * 100_000, "malformed_json", "消息不是有效的 JSON：嵌套层级过深"),
        ('{"type":"ping","ref":' + "9" * 5000 + "}", "malformed_json", "消息不是有效的 JSON：数字位数过多"),
        ("[1, 2]", "invalid", "消息应为带有字符串“type”字段的 JSON 对象"),
        ('{"type":"teleport","ref":"\\ud800"}', "invalid", "消息含有不成对的 UTF-16 代理字符（\\ud800-\\udfff 转义缺少配对）"),
        ('{"type":"hello","token":"x"}', "invalid", "已经发送过 hello"),
    ]:
        await device.ws.send_str(text)
        assert (await device.next_frame())["error"] == {"code": code, "message": chinese}, text[:40]
    await device.ws.send_bytes(b"\x00")
    assert (await device.next_frame())["error"] == {"code": "invalid", "message": "消息应为 JSON 文本，而非二进制"}


def test_a_close_reason_is_in_the_persons_language_and_english_when_it_would_not_fit():
    from server.gateway.frames import MAX_CLOSE_REASON, close_reason

    assert close_reason("zh-CN", "this session was signed out") == "此会话已退出登录".encode()
    assert close_reason("en", "this session was signed out") == b"this session was signed out"
    long = "x" * 200
    assert close_reason("zh-CN", long) == long.encode()[:MAX_CLOSE_REASON]
