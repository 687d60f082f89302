// Sending a form, /forms/{form_id}/rounds: once now or on a recurrence (every day or every working day at a
// local time), to everyone or to departments; its recurrences (stop one) and its rounds (open a dashboard);
// for admins, the organisation's calendar of holidays and make-up working days.
// Who answers is a kind of respondent (GET .../respondent-kinds: members, and those capabilities register, such as
// a school's children): a kind with a picker is sent to the units picked from it, a level at a time, within the
// sender's reach (GET .../audiences/units); "everyone" is offered only to who may send to the whole organisation.

import { api, query } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { formatDate, formatDateTime, formatNumber, t } from "/static/i18n.js";
import { mountShell } from "/static/shell.js";
import { idFromPath } from "./common.js";

const $ = (id) => document.getElementById(id);
const formId = idFromPath("/forms");
const state = { orgId: null, before: null, year: new Date().getFullYear(), kinds: new Map() };

start().catch((error) => showMessage($("page-error"), error.message));

async function start() {
  const { org, orgs } = await mountShell({ active: "forms" });
  if (!org || !formId) return;
  state.orgId = org.id;
  const form = await api(orgUrl(`/forms/${formId}`));
  document.title = `${form.title} · Muster`;
  $("form-title").textContent = form.title;
  $("starts-on").value = new Date().toISOString().slice(0, 10);
  const [kinds, reach, departments] = await Promise.all([api(orgUrl("/respondent-kinds")), api(orgUrl("/audiences/reach")), api(orgUrl("/departments"))]);
  drawDepartments(departments);
  state.kinds = new Map(kinds.map((k) => [k.kind, k]));
  $("respondent-kind").replaceChildren(...kinds.map((k) => el("option", { value: k.kind }, k.label)));
  show($("kind-row"), kinds.length > 1);
  show($("everyone-row"), reach.whole);
  $("respondent-kind").addEventListener("change", () => showChoice().catch(report));
  $("everyone").addEventListener("change", () => showChoice().catch(report));
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

const picker = () => state.kinds.get($("respondent-kind").value)?.picker || null;

/** The departments of the organisation (members), or the picker's units of the kind chosen, unless "everyone" is ticked. */
async function showChoice() {
  const everyone = $("everyone").checked;
  const chosen = picker();
  show($("departments"), !everyone && !chosen);
  show($("units"), !everyone && Boolean(chosen));
  show($("units-help"), !everyone && Boolean(chosen));
  if (chosen && $("units").dataset.picker !== chosen) {
    $("units").dataset.picker = chosen;
    $("units").replaceChildren(...await unitItems(chosen, null));
  }
}

async function unitItems(key, parentId) {
  const units = await api(orgUrl(`/audiences/units${query({ picker: key, parent_id: parentId })}`));
  return units.map((u) => {
    const item = el("li", { class: "unit", dataset: { unit: u.id } },
      el("label", { class: "check" }, el("input", { type: "checkbox", value: u.id }), el("span", { class: "unit-name" }, u.name),
        el("span", { class: "muted unit-kind" }, u.kind)));
    if (u.has_children) {
      const open = el("button", { type: "button", class: "unit-open" }, t("rounds.send.open_unit"));
      open.addEventListener("click", () => unitItems(key, u.id).then((under) => open.replaceWith(el("ul", { class: "unit-tree" }, under)), report));
      item.append(open);
    }
    return item;
  });
}

function audience() {
  if ($("everyone").checked) return { everyone: true };
  const picked = picker() ? $("units") : $("departments");
  return { department_ids: [...picked.querySelectorAll("input:checked")].map((i) => Number(i.value)) };
}

async function send() {
  showMessage($("send-error"), "");
  const hours = Number($("open-hours").value);
  const remind = $("remind-after").value ? Number($("remind-after").value) : null;
  if (repeat() === "once") {
    const now = Date.now();
    const body = { audience: audience(), respondent_kind: $("respondent-kind").value, closes_at: new Date(now + hours * 3600_000).toISOString(),
      remind_at: remind !== null && remind < hours * 60 ? [new Date(now + remind * 60_000).toISOString()] : [] };
    const round = await api(orgUrl(`/forms/${formId}/rounds`), { method: "POST", body });
    location.assign(`/rounds/${round.id}`);
    return;
  }
  const body = { audience: audience(), respondent_kind: $("respondent-kind").value, days: repeat(), open_time: $("open-time").value, open_minutes: hours * 60,
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
