"""The form builder in Chromium: building with a live preview, skip logic as the server runs it, versions,
XLSForm import, a phone in Chinese, and the offline queue the fill page uses."""
from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import expect

from server.forms.answers import check_answers
from server.forms.definition import FormDefinition
from tests.server.forms.conftest import health
from tests.server.orgs.conftest import join, new_org, ok
from tests.web.conftest import assert_fits_the_screen, assert_no_english, open_signed_in

FIXTURES = Path(__file__).parents[1] / "server" / "forms" / "fixtures"


async def made_form(client, org, definition: dict, title: str = "Daily health report") -> dict:
    return await ok(await client.post(org.url("/forms"), json={"title": title, "definition": definition}, headers=org.owner.headers), 201)


async def forms_of(client, org) -> list[dict]:
    return (await ok(await client.get(org.url("/forms"), headers=org.owner.headers)))["forms"]


def card(page, n: int):
    return page.locator("#field-list .field-card").nth(n)


async def test_an_admin_builds_a_form_with_skip_logic_in_the_preview_and_saves_versions(browser, base_url, client, db):
    org = await new_org(db)
    page, problems = await open_signed_in(browser, base_url, org.owner, "/forms")
    await expect(page.locator(".app-nav-link[href='/forms'][aria-current='page']")).to_have_count(1)
    await expect(page.locator("#forms-empty")).to_be_visible()
    await page.click("#new-form")
    await page.fill("#form-title", "Staff check-in")
    await expect(card(page, 0).locator(".field-type")).to_have_value("temperature")  # the usual first question, 35-42 °C, ≥ 37.3 abnormal
    await page.select_option("#new-field-type", "yes_no")
    await page.click("#add-field")
    await card(page, 1).locator(".field-label-input").fill("Any symptoms?")
    await page.select_option("#new-field-type", "text")
    await page.click("#add-field")
    await card(page, 2).locator(".field-label-input").fill("Which symptoms?")
    await card(page, 2).locator(".rule-relevant .add-condition").click()  # ask only when: the question above is "yes"
    await expect(card(page, 2).locator(".rule-relevant .condition-op")).to_have_value("eq")

    preview = page.locator("#preview-form")
    follow_up = preview.locator(".fill-field[data-field='q3']")
    await expect(follow_up).to_be_hidden()
    await preview.locator(".fill-field[data-field='q2'] .choice", has_text="Yes").click()
    await expect(follow_up).to_be_visible()
    await preview.locator(".fill-field[data-field='q2'] .choice", has_text="No").click()
    await expect(follow_up).to_be_hidden()
    await preview.locator("#fill-q1").fill("38.2")
    await expect(preview.locator(".fill-field[data-field='q1'] .abnormal-flag")).to_be_visible()

    await page.click("#save")
    await expect(page.locator("#save-state")).to_have_text("Saved as version 1.")
    [listed] = await forms_of(client, org)
    form = await ok(await client.get(org.url(f"/forms/{listed['id']}"), headers=org.owner.headers))
    fields = form["definition"]["fields"]
    assert [(f["type"], f["label"]) for f in fields] == [("temperature", "Temperature"), ("yes_no", "Any symptoms?"), ("text", "Which symptoms?")]
    assert fields[2]["relevant"]["field"] == "q2" and fields[2]["relevant"]["value"] is True
    assert fields[0]["abnormal"]["value"] == 37.3 and fields[0]["required"] is True

    await card(page, 1).locator("button[aria-label='Move down']").click()
    await expect(card(page, 2).locator(".field-label-input")).to_have_value("Any symptoms?")
    await page.click("#save")  # the skip logic now names a later question: refused, shown on that question
    await expect(card(page, 1).locator(".field-error")).to_contain_text("not an earlier field")
    await card(page, 1).locator("button[aria-label='Move down']").click()
    await page.click("#save")
    await expect(page.locator("#save-state")).to_have_text("Saved. The questions did not change, so the version stays.")
    await card(page, 1).locator(".field-label-input").fill("Any symptoms today?")
    await page.click("#save")
    await expect(page.locator("#save-state")).to_have_text("Saved as version 2.")
    await page.locator("#versions-box summary").click()
    await expect(page.locator("#version-list .version")).to_have_count(2)
    async with page.expect_download() as download:
        await page.locator("#version-list .version").first.locator("button").click()
    assert (await download.value).suggested_filename == f"form-{listed['id']}-v2.xlsx"
    await page.context.close()
    assert problems == []


async def test_the_preview_runs_skip_logic_as_the_server_checks_it(browser, base_url, client, db):
    org = await new_org(db)
    made = await made_form(client, org, health())
    page, problems = await open_signed_in(browser, base_url, org.owner, "/forms")
    await page.click(f".form-open[data-form-id='{made['id']}']")
    preview = page.locator("#preview-form")
    field = lambda name: preview.locator(f".fill-field[data-field='{name}']")  # noqa: E731
    await expect(field("temperature")).to_be_visible()
    for name in ("which", "which_other", "since"):
        await expect(field(name)).to_be_hidden()
    await preview.locator("#fill-temperature").fill("38.2")
    await field("symptoms").locator(".choice", has_text="Yes").click()
    await expect(field("which")).to_be_visible()
    await expect(field("since")).to_be_visible()
    await field("which").locator(".choice", has_text="Other").click()
    await expect(field("which_other")).to_be_visible()
    await field("which").locator(".choice", has_text="Cough").click()
    await preview.locator("#fill-which_other").fill("a rash")
    await preview.locator("#fill-since").fill("2026-03-01")
    await preview.locator("#fill-sleep").fill("7")
    await field("mood").locator(".choice", has_text="Ill").click()
    answers = await page.evaluate("import('/forms/static/form-render.js').then((m) => m.collectAnswers())")
    assert answers == {"temperature": 38.2, "symptoms": True, "which": ["cough", "other"], "which_other": "a rash", "since": "2026-03-01",
                       "mood": "ill", "sleep": 7}
    checked = check_answers(FormDefinition.model_validate(made["definition"]), answers)  # what the page collects, the server takes
    assert checked.abnormal == ["temperature", "symptoms", "mood"]
    await field("which").locator(".choice", has_text="Other").click()
    await expect(field("which_other")).to_be_hidden()
    await field("symptoms").locator(".choice", has_text="No").click()
    answers = await page.evaluate("import('/forms/static/form-render.js').then((m) => m.collectAnswers())")
    assert "which" not in answers and "which_other" not in answers  # hidden answers are not sent
    check_answers(FormDefinition.model_validate(made["definition"]), answers)
    problem = await page.evaluate("import('/forms/static/form-render.js').then((m) => { m.renderForm(document.querySelector('#preview-form'),"
                                  " {fields: [{name: 'n', type: 'number', label: 'N', min: 1, max: 5, required: true}]}); return m.firstProblem(); })")
    assert problem == {"field": "n", "message": "This question needs an answer."}
    await page.context.close()
    assert problems == []


async def test_an_xlsform_imports_from_the_page_with_its_warnings_and_a_refused_one_lists_its_rows(browser, base_url, client, db):
    org = await new_org(db)
    page, problems = await open_signed_in(browser, base_url, org.owner, "/forms")
    await page.set_input_files("#import-file", str(FIXTURES / "health_report.xlsx"))
    await expect(page.locator("#form-title")).to_have_value("Daily health report")
    await expect(page.locator("#import-summary")).to_contain_text("8 things were not kept")
    await expect(page.locator("#preview-form .fill-field[data-field='which']")).to_be_hidden()
    await page.locator("#preview-form .fill-field[data-field='symptoms'] .choice", has_text="Yes").click()
    await expect(page.locator("#preview-form .fill-field[data-field='which']")).to_be_visible()
    await page.set_input_files("#import-file", str(FIXTURES / "unsupported.xlsx"))
    await expect(page.locator("#import-report.refused #import-items li")).to_have_count(6)
    await expect(page.locator("#import-items li").first).to_contain_text("row 4")
    assert len(await forms_of(client, org)) == 1
    await page.context.close()
    assert problems == []


async def test_on_a_phone_in_chinese_the_builder_fits_and_the_preview_is_a_tab(browser, base_url, client, db):
    org = await new_org(db)
    definition = {"fields": [
        {"name": "temperature", "type": "temperature", "label": "体温", "required": True, "min": 35, "max": 42, "abnormal": {"op": "ge", "value": 37.3}},
        {"name": "symptoms", "type": "yes_no", "label": "有无症状？", "required": True},
        {"name": "which", "type": "multiple_choice", "label": "哪些症状？", "choices": [{"value": "cough", "label": "咳嗽"}, {"value": "fever", "label": "发烧"}],
         "relevant": {"field": "symptoms", "op": "eq", "value": True}},
    ]}
    made = await made_form(client, org, definition, title="每日健康报告")
    page, problems = await open_signed_in(browser, base_url, org.owner, "/forms", phone=True, language="zh-CN")
    await page.click(f".form-open[data-form-id='{made['id']}']")
    await expect(card(page, 2).locator(".rule-relevant .condition")).to_have_count(1)
    await expect(page.locator("#preview-form")).to_be_hidden()
    await assert_fits_the_screen(page)
    await assert_no_english(page, allowed=("XLSForm", "Org of Olivia Owner", "Olivia Owner"))
    await page.click("#tab-preview")
    await expect(page.locator("#field-list")).to_be_hidden()
    await page.locator("#preview-form .fill-field[data-field='symptoms'] .choice", has_text="是").click()
    await expect(page.locator("#preview-form .fill-field[data-field='which']")).to_be_visible()
    await assert_fits_the_screen(page)
    await assert_no_english(page, allowed=("XLSForm", "Org of Olivia Owner", "Olivia Owner"))
    await page.click("#tab-edit")
    await page.click("#new-form")
    await expect(card(page, 0).locator(".field-label-input")).to_have_value("体温")
    await assert_fits_the_screen(page)
    await page.context.close()
    assert problems == []


async def test_members_who_may_not_build_forms_have_no_forms_place(browser, base_url, db):
    org = await new_org(db)
    member = await join(db, org.id, "member")
    page, problems = await open_signed_in(browser, base_url, member, "/home")
    await expect(page.locator(".app-nav-link[href='/home']")).to_have_count(1)
    await expect(page.locator(".app-nav-link[href='/forms']")).to_have_count(0)
    await page.context.close()
    assert problems == []


async def test_answers_queued_offline_are_sent_when_the_connection_returns_even_after_a_reload(browser, base_url, client, db):
    org = await new_org(db)
    page, problems = await open_signed_in(browser, base_url, org.owner, "/forms")
    queue = "import('/forms/static/offline-queue.js')"
    body = {"title": "Sent later", "definition": {"fields": [{"name": "well", "type": "yes_no", "label": "Well?"}]}}
    url = org.url("/forms")
    await page.evaluate(f"{queue}.then(() => true)")  # the fill page loads it with itself, before the connection goes
    await page.context.set_offline(True)
    outcome = await page.evaluate(f"([url, body]) => {queue}.then((q) => q.queueSubmission(url, body))", [url, body])
    assert outcome == {"status": "queued"}
    await page.evaluate(f"{queue}.then((q) => q.saveDraft('round-1', {{well: true}}))")
    assert await forms_of(client, org) == []

    await page.route("**/api/v1/orgs/*/forms", lambda route: route.abort())  # back online, but the server is not reached yet
    await page.context.set_offline(False)
    await page.evaluate(f"{queue}.then((q) => q.flushQueue())")
    assert await page.evaluate(f"{queue}.then((q) => q.pendingSubmissions().length)") == 1
    await page.unroute("**/api/v1/orgs/*/forms")
    await page.reload()  # the queue outlives the page: opening it again (loading the module) sends what waits
    await expect(page.locator("body[data-live='true']")).to_have_count(1)
    await page.evaluate(f"{queue}.then(() => true)")
    for _ in range(100):
        if await page.evaluate(f"{queue}.then((q) => q.pendingSubmissions().length)") == 0:
            break
        await asyncio.sleep(0.1)
    assert [f["title"] for f in await forms_of(client, org)] == ["Sent later"]
    assert await page.evaluate(f"{queue}.then((q) => q.loadDraft('round-1'))") == {"well": True}

    refused = await page.evaluate(f"([url]) => {queue}.then((q) => q.queueSubmission(url, {{title: ''}}))", [url])
    assert refused["status"] == "refused"  # a 400 cannot get better by retrying: it leaves the queue, and the page hears why
    assert await page.evaluate(f"{queue}.then((q) => q.pendingSubmissions().length)") == 0
    ids = await page.evaluate(f"{queue}.then((q) => [q.newClientId(), q.newClientId()])")
    assert ids[0] != ids[1] and len(ids[0]) == 36
    await page.context.close()
    assert problems == []
