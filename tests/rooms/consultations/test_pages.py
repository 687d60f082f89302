"""A patient (a phone, in Chinese) and a doctor (a desktop) meet in Chromium through a clinic's queue.

The patient queues with their phone and the code the SMS brought, waits (the
position on the page), is called live, and joins; the doctor calls them from
the doctors' page and opens the call. Each page's ``RTCPeerConnection`` must
decode the other's camera (``framesDecoded`` growing). Fake camera and
microphone, as in tests/rooms/meetings/test_page.py.
"""
from __future__ import annotations

import aiohttp
from playwright.async_api import expect
from sqlalchemy import select

from rooms.models import Consultation
from tests.rooms.meetings.test_page import RECORD_PEER_CONNECTIONS, SLOW, browser, camera_frames, wait_growing  # noqa: F401  (browser: the media fixture)
from tests.server.accounts.phones import code_in, next_sms
from tests.server.orgs.conftest import join, new_org
from tests.web.conftest import DESKTOP, PHONE, assert_fits_the_screen, assert_no_english, backend, base_url, live_server, screenshots, watch_problems  # noqa: F401

PHONE_NUMBER = "+8613900000021"


async def opened(browser, base_url, *, phone: bool, locale: str, token: str | None = None):  # noqa: F811
    context = await browser.new_context(base_url=base_url, locale=locale, **(PHONE if phone else DESKTOP))
    context.set_default_timeout(15_000)
    await context.add_init_script(RECORD_PEER_CONNECTIONS)
    if token:
        # Not on the about:blank a new tab starts on (the call opens in one), whose storage is out of bounds.
        await context.add_init_script(f"if (location.protocol.startsWith('http')) localStorage.setItem('muster.token', {token!r});")
    page = await context.new_page()
    return page, watch_problems(page)


async def test_a_patient_and_a_doctor_meet_through_the_clinic_queue(in_process_media, db, sms, browser, base_url, screenshots):  # noqa: F811
    org = await new_org(db, "Hui Hospital")
    doctor = await join(db, org.id, "member", "Dr Deng")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base_url}{org.url('/clinics')}", json={"name": "Fever clinic", "doctor_ids": [doctor.id]}, headers=org.owner.headers) as resp:
            assert resp.status == 201, await resp.text()
            link = (await resp.json())["link_url"].rsplit("/consult/", 1)[1]

    patient, patient_problems = await opened(browser, base_url, phone=True, locale="zh-CN")
    await patient.goto(f"/consult/{link}")
    await expect(patient.locator("#clinic-name")).to_have_text("Fever clinic")
    await patient.fill("#patient-name", "王芳")
    await patient.fill("#patient-phone", "139 0000 0021")
    await patient.click("#send-code")
    await expect(patient.locator("#code-form")).to_be_visible()
    await patient.fill("#patient-code", code_in(await next_sms(sms, PHONE_NUMBER)))
    await patient.click("#join-queue")
    await expect(patient.locator("body")).to_have_attribute("data-consult", "waiting")
    await expect(patient.locator("#position")).to_contain_text("1")
    await expect(patient.locator("body[data-live='true']")).to_have_count(1)
    await assert_fits_the_screen(patient)
    await assert_no_english(patient, data="#clinic-name")
    await patient.screenshot(path=str(screenshots / "consult-waiting-zh-CN.png"))

    desk, desk_problems = await opened(browser, base_url, phone=False, locale="en-US", token=doctor.headers["Authorization"].removeprefix("Bearer "))
    await desk.goto("/clinics")
    await expect(desk.locator("#queue li")).to_have_count(1)
    await expect(desk.locator("#queue li")).to_contain_text("王芳")
    await desk.click("#call-next")
    await expect(desk.locator("#current-patient")).to_have_text("王芳")
    await expect(patient.locator("body")).to_have_attribute("data-consult", "called")  # told live

    await patient.click("#join-call")
    await expect(patient.locator("body")).to_have_attribute("data-meeting", "joined", timeout=SLOW)
    async with desk.context.expect_page() as opening:
        await desk.click("#open-call")
    call = await opening.value
    call_problems = watch_problems(call)
    await expect(call.locator("#display-name")).to_be_hidden(timeout=SLOW)
    await call.click("#join-submit")
    await expect(call.locator("body")).to_have_attribute("data-meeting", "joined", timeout=SLOW)

    for page in (patient, call):
        await wait_growing(page, camera_frames)
    await assert_fits_the_screen(patient)
    await patient.screenshot(path=str(screenshots / "consult-call-zh-CN.png"))

    await patient.click("#leave")  # a slip: the patient joins again from their queue page, with a new ticket
    await patient.click("#rejoin")
    await expect(patient.locator("body")).to_have_attribute("data-consult", "called")
    await patient.click("#join-call")
    await expect(patient.locator("body")).to_have_attribute("data-meeting", "joined", timeout=SLOW)
    await expect(call.locator("#people li")).to_have_count(2, timeout=SLOW)

    await desk.fill("#notes", "Rest and fluids")
    await desk.click("#end")
    await expect(desk.locator("#current")).to_be_hidden()
    await expect(patient.locator("body")).to_have_attribute("data-meeting", "left", timeout=SLOW)
    async with db.transaction(org_id=org.id) as tx:
        row = await tx.session.scalar(select(Consultation))
    assert (row.status, row.notes, row.doctor_id, row.patient_phone) == ("ended", "Rest and fluids", doctor.id, PHONE_NUMBER)
    assert row.queued_at <= row.called_at <= row.started_at <= row.ended_at
    assert patient_problems == [] and desk_problems == [] and call_problems == []
