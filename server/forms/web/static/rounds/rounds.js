// Sending a form, /forms/{form_id}/rounds: once now or on a recurrence (every day or every working day at a
// local time), to everyone or to departments; its recurrences (stop one) and its rounds (open a dashboard);
// for admins, the organisation's calendar of holidays and make-up working days.

import { api } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { formatDate, formatDateTime, formatNumber, t } from "/static/i18n.js";
import { mountShell } from "/static/shell.js";
import { idFromPath } from "./common.js";

const $ = (id) => document.getElementById(id);
const formId = idFromPath("/forms");
const state = { orgId: null, before: null, year: new Date().getFullYear() };

start().catch((error) => showMessage($("page-error"), error.message));

async function start() {
  const { org, orgs } = await mountShell({ active: "forms" });
  if (!org || !formId) return;
  state.orgId = org.id;
  const form = await api(orgUrl(`/forms/${formId}`));
  document.title = `${form.title} · Muster`;
  $("form-title").textContent = form.title;
  $("starts-on").value = new Date().toISOString().slice(0, 10);
  drawDepartments(await api(orgUrl("/departments")));
  $("everyone").addEventListener("change", () => show($("departments"), !$("everyone").checked));
  for (const radio of document.querySelectorAll("input[name=repeat]")) radio.addEventListener("change", () => show($("repeat-fields"), repeat() !== "once"));
  $("send-form").addEventListener("submit", (event) => {
    event.preventDefault();
    send().catch((error) => showMessage($("send-error"), error.message));
  });
  $("rounds-more").addEventListener("click", () => loadRounds(false).catch(report));
  show($("send-card"), true);
  await Promise.all([loadSchedules(), loadRounds(true)]);
  const role = orgs.find((o) => o.id === org.id)?.role;
  if (role === "admin" || role === "owner") {
    $("calendar-form").addEventListener("submit", (event) => {
      event.preventDefault();
      setDay($("calendar-day").value, $("calendar-kind").value, $("calendar-name").value).catch(report);
    });
    await loadCalendar();
    show($("calendar-card"), true);
  }
}

function report(error) {
  showMessage($("page-error"), error.message);
}

function orgUrl(tail) {
  return `/api/v1/orgs/${state.orgId}${tail}`;
}

function repeat() {
  return document.querySelector("input[name=repeat]:checked").value;
}

function drawDepartments(departments) {
  const depth = (d) => d.path.split("/").length - 3;
  $("departments").replaceChildren(...departments.map((d) => {
    const label = el("label", { class: "check" }, el("input", { type: "checkbox", value: d.id }), el("span", {}, d.name));
    label.style.paddingLeft = `${depth(d)}rem`; // the tree's depth (a property, not a style attribute: the pages' CSP allows no inline style)
    return label;
  }));
}

function audience() {
  if ($("everyone").checked) return { everyone: true };
  return { department_ids: [...$("departments").querySelectorAll("input:checked")].map((i) => Number(i.value)) };
}

async function send() {
  showMessage($("send-error"), "");
  const hours = Number($("open-hours").value);
  const remind = $("remind-after").value ? Number($("remind-after").value) : null;
  if (repeat() === "once") {
    const now = Date.now();
    const body = { audience: audience(), closes_at: new Date(now + hours * 3600_000).toISOString(),
      remind_at: remind !== null && remind < hours * 60 ? [new Date(now + remind * 60_000).toISOString()] : [] };
    const round = await api(orgUrl(`/forms/${formId}/rounds`), { method: "POST", body });
    location.assign(`/rounds/${round.id}`);
    return;
  }
  const body = { audience: audience(), days: repeat(), open_time: $("open-time").value, open_minutes: hours * 60,
    remind_after: remind !== null && remind < hours * 60 ? [remind] : [], starts_on: $("starts-on").value };
  await api(orgUrl(`/forms/${formId}/schedules`), { method: "POST", body });
  await loadSchedules();
}

async function loadSchedules() {
  const schedules = await api(orgUrl(`/forms/${formId}/schedules`));
  $("schedules").replaceChildren(...schedules.map((s) => el("li", { class: "row" },
    el("span", {}, t(`rounds.send.${s.days}`), " · ", s.open_time),
    el("span", { class: "muted" }, s.next_open_at ? t("rounds.schedules.next", { time: formatDateTime(s.next_open_at) }) : t("rounds.schedules.stopped")),
    s.next_open_at ? el("button", { type: "button", onclick: () => stop(s.id).catch(report) }, t("rounds.schedules.stop")) : null)));
  show($("schedules-card"), schedules.length > 0);
}

async function stop(id) {
  await api(orgUrl(`/forms/${formId}/schedules/${id}`), { method: "DELETE" });
  await loadSchedules();
}

async function loadRounds(fresh) {
  if (fresh) state.before = null;
  const page = await api(orgUrl(`/forms/${formId}/rounds${state.before ? `?before=${state.before}` : ""}`));
  const rows = page.items.map((r) => el("li", { class: "row" },
    el("a", { href: `/rounds/${r.id}` }, formatDateTime(r.opens_at)),
    el("span", { class: "muted" }, t(`rounds.list.${r.state}`)),
    el("span", { class: "muted" }, t("rounds.list.expected", { count: r.expected, n: formatNumber(r.expected) }))));
  if (fresh) $("rounds").replaceChildren(...rows);
  else $("rounds").append(...rows);
  state.before = page.next_before;
  show($("rounds-more"), page.next_before !== null);
  show($("rounds-card"), $("rounds").children.length > 0);
}

async function loadCalendar() {
  const days = await api(orgUrl(`/calendar?year=${state.year}`));
  $("calendar-days").replaceChildren(...days.map((d) => el("li", { class: "row" },
    el("span", {}, formatDate(`${d.day}T12:00:00Z`)),
    el("span", { class: d.kind === "off" ? "abnormal" : "" }, t(`rounds.calendar.${d.kind}`)),
    el("span", { class: "muted" }, d.name),
    el("button", { type: "button", onclick: () => setDay(d.day, null, "").catch(report) }, t("rounds.calendar.remove")))));
}

async function setDay(day, kind, name) {
  if (!day) return;
  await api(orgUrl("/calendar"), { method: "PUT", body: { days: [{ day, kind, name }] } });
  await Promise.all([loadCalendar(), loadSchedules()]);
}
