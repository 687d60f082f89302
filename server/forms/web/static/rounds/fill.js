// The fill page, /f/{round_id}: a respondent (or a guardian answering for a child) fills in a round's form on a phone.
//
// The form is drawn by the form engine's renderer (form-render.js, skip logic live). What is typed is kept as
// a draft on the phone at every change; a first submission goes through the offline queue (offline-queue.js):
// without a connection it waits on the phone and is sent, with the same client id, when the connection
// returns, so a retry never makes a second submission. Once stored, the answers can be edited (online) until
// the round closes, naming the revision they replace.

import { ApiError, api, savedToken } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { formatDateTime, setTimeZone, t } from "/static/i18n.js";
import { connectLive } from "/static/live.js";
import { mountShell, showLive } from "/static/shell.js";
import { renderForm, firstProblem } from "/forms/static/form-render.js";
import { clearDraft, loadDraft, newClientId, onQueueChange, pendingSubmissions, queueSubmission, saveDraft } from "/forms/static/offline-queue.js";
import { findInOrgs, idFromPath } from "./common.js";

const $ = (id) => document.getElementById(id);
const roundId = idFromPath("/f");
const state = { orgId: null, detail: null, respondent: null, form: null };

start().catch((error) => showMessage($("page-error"), error.message));

async function start() {
  // The link names the round's organisation (`?org=`): a guardian answers there without being in any organisation's list.
  const { org, orgs } = await mountShell({ active: "home", orgId: Number(new URLSearchParams(location.search).get("org")) || null });
  const found = roundId && (await findInOrgs(orgs, org, (id) => `/api/v1/orgs/${id}/rounds/${roundId}`));
  if (!found) {
    show($("nothing"), true);
    return;
  }
  [state.orgId, state.detail] = found;
  setTimeZone(state.detail.time_zone); // the round's organisation's, which the shell does not know for an outsider
  onQueueChange(queueChanged);
  connectLive({ onReady: () => showLive(true), onClose: () => showLive(false) });
  $("respondent").addEventListener("change", () => choose(Number($("respondent").value)));
  $("submit").addEventListener("click", () => submit().catch(showError));
  draw();
}

function roundUrl(tail = "") {
  return `/api/v1/orgs/${state.orgId}/rounds/${roundId}${tail}`;
}

function draw() {
  const { round, title, mine, may_follow } = state.detail;
  document.title = `${title} · Muster`;
  $("form-title").textContent = title;
  $("round-when").textContent = t(round.state === "closed" ? "rounds.fill.closed_at" : "rounds.fill.closes_at", { time: formatDateTime(round.closes_at) });
  if (may_follow) {
    $("follow").href = `/rounds/${roundId}`;
    show($("follow"), true);
  }
  if (!mine.length) {
    show($("nothing"), true);
    show($("fill-card"), may_follow);
    show($("submit"), false);
    return;
  }
  show($("fill-card"), true);
  const select = $("respondent");
  select.replaceChildren(...mine.map((m) => el("option", { value: m.respondent_id }, m.name)));
  show(select, mine.length > 1);
  show($("respondent-label"), mine.length > 1);
  choose(state.respondent && mine.some((m) => m.respondent_id === state.respondent) ? state.respondent : mine[0].respondent_id);
}

function mineOf(respondentId) {
  return state.detail.mine.find((m) => m.respondent_id === respondentId);
}

function draftKey(respondentId) {
  return `${roundId}.${respondentId}`;
}

function waiting(respondentId) {
  return pendingSubmissions().some((entry) => entry.url === roundUrl("/submissions") && entry.body.respondent_id === respondentId);
}

function choose(respondentId) {
  state.respondent = respondentId;
  $("respondent").value = String(respondentId);
  const { submission } = mineOf(respondentId);
  const open = state.detail.round.state === "open";
  const answers = loadDraft(draftKey(respondentId)) || submission?.answers || {};
  state.form = renderForm($("form-area"), state.detail.definition, {
    answers,
    onChange: (typed) => saveDraft(draftKey(respondentId), typed),
    uploadPhoto: open ? uploadPhoto : null,
    photoSource,
  });
  for (const input of $("form-area").querySelectorAll("input, select, textarea, button")) input.disabled = !open;
  showMessage($("fill-error"), "");
  describe();
}

function describe() {
  const { submission } = mineOf(state.respondent);
  const round = state.detail.round;
  const queued = waiting(state.respondent);
  let text = "";
  if (queued) text = t("rounds.fill.queued");
  else if (round.state === "scheduled") text = t("rounds.fill.not_open", { time: formatDateTime(round.opens_at) });
  else if (round.state === "closed") text = submission ? t("rounds.fill.closed_done") : t("rounds.fill.closed_missed");
  else if (submission) text = t("rounds.fill.done", { time: formatDateTime(submission.updated_at) });
  const line = $("fill-state");
  line.textContent = text;
  line.dataset.state = queued ? "queued" : submission ? "submitted" : "open";
  show(line, Boolean(text));
  show($("submit"), round.state === "open" && !queued);
  $("submit").textContent = t(submission ? "rounds.fill.save_changes" : "rounds.fill.submit");
  $("queue-state").textContent = t("rounds.fill.waiting", { count: pendingSubmissions().length });
  show($("queue-state"), pendingSubmissions().length > 0);
}

async function submit() {
  showMessage($("fill-error"), "");
  const problem = firstProblem();
  if (problem) {
    state.form.showFieldError(problem.field, problem.message);
    return;
  }
  const answers = state.form.collectAnswers();
  const respondentId = state.respondent;
  const { submission } = mineOf(respondentId);
  $("submit").disabled = true;
  try {
    if (submission) {
      const edited = await api(roundUrl(`/submissions/${submission.id}`), { method: "PUT", body: { revision: submission.revision, answers } });
      stored(respondentId, edited);
      return;
    }
    const outcome = await queueSubmission(roundUrl("/submissions"), { client_id: newClientId(), respondent_id: respondentId, answers });
    if (outcome.status === "sent") stored(respondentId, outcome.result);
    else if (outcome.status === "refused") showError(outcome.error);
    else describe();
  } catch (error) {
    if (error instanceof ApiError && error.code === "stale_revision") {
      await reload();
      showMessage($("fill-error"), error.message);
      return;
    }
    showError(error);
  } finally {
    $("submit").disabled = false;
  }
}

function stored(respondentId, submission) {
  mineOf(respondentId).submission = submission;
  clearDraft(draftKey(respondentId));
  if (respondentId === state.respondent) choose(respondentId);
}

function queueChanged(change) {
  if (change.sent?.url === roundUrl("/submissions")) stored(change.sent.body.respondent_id, change.sent.result);
  else if (change.refused?.url === roundUrl("/submissions")) {
    if (change.refused.error.code === "already_submitted") reload().catch(showError);
    else showError(change.refused.error);
  }
  if (state.detail?.mine.length) describe();
}

async function reload() {
  state.detail = await api(roundUrl());
  draw();
}

function showError(error) {
  if (error instanceof ApiError && error.field && state.form?.showFieldError(error.field, error.message)) return;
  showMessage($("fill-error"), error.message);
}

/** The thumbnail of a photo answered with, as an object URL (the files' routes let the respondent read it). */
async function photoSource(fileId) {
  const resp = await fetch(`/api/v1/orgs/${state.orgId}/files/${fileId}/thumbnail`, { headers: { Authorization: `Bearer ${savedToken()}` } });
  if (!resp.ok) throw new Error(t("rounds.fill.photo_failed"));
  return URL.createObjectURL(await resp.blob());
}

/** A photo answer: uploaded (tus) as a form photo; its file id is the answer. */
async function uploadPhoto(file) {
  const token = savedToken();
  const meta = [["filename", file.name || "photo"], ["filetype", file.type]].map(([k, v]) => `${k} ${btoa(unescape(encodeURIComponent(v)))}`).join(",");
  const created = await fetch(`/api/v1/orgs/${state.orgId}/form-photos`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Tus-Resumable": "1.0.0", "Upload-Length": String(file.size), "Upload-Metadata": meta },
  });
  if (created.status !== 201) throw new Error((await created.json().catch(() => null))?.error?.message || t("rounds.fill.photo_failed"));
  const sent = await fetch(created.headers.get("Location"), {
    method: "PATCH",
    headers: { Authorization: `Bearer ${token}`, "Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream" },
    body: file,
  });
  if (sent.status !== 204) throw new Error(t("rounds.fill.photo_failed"));
  return Number(sent.headers.get("Muster-File-Id"));
}
