// The patient's page at a clinic's link: name and phone, the code sent by SMS,
// then the place in the queue, kept live over the device WebSocket: the
// position and expected wait (consultation.queue), "the doctor calls you"
// (consultation.called), the end (consultation.ended). The socket sends
// consultation.here each time it connects, which keeps the place while the
// connection comes and goes (within the grace period the page names).
// Joining hands the meeting's ticket to the meeting page (meeting.js), whose
// media code runs the call. Strings from the server only ever become text.

import { ApiError, api, forgetToken, saveToken, savedToken } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { connectLive } from "/static/live.js";
import { languageSelect } from "/static/shell.js";

const PLACE_KEY = "muster.consultation"; // {link, org_id, id}: the place this device holds, to come back to after a reload
const HANDOVER_KEY = "muster.meeting-join"; // read by meeting.js
const linkToken = decodeURIComponent(location.pathname.split("/").pop() || "");
const LINK = "/api/v1/clinic-links";
const $ = (id) => document.getElementById(id);
let place = null;
let live = null;

function setPhase(phase) {
  document.body.dataset.consult = phase;
  show($("phone-form"), phase === "start");
  show($("code-form"), phase === "code");
  show($("waiting"), phase === "waiting");
  show($("called"), phase === "called");
  show($("over"), phase === "over");
}

function error(message) {
  showMessage($("form-error"), message);
}

function own() {
  return `/api/v1/orgs/${place.org_id}/consultations/${place.id}/patient`;
}

async function start() {
  $("shell").classList.add("shell");
  $("shell").replaceChildren(el("div", { class: "shell-bar" }, el("span", { class: "brand" }, t("shell.brand")), el("span", { class: "spacer" }), languageSelect({ signedIn: false })));
  $("start-again").href = location.pathname;
  const clinic = await api(`${LINK}/clinic`, { method: "POST", body: { link_token: linkToken }, auth: false });
  $("clinic-name").textContent = clinic.name;
  document.title = t("consult.title_of", { clinic: clinic.name });
  const saved = JSON.parse(localStorage.getItem(PLACE_KEY) || "null");
  if (saved && saved.link === linkToken && savedToken()) {
    place = saved;
    await follow();
  } else {
    setPhase("start");
  }
}

async function onPhone(event) {
  event.preventDefault();
  error("");
  if (!$("patient-name").value.trim() || !$("patient-phone").value.trim()) return error(t("consult.missing"));
  try {
    await api(`${LINK}/code`, { method: "POST", body: { link_token: linkToken, phone: $("patient-phone").value }, auth: false });
    setPhase("code");
    $("patient-code").focus();
  } catch (e) {
    error(e instanceof ApiError ? e.message : String(e));
  }
}

async function onCode(event) {
  event.preventDefault();
  error("");
  try {
    const queued = await api(`${LINK}/queue`, {
      method: "POST", auth: false,
      body: { link_token: linkToken, phone: $("patient-phone").value, code: $("patient-code").value, name: $("patient-name").value.trim() },
    });
    saveToken(queued.token);
    place = { link: linkToken, org_id: queued.consultation.org_id, id: queued.consultation.id };
    localStorage.setItem(PLACE_KEY, JSON.stringify(place));
    render(queued.consultation);
    await follow();
  } catch (e) {
    error(e instanceof ApiError ? e.message : String(e));
  }
}

/** Keep the place live: the socket says this page is here, and the events move it. */
async function follow() {
  if (live) return;
  live = connectLive({
    onReady: () => {
      live.send({ type: "consultation.here" });
      refresh();
    },
    onEvent: (name, data) => {
      if (name === "consultation.queue") showPlace(data.position, data.wait_s);
      else if (name === "consultation.called") setPhase("called");
      else if (name === "consultation.ended") over(data.status);
    },
  });
}

async function refresh() {
  try {
    render(await api(own()));
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 404)) over("ended");
    else error(String(e.message || e));
  }
}

function render(view) {
  $("keep-open").textContent = t("consult.keep_open", { minutes: Math.max(1, Math.round(view.grace_s / 60)) });
  if (view.status === "waiting") showPlace(view.position, view.wait_s);
  else if (view.status === "called" || view.status === "started") setPhase("called");
  else over(view.status);
}

function showPlace(position, waitS) {
  $("position").textContent = t("consult.position", { position });
  $("wait").textContent = t("consult.wait", { minutes: Math.max(1, Math.round(waitS / 60)) });
  setPhase("waiting");
}

/** The place is gone (ended, lapsed, left): this device forgets it and its session. */
function over(status) {
  $("over-reason").textContent = t(`consult.over.${["lapsed", "left"].includes(status) ? status : "ended"}`);
  localStorage.removeItem(PLACE_KEY);
  forgetToken(); // the session ends with the place (or is of no more use)
  if (live) live.close();
  live = null;
  setPhase("over");
}

async function joinCall() {
  error("");
  try {
    const joined = await api(`${own()}/join`, { method: "POST" });
    sessionStorage.setItem(HANDOVER_KEY, JSON.stringify({ ...joined, return_path: location.pathname }));
    location.assign(joined.link_path);
  } catch (e) {
    error(e instanceof ApiError ? e.message : String(e));
  }
}

async function leaveQueue() {
  try {
    await api(`${own()}/leave`, { method: "POST" });
  } finally {
    over("left");
  }
}

$("phone-form").addEventListener("submit", onPhone);
$("code-form").addEventListener("submit", onCode);
$("join-call").addEventListener("click", joinCall);
$("leave-queue").addEventListener("click", leaveQueue);
start().catch((e) => showMessage($("page-error"), e instanceof ApiError ? e.message : String(e)));
