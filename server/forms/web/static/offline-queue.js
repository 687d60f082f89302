// Answers typed without a connection are kept on the phone and sent when it returns.
//
//   import { newClientId, queueSubmission, flushQueue, saveDraft, loadDraft, clearDraft, onQueueChange } from "/forms/static/offline-queue.js";
//   const body = { client_id: newClientId(), answers };   // the id makes every retry the same submission
//   const outcome = await queueSubmission(url, body);     // {status: "sent", result} | {status: "queued"} | {status: "refused", error}
//
// The queue lives in localStorage ("muster.forms.queue"), so it survives closing the page, a
// reload and a restart of the phone's browser. It is sent in order, by POST through /static/api.js,
// right away, when the browser says it is online again, and when the page is opened again. An
// entry leaves the queue once the server answered it: with success, or with a refusal a retry
// cannot change (a 4xx other than 401, 408 and 429: the round closed, an answer is wrong), which
// `onQueueChange` listeners hear about. A network error or a 5xx keeps it for the next try. The
// body is sent unchanged every time, so its client-generated id makes a retry idempotent: the
// server returns the stored submission for an id it has seen with the same answers.
//
// Drafts: `saveDraft(key, answers)` on every change keeps what was typed before it is submitted.

import { ApiError, api } from "/static/api.js";

const QUEUE_KEY = "muster.forms.queue";
const DRAFT_PREFIX = "muster.forms.draft.";
const listeners = new Set();
let flushing = null;

/** A random id (RFC 4122 version 4), also on pages served without https where crypto.randomUUID is missing. */
export function newClientId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The submissions waiting to be sent, oldest first: [{key, url, body, queued_at}]. */
export function pendingSubmissions() {
  try {
    const queue = JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]");
    return Array.isArray(queue) ? queue : [];
  } catch {
    return [];
  }
}

function store(queue) {
  localStorage.setItem(QUEUE_KEY, JSON.stringify(queue));
  for (const listener of listeners) listener({ pending: queue.length });
}

/** Calls `listener({pending, sent?, refused?})` whenever the queue changes or an entry is answered. */
export function onQueueChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Keeps `body` for `url` and tries to send it now; resolves with what happened to it. */
export async function queueSubmission(url, body) {
  const key = newClientId();
  store([...pendingSubmissions(), { key, url, body, queued_at: new Date().toISOString() }]);
  const outcomes = await flushQueue();
  return outcomes.get(key) || { status: "queued" };
}

/** Sends what waits, in order, once at a time; a Map of entry key → {status: "sent"|"refused", ...} for those answered. */
export function flushQueue() {
  if (!flushing) flushing = send().finally(() => { flushing = null; });
  return flushing;
}

async function send() {
  const outcomes = new Map();
  for (const entry of pendingSubmissions()) {
    let outcome;
    try {
      outcome = { status: "sent", result: await api(entry.url, { method: "POST", body: entry.body }) };
    } catch (error) {
      const retry = !(error instanceof ApiError) || [0, 401, 408, 429].includes(error.status) || error.status >= 500;
      if (retry) break; // offline or the server is unwell: the rest wait too, to keep their order
      outcome = { status: "refused", error };
    }
    outcomes.set(entry.key, outcome);
    store(pendingSubmissions().filter((e) => e.key !== entry.key));
    for (const listener of listeners) listener({ pending: pendingSubmissions().length, [outcome.status]: { ...entry, ...outcome } });
  }
  return outcomes;
}

export function saveDraft(key, answers) {
  localStorage.setItem(DRAFT_PREFIX + key, JSON.stringify(answers));
}

export function loadDraft(key) {
  try {
    return JSON.parse(localStorage.getItem(DRAFT_PREFIX + key) || "null");
  } catch {
    return null;
  }
}

export function clearDraft(key) {
  localStorage.removeItem(DRAFT_PREFIX + key);
}

window.addEventListener("online", () => { flushQueue(); });
if (navigator.onLine && pendingSubmissions().length) flushQueue();
