// The doctors' page: the clinics the person serves (every clinic for an admin,
// with its link, QR code and the export of its consultations), the clinic's
// queue kept live (consultation.clinic events), "call the next patient", and
// the consultation on hand: its video call (the meeting page, in a tab of its
// own) and "end" with notes. Strings from the server only ever become text.

import { ApiError, api, savedToken } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { formatTime, t } from "/static/i18n.js";
import { connectLive } from "/static/live.js";
import { mountShell, showLive } from "/static/shell.js";

const $ = (id) => document.getElementById(id);
const state = { me: null, org: null, admin: false, clinics: [], clinic: null, current: null };

function fail(e) {
  showMessage($("page-error"), e instanceof ApiError ? e.message : String(e.message || e));
}

async function start() {
  const { me, org } = await mountShell({ active: "clinics" });
  state.me = me.id;
  state.org = org;
  state.admin = org.role === "admin" || org.role === "owner";
  state.clinics = await api(`/api/v1/orgs/${org.id}/clinics`);
  $("clinic").replaceChildren(...state.clinics.map((clinic) => el("option", { value: String(clinic.id) }, clinic.name)));
  show($("no-clinics"), state.clinics.length === 0);
  $("clinic").addEventListener("change", () => pick(Number($("clinic").value)).catch(fail));
  if (state.clinics.length) await pick(state.clinics[0].id);
  connectLive({
    onReady: () => {
      showLive(true);
      if (state.clinic) loadQueue().catch(fail);
    },
    onEvent: (name, data) => {
      if (name === "consultation.clinic" && state.clinic && data.clinic_id === state.clinic.id) loadQueue().catch(fail);
    },
    onClose: () => showLive(false),
  });
}

async function pick(clinicId) {
  state.clinic = state.clinics.find((clinic) => clinic.id === clinicId);
  show($("admin-box"), Boolean(state.clinic.link_url));
  if (state.clinic.link_url) {
    $("clinic-link").textContent = state.clinic.link_url;
    $("clinic-link").href = state.clinic.link_url;
    $("clinic-qr").src = URL.createObjectURL(await download("qr?format=svg"));
  }
  show($("desk"), state.clinic.doctor_ids.includes(state.me));
  await loadQueue();
}

function clinicPath(rest) {
  return `/api/v1/orgs/${state.org.id}/clinics/${state.clinic.id}/${rest}`;
}

/** An image or a file from the API (not JSON, so not through api()). */
async function download(rest) {
  const resp = await fetch(clinicPath(rest), { headers: { Authorization: `Bearer ${savedToken()}` } });
  if (!resp.ok) {
    const error = (await resp.json().catch(() => null))?.error || {};
    throw new ApiError(resp.status, error.code, error.message || t("clinics.download_failed"), error.field);
  }
  return resp.blob();
}

async function exportAs(format) {
  const link = el("a", { href: URL.createObjectURL(await download(`consultations?format=${format}`)), download: `consultations-${state.clinic.id}.${format}` });
  document.body.append(link);
  link.click();
  link.remove();
}

async function loadQueue() {
  const queue = await api(clinicPath("queue"));
  $("queue").replaceChildren(...queue.waiting.map((entry) => el(
    "li", { dataset: { consultation: String(entry.id) } },
    el("span", {}, entry.patient_name), " ",
    el("span", { class: "muted" }, t("clinics.since", { time: formatTime(entry.queued_at) })),
    entry.away ? el("span", { class: "badge queue-away" }, t("clinics.away")) : null,
  )));
  show($("queue-empty"), queue.waiting.length === 0);
  showCurrent(queue.mine);
}

function showCurrent(consultation) {
  const changed = (state.current && state.current.id) !== (consultation && consultation.id);
  state.current = consultation;
  show($("current"), Boolean(consultation));
  $("call-next").disabled = Boolean(consultation);
  if (!consultation) return;
  $("current-patient").textContent = consultation.patient_name;
  $("current-phone").textContent = consultation.patient_phone;
  $("open-call").href = consultation.meeting_path || "";
  if (changed) $("notes").value = consultation.notes || "";
}

async function callNext() {
  showMessage($("page-error"), "");
  try {
    showCurrent(await api(clinicPath("call-next"), { method: "POST" }));
  } catch (e) {
    if (e instanceof ApiError && e.code === "queue_empty") showMessage($("page-error"), t("clinics.queue_empty"));
    else fail(e);
  }
  await loadQueue();
}

async function end() {
  await api(`/api/v1/orgs/${state.org.id}/consultations/${state.current.id}/end`, { method: "POST", body: { notes: $("notes").value } });
  $("notes").value = "";
  showCurrent(null);
  await loadQueue();
}

$("call-next").addEventListener("click", () => callNext().catch(fail));
$("end").addEventListener("click", () => end().catch(fail));
$("export-csv").addEventListener("click", () => exportAs("csv").catch(fail));
$("export-xlsx").addEventListener("click", () => exportAs("xlsx").catch(fail));
start().catch(fail);
