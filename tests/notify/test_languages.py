"""An SMS and a call read in the recipient's language: their own setting (users.locale), else the server's default."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from server.accounts.models import User
from tests.notify.test_escalation import eventually
from tests.notify.test_send import send

SMS_ONLY = {"sms_after_s": 0, "call_after_s": None, "repeats": 0, "repeat_interval_s": 60}
CALL_ONLY = {"sms_after_s": None, "call_after_s": 0, "repeats": 0, "repeat_interval_s": 60}
NINA, NOAH = "+447946000000", "+447946000001"


async def choose_chinese(db, user_id: int) -> None:
    async with db.transaction() as tx:
        await tx.session.execute(update(User).where(User.id == user_id).values(locale="zh-CN"))


def sent_to(fake_provider, kind: str, number: str):
    return [s for s in fake_provider.of_kind(kind) if s.to == number]


async def test_a_chinese_reader_gets_a_chinese_sms_and_an_english_one_the_english_text(client, db, org, fake_provider, backend):
    await choose_chinese(db, org.people["nina"])
    await send(client, org, {"user_ids": [org.people["nina"], org.people["noah"]]}, policy=SMS_ONLY)
    (chinese,) = await eventually(lambda: _async(sent_to(fake_provider, "sms", NINA)))
    (english,) = await eventually(lambda: _async(sent_to(fake_provider, "sms", NOAH)))
    assert chinese.body == "【紧急通知】Code red\nEvacuate ward 3 now.\n请打开 Muster 确认您已阅读。"
    assert english.body == "URGENT: Code red\nEvacuate ward 3 now.\nOpen Muster and confirm you have read this."


async def test_a_chinese_reader_is_called_with_a_chinese_voice_and_thanked_in_chinese(client, db, org, fake_provider, backend):
    await choose_chinese(db, org.people["nina"])
    await send(client, org, {"user_ids": [org.people["nina"], org.people["noah"]]}, policy=CALL_ONLY)
    (chinese,) = await eventually(lambda: _async(sent_to(fake_provider, "call", NINA)))
    (english,) = await eventually(lambda: _async(sent_to(fake_provider, "call", NOAH)))
    assert '<Say language="zh-CN">这是一条紧急通知。Code red。Evacuate ward 3 now.。确认已收听请按 1。</Say>' in chinese.body
    assert '<Say language="en-US">This is an urgent notice. Code red. Evacuate ward 3 now.. Press 1 to confirm you have read this.</Say>' in english.body
    assert "谢谢" in await (await fake_provider.press(chinese, "1")).text()
    assert "Nothing was confirmed" in await (await fake_provider.press(english, "2")).text()


@pytest.fixture
def chinese_by_default(monkeypatch):
    """MUSTER_DEFAULT_LOCALE=zh-CN for the app (request it before ``client``)."""
    monkeypatch.setenv("MUSTER_DEFAULT_LOCALE", "zh-CN")


async def test_people_who_chose_no_language_read_the_servers_default(chinese_by_default, client, db, org, fake_provider, backend):
    await send(client, org, {"user_ids": [org.people["noah"]]}, policy=SMS_ONLY)
    (sms,) = await eventually(lambda: _async(sent_to(fake_provider, "sms", NOAH)))
    assert sms.body.startswith("【紧急通知】Code red")


async def _async(value):
    return value
