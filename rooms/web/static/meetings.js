// The meetings page: my upcoming meetings (live first, then by start, in the organisation's time
// zone), "start now", "schedule" with invitees picked from the directory, the invitees of a meeting I
// manage (added and taken off later), and the guest link to copy or scan. The list is asked again when
// the live connection says I was invited to a meeting or taken off one.

import { api, query } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { formatDateTime, t } from "/static/i18n.js";
import { connectLive } from "/static/live.js";
import { mountShell, showLive } from "/static/shell.js";
import { fromWallTime, toWallTime } from "./zonedtime.js";

const DURATIONS = [15, 30, 45, 60, 90, 120];
const $ = (id) => document.getElementById(id);
const LIST_EVENTS = new Set(["meeting.invited", "meeting.uninvited"]);
const state = { org: null, me: null, zone: undefined, invitees: new Map(), editing: null, invited: new Set() };
const orgPath = (path) => `/api/v1/orgs/${state.org.id}${path}`;
const linkPath = (meeting) => new URL(meeting.join_url).pathname;

start().catch(showError);

async function start() {
  const { me, org } = await mountShell({ active: "meetings" });
  if (!org) return;
  Object.assign(state, { me, org, zone: org.time_zone || undefined });
  prepareScheduleForm();
  show($("meetings"), true);
  await load();
  connectLive({
    onReady: () => {
      showLive(true);
      load().catch(showError);
    },
    onEvent: (type, data) => LIST_EVENTS.has(type) && data.org_id === org.id && load().catch(showError),
    onClose: () => showLive(false),
  });
}

function showError(error) {
  showMessage($("page-error"), error.message || String(error));
}

// --- my upcoming meetings --------------------------------------------------------

async function load() {
  const meetings = await api(orgPath("/meetings/upcoming"));
  $("upcoming").replaceChildren(...meetings.map(item));
  show($("no-meetings"), meetings.length === 0);
  document.body.dataset.loaded = "true";
}

function roleOf(meeting) {
  if (meeting.host_id === state.me.id) return "host";
  return meeting.cohost_ids.includes(state.me.id) ? "cohost" : "invited";
}

function mayManage(meeting) {
  return roleOf(meeting) !== "invited" || ["admin", "owner"].includes(state.org.role);
}

function item(meeting) {
  const live = meeting.status === "live";
  const role = roleOf(meeting);
  const when = live
    ? t("meetings.live_now")
    : [formatDateTime(meeting.scheduled_at), meeting.duration_min ? t("meetings.minutes", { count: meeting.duration_min }) : null].filter(Boolean).join(" · ");
  return el("li", { class: live ? "upcoming-item live" : "upcoming-item", dataset: { meeting: meeting.id, status: meeting.status } },
    el("div", { class: "upcoming-what" },
      el("span", { class: "upcoming-title" }, meeting.title),
      el("span", { class: "upcoming-when muted" }, when),
      el("span", { class: "upcoming-role muted" }, t(`meetings.role.${role}`))),
    el("div", { class: "upcoming-actions" },
      mayManage(meeting) ? el("button", { type: "button", class: "invitees-button", onclick: () => editInvitees(meeting).catch(showError) }, t("meetings.invitees.button")) : null,
      role === "invited" ? null : el("button", { type: "button", class: "guest-link-button", onclick: () => showGuestLink(meeting) }, t("meetings.guests.button")),
      el("a", { class: "button join", href: linkPath(meeting) }, live ? t("meetings.join") : t("meetings.open"))));
}

// --- start now -------------------------------------------------------------------

$("start-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("start-now").disabled = true;
  try {
    const title = $("start-title").value.trim() || t("meetings.start.default_title", { name: state.me.name });
    const meeting = await api(orgPath("/meetings"), { method: "POST", body: { title } });
    location.assign(linkPath(meeting));
  } catch (error) {
    showError(error);
    $("start-now").disabled = false;
  }
});

// --- schedule --------------------------------------------------------------------

function prepareScheduleForm() {
  $("duration").replaceChildren(...DURATIONS.map((m) => el("option", { value: m, selected: m === 60 }, t("meetings.minutes", { count: m }))));
  const nextHour = new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000);
  $("starts").value = toWallTime(nextHour, state.zone);
  $("time-zone").textContent = t("meetings.time_zone", { zone: state.zone || Intl.DateTimeFormat().resolvedOptions().timeZone });
}

/** A directory search in `input` whose results (`results`) each pick a member; `left(userId)` leaves someone out. */
function memberPicker(input, results, pick, left) {
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => search().catch(showError), 200);
  });
  async function search() {
    const q = input.value.trim();
    if (!q) return results.replaceChildren();
    const page = await api(orgPath("/members") + query({ q, limit: 8 }));
    results.replaceChildren(...page.items
      .filter((m) => !left(m.user_id))
      .map((m) => el("li", {}, el("button", { type: "button", class: "pick", onclick: () => chosen(m) }, t("meetings.invitees.add", { name: m.display_name })))));
  }
  function chosen(member) {
    input.value = "";
    results.replaceChildren();
    pick(member);
  }
}

memberPicker($("invitee-search"), $("invitee-results"), (member) => {
  state.invitees.set(member.user_id, member.display_name);
  renderInvitees();
}, (userId) => userId === state.me.id);

function renderInvitees() {
  $("invitees").replaceChildren(...[...state.invitees].map(([userId, name]) =>
    el("li", { class: "chip" }, name,
      el("button", { type: "button", "aria-label": t("meetings.invitees.remove", { name }), onclick: () => (state.invitees.delete(userId), renderInvitees()) }, "×"))));
}

$("schedule-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  showMessage($("schedule-error"), "");
  const title = $("title").value.trim();
  if (!title) return showMessage($("schedule-error"), t("meetings.schedule.missing_title"));
  if (!$("starts").value) return showMessage($("schedule-error"), t("meetings.schedule.missing_start"));
  const body = {
    title,
    scheduled_at: fromWallTime($("starts").value, state.zone),
    duration_min: Number($("duration").value),
    invitee_ids: [...state.invitees.keys()],
  };
  $("schedule").disabled = true;
  try {
    const meeting = await api(orgPath("/meetings"), { method: "POST", body });
    $("title").value = "";
    state.invitees.clear();
    renderInvitees();
    await load();
    await showGuestLink(meeting);
  } catch (error) {
    showMessage($("schedule-error"), error.message);
  } finally {
    $("schedule").disabled = false;
  }
});

// --- a meeting's invitees, changed after scheduling ------------------------------------

const invitees = (path = "") => orgPath(`/meetings/${state.editing.id}/invitees${path}`);

async function editInvitees(meeting) {
  state.editing = meeting;
  $("invitees-meeting").textContent = meeting.title;
  showMessage($("invitees-error"), "");
  renderCurrentInvitees(await api(invitees()));
  show($("invitees-panel"), true);
  $("invitees-panel").scrollIntoView({ block: "nearest" });
}

function renderCurrentInvitees(list) {
  state.invited = new Set(list.map((i) => i.user_id));
  $("current-invitees").replaceChildren(...list.map(({ user_id: userId, display_name: name }) =>
    el("li", { class: "chip", dataset: { userId } }, name,
      el("button", { type: "button", "aria-label": t("meetings.invitees.remove", { name }),
        onclick: () => changeInvitees(async () => (await api(invitees(`/${userId}`), { method: "DELETE" }), api(invitees()))) }, "×"))));
  show($("no-invitees"), list.length === 0);
}

/** Runs one change (the server tells whoever it concerns), then shows the invitees as they now are. */
async function changeInvitees(call) {
  showMessage($("invitees-error"), "");
  try {
    renderCurrentInvitees(await call());
  } catch (error) {
    showMessage($("invitees-error"), error.message);
  }
}

memberPicker($("add-invitee-search"), $("add-invitee-results"),
  (member) => changeInvitees(() => api(invitees(), { method: "POST", body: { user_ids: [member.user_id] } })),
  (userId) => userId === state.editing?.host_id || state.invited.has(userId));

$("invitees-done").addEventListener("click", () => {
  show($("invitees-panel"), false);
  state.editing = null;
});

// --- the guest link --------------------------------------------------------------

async function showGuestLink(meeting) {
  const qr = await api(orgPath(`/meetings/${meeting.id}/join-qr`));
  $("guest-meeting").textContent = meeting.title;
  $("guest-url").value = qr.join_url;
  $("guest-qr").src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(qr.svg)}`;
  $("guest-qr").alt = t("meetings.guests.qr");
  $("copied").textContent = "";
  show($("guest-link"), true);
  $("guest-link").scrollIntoView({ block: "nearest" });
}

$("copy-link").addEventListener("click", async () => {
  $("guest-url").select();
  try {
    await navigator.clipboard.writeText($("guest-url").value);
    $("copied").textContent = t("meetings.guests.copied");
  } catch {
    $("copied").textContent = t("meetings.guests.copy_by_hand");
  }
});
