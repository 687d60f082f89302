"""The rounds' pages in Chromium: a respondent fills in on a phone (skip logic, edits, offline then sent once),
a round's dashboard fills in live and drills down to who is missing, and a form is sent once and on a recurrence."""
from __future__ import annotations

import asyncio
import uuid

from playwright.async_api import expect
from sqlalchemy import select

from server.forms.models import FormSubmission
from tests.server.forms.conftest import health
from tests.server.forms.rounds_world import WELL, make_form, make_school, send_round
from tests.server.orgs.conftest import ok
from tests.web.conftest import assert_fits_the_screen, assert_no_english, open_signed_in


async def health_round(client, db, **sizes) -> tuple:
    school = await make_school(client, db, sizes or None)
    school.form_id = await make_form(db, school.org.id, school.org.owner.id, health())
    return school, await send_round(client, school, minutes=120)


async def stored(db, org_id: int) -> list[FormSubmission]:
    async with db.transaction(org_id=org_id) as tx:
        return list(await tx.session.scalars(select(FormSubmission)))


async def answer_fever(page) -> None:
    await page.fill("[data-field='temperature'] input", "38.1")
    await expect(page.locator("[data-field='which']")).to_be_hidden()
    await page.locator("[data-field='symptoms'] label.choice").first.click()  # yes: which symptoms is asked now
    await page.locator("[data-field='which'] label.choice").first.click()


async def test_a_respondent_fills_in_on_a_phone_with_skip_logic_then_edits(browser, base_url, client, db):
    school, round_ = await health_round(client, db)
    pupil = school.people["n1"][0]
    page, problems = await open_signed_in(browser, base_url, pupil, f"/f/{round_['id']}", phone=True)
    await expect(page.locator("#form-title")).to_have_text("Daily health report")
    await page.click("#submit")
    await expect(page.locator("[data-field='temperature'] .field-error")).to_be_visible()  # required, checked before sending
    await answer_fever(page)
    await page.click("#submit")
    await expect(page.locator("#fill-state[data-state='submitted']")).to_be_visible()
    (submission,) = await stored(db, school.org.id)
    assert submission.answers["which"] == ["cough"] and submission.abnormal == ["temperature", "symptoms"]
    await expect(page.locator("#submit")).to_have_text("Save changes")
    await page.fill("[data-field='temperature'] input", "36.5")
    await page.locator("[data-field='symptoms'] label.choice").nth(1).click()
    await page.click("#submit")
    await expect(page.locator("#fill-state[data-state='submitted']")).to_be_visible()
    for _ in range(50):
        (submission,) = await stored(db, school.org.id)
        if submission.revision == 2:
            break
        await asyncio.sleep(0.1)
    assert submission.revision == 2 and "which" not in submission.answers and submission.abnormal == []
    await assert_fits_the_screen(page)
    await page.context.close()
    assert problems == []


async def test_answers_submitted_offline_are_sent_once_when_the_phone_is_back_online(browser, base_url, client, db):
    school, round_ = await health_round(client, db)
    pupil = school.people["s1"][0]
    page, problems = await open_signed_in(browser, base_url, pupil, f"/f/{round_['id']}", phone=True)
    await expect(page.locator("#form-title")).to_have_text("Daily health report")
    await page.context.set_offline(True)
    await page.fill("[data-field='temperature'] input", "36.6")
    await page.locator("[data-field='symptoms'] label.choice").nth(1).click()
    await page.click("#submit")
    await expect(page.locator("#fill-state[data-state='queued']")).to_be_visible()
    await expect(page.locator("#queue-state")).to_be_visible()
    assert await stored(db, school.org.id) == []
    await page.context.set_offline(False)
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    await expect(page.locator("#fill-state[data-state='submitted']")).to_be_visible()
    await expect(page.locator("#queue-state")).to_be_hidden()
    await page.reload()
    await expect(page.locator("#fill-state[data-state='submitted']")).to_be_visible()
    (submission,) = await stored(db, school.org.id)
    assert submission.respondent_id == pupil.id and submission.answers["temperature"] == 36.6
    await page.context.close()
    assert problems == []


async def test_the_dashboard_fills_in_live_drills_down_to_who_is_missing_and_reminds_them(browser, base_url, client, db):
    school, round_ = await health_round(client, db)
    rid = round_["id"]
    page, problems = await open_signed_in(browser, base_url, school.org.owner, f"/rounds/{rid}")
    await expect(page.locator("#n-expected")).to_have_text("7")
    await expect(page.locator("#n-submitted")).to_have_text("0")
    for person in school.people["n1"][:2]:
        body = {"client_id": uuid.uuid4().hex, "answers": {**WELL}}
        await ok(await client.post(school.url(f"/rounds/{rid}/submissions"), json=body, headers=person.headers), 201)
    await expect(page.locator("#n-submitted")).to_have_text("2")  # live: nobody reloaded
    await expect(page.locator("#n-missing")).to_have_text("5")
    await page.click("#children button:text('District')")
    await page.click("#children button:text('North school')")
    await expect(page.locator("#children tr")).to_have_count(2)
    await page.click("#children button:text('Class N1')")
    await expect(page.locator("#missing .person")).to_have_count(1)
    missing = school.people["n1"][2]
    await expect(page.locator("#missing .person-name")).to_have_text(missing.user.name)
    await expect(page.locator("#missing a.phone")).to_have_attribute("href", f"tel:+86138000{school.departments['n1']:03d}02")
    await page.click("#remind")
    await expect(page.locator("#remind-state")).to_be_visible()
    (reminder,) = await ok(await client.get(school.url(f"/rounds/{rid}/reminders"), headers=school.owner))
    assert reminder["department_id"] == school.departments["n1"]
    await page.click("#trail button:text('Everyone')")
    await expect(page.locator("#missing .person")).to_have_count(5)
    await expect(page.locator("#export-csv")).to_be_visible()
    await page.context.close()
    assert problems == []


async def test_on_a_phone_in_chinese_the_dashboard_and_the_fill_page_fit_and_say_nothing_in_english(browser, base_url, client, db):
    school, round_ = await health_round(client, db)
    page, problems = await open_signed_in(browser, base_url, school.org.owner, f"/rounds/{round_['id']}", phone=True, language="zh-CN")
    await expect(page.locator("#n-expected")).to_have_text("7")
    await expect(page.locator("#missing .person")).to_have_count(7)
    await assert_fits_the_screen(page)
    await assert_no_english(page, allowed=("CSV", "Excel", "Org of Olivia Owner", "Olivia Owner"), data="#form-title, #children button, .person-name, .person .muted")
    await page.context.close()
    pupil = school.people["n2"][0]
    page, more = await open_signed_in(browser, base_url, pupil, f"/f/{round_['id']}", phone=True, language="zh-CN")
    await expect(page.locator("#form-title")).to_have_text("Daily health report")
    await assert_fits_the_screen(page)
    await assert_no_english(page, allowed=("Org of Olivia Owner",), data="#form-title, .fill-label, .choice span, .fill-note, .person-menu")
    await page.context.close()
    assert problems == [] and more == []


async def test_a_form_is_sent_once_and_on_working_days_and_the_calendar_is_kept(browser, base_url, client, db):
    school = await make_school(client, db)
    page, problems = await open_signed_in(browser, base_url, school.org.owner, f"/forms/{school.form_id}/rounds", live=False)
    await expect(page.locator("#form-title")).to_have_text("Daily health report")
    await page.check("input[name=repeat][value=working_days]")
    await page.fill("#open-time", "07:30")
    await page.locator("#departments label", has_text="North school").locator("input").check()
    await page.click("#send")
    await expect(page.locator("#schedules li")).to_have_count(1)
    await expect(page.locator("#schedules li")).to_contain_text("07:30")
    await page.fill("#calendar-day", "2030-10-01")
    await page.fill("#calendar-name", "National Day")
    await page.click("#calendar-form button[type=submit]")
    await expect(page.locator("#calendar-days li")).to_have_count(0)  # another year than the one shown
    await page.check("input[name=repeat][value=once]")
    await page.click("#send")
    await page.wait_for_url("**/rounds/*")
    await expect(page.locator("#n-expected")).to_have_text("5")
    await page.context.close()
    assert problems == []
