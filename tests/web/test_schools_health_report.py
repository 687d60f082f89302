"""A bureau's daily health report in Chromium: a guardian of two children in two schools answers for one of them on a
phone in Chinese (skip logic, offline, stored once) while the head teacher's dashboard follows live, then the head
teacher reminds the rest of the class and only the guardian still to answer is told in the app."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
from types import SimpleNamespace

import aiohttp
from playwright.async_api import expect
from sqlalchemy import select

from server.db import utcnow
from server.forms.models import FormSubmission
from server.gateway.models import UserEvent
from schools.models import Guardian
from tests.schools.conftest import new_bureau
from tests.server.forms.conftest import health
from tests.server.forms.rounds_world import make_form
from tests.server.orgs.conftest import ok
from tests.web.conftest import assert_fits_the_screen, assert_no_english, open_signed_in


async def signed_in_socket(http: aiohttp.ClientSession, base_url: str, headers: dict) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(f"{base_url}/api/v1/ws")
    await ws.send_str(json.dumps({"type": "hello", "token": headers["Authorization"].removeprefix("Bearer "), "user_seq": 0}))
    while json.loads((await ws.receive(timeout=10)).data)["type"] != "ready":
        pass
    return ws


async def next_event(ws: aiohttp.ClientWebSocketResponse, event: str) -> dict:
    while True:
        frame = json.loads((await ws.receive(timeout=20)).data)
        if frame.get("type") == "event" and frame["event"] == event:
            return frame["data"]


async def test_a_guardian_answers_offline_on_a_phone_while_the_head_teacher_follows_live_and_reminds_the_rest(browser, base_url, client, db):
    bureau = await new_bureau(db)
    org_id = bureau.org.id
    form_id = await make_form(db, org_id, bureau.org.owner.id, health())
    body = {"audience": {"everyone": True}, "respondent_kind": "student", "closes_at": (utcnow() + dt.timedelta(hours=2)).isoformat()}
    round_ = await ok(await client.post(bureau.org.url(f"/forms/{form_id}/rounds"), json=body, headers=bureau.owner), 201)
    rid = round_["id"]
    wang_fang, liu_qiang = await bureau.guardian("+8613900000001"), await bureau.guardian("+8613900000003")
    async with db.transaction(org_id=org_id) as tx:
        liu_qiang_id = await tx.session.scalar(select(Guardian.user_id).where(Guardian.phone == "+8613900000003"))

    teacher, teacher_problems = await open_signed_in(browser, base_url, SimpleNamespace(headers=await bureau.staff("T0004")), f"/rounds/{rid}")
    await expect(teacher.locator("#n-expected")).to_have_text("3")  # his classes: Class 1 (head teacher), Class 2 (subject teacher)
    await expect(teacher.locator("#missing .person")).to_have_count(3)

    phone, problems = await open_signed_in(browser, base_url, SimpleNamespace(headers=wang_fang), f"/f/{rid}?org={org_id}", phone=True,
                                           language="zh-CN")
    await expect(phone.locator("#form-title")).to_have_text("Daily health report")
    await expect(phone.locator("#respondent option")).to_have_count(2)  # a child in each school
    await phone.select_option("#respondent", str(bureau.students["P0001"]))
    await phone.fill("[data-field='temperature'] input", "37.8")
    await expect(phone.locator("[data-field='which']")).to_be_hidden()
    await phone.locator("[data-field='symptoms'] label.choice").first.click()  # yes: which symptoms is asked now
    await expect(phone.locator("[data-field='which']")).to_be_visible()
    await phone.locator("[data-field='which'] label.choice").first.click()
    await assert_fits_the_screen(phone)
    await assert_no_english(phone, data="#form-title, #respondent, .fill-label, .choice span, .fill-note, .person-menu, #org-name")
    await phone.context.set_offline(True)
    await phone.click("#submit")
    await expect(phone.locator("#fill-state[data-state='queued']")).to_be_visible()
    async with db.transaction(org_id=org_id) as tx:
        assert list(await tx.session.scalars(select(FormSubmission))) == []
    await phone.context.set_offline(False)
    await phone.evaluate("window.dispatchEvent(new Event('online'))")
    await expect(phone.locator("#fill-state[data-state='submitted']")).to_be_visible()
    await assert_no_english(phone, data="#form-title, #respondent, .fill-label, .choice span, .fill-note, .person-menu, #org-name")
    async with db.transaction(org_id=org_id) as tx:
        (stored,) = list(await tx.session.scalars(select(FormSubmission)))
    assert stored.respondent_id == bureau.students["P0001"] and stored.answers["which"] == ["cough"]
    assert stored.abnormal == ["temperature", "symptoms"]

    await expect(teacher.locator("#n-submitted")).to_have_text("1")  # live: nobody reloaded
    await expect(teacher.locator("#missing .person")).to_have_count(2)
    async with aiohttp.ClientSession() as http:
        liu = await signed_in_socket(http, base_url, liu_qiang)
        await teacher.click("#children button:text('Class 1')")
        await expect(teacher.locator("#missing .person-name")).to_have_text(["Liu Yang"])
        await expect(teacher.locator("#missing a.phone")).to_have_attribute("href", "tel:+8613900000003")
        await teacher.click("#remind")
        await expect(teacher.locator("#remind-state")).to_be_visible()
        told = await next_event(liu, "form.reminder")
        assert told["round_id"] == rid and told["title"] == "Daily health report"
        await liu.close()
    for _ in range(50):  # the reminder is done once its last batch commits
        async with db.transaction() as tx:
            reminded = set(await tx.session.scalars(select(UserEvent.user_id).where(UserEvent.type == "form.reminder")))
        if reminded:
            break
        await asyncio.sleep(0.1)
    assert reminded == {liu_qiang_id}  # not Wang Fang, connected on her phone: her child in that class has answered
    await phone.goto(f"/home?org={org_id}")  # her other child, in the other school, is still to answer for
    await expect(phone.locator("[data-section='forms'] .home-item a")).to_have_attribute("href", f"/f/{rid}?org={org_id}")
    await assert_no_english(phone, data=".home-item-title, .person-menu, #org-name")
    await phone.context.close()
    await teacher.context.close()
    assert problems == [] and teacher_problems == []
