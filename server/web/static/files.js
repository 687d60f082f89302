// Files over the API, for every page that sends or fetches one: tus 1.0 uploads that survive a page reload, and
// downloads that carry the bearer token.
//
// An upload is created at its owner's route (a group's /uploads, the broadcast attachments, ...) and sent 1 MiB at
// a time. Its URL is kept in localStorage under the file's fingerprint (where, name, size, last change), so
// picking the same file again, even after a reload, asks the server how far it got (HEAD) and sends only the rest.

import { savedToken } from "/static/api.js";
import { el } from "/static/dom.js";
import { locale, t } from "/static/i18n.js";

const KEY = "muster.uploads";
const CHUNK = 1 << 20;
const TUS = { "Tus-Resumable": "1.0.0", "Accept-Language": locale }; // the server's refusals in the page's language
const b64 = (text) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));
const auth = () => ({ Authorization: `Bearer ${savedToken()}` });

const saved = () => JSON.parse(localStorage.getItem(KEY) || "{}");
const remember = (all) => localStorage.setItem(KEY, JSON.stringify(all));
const fingerprint = (file, createPath) => `${createPath}|${file.name}|${file.size}|${file.lastModified}`;
const sending = new Set(); // fingerprints of the uploads this page is sending now

function forget(predicate) {
  remember(Object.fromEntries(Object.entries(saved()).filter((entry) => !predicate(entry))));
}

/** Uploads started at `createPath` and not finished (on this browser): [{name, size}], to ask for the files again. */
export function unfinishedUploads(createPath) {
  return Object.entries(saved())
    .filter(([key]) => key.startsWith(`${createPath}|`))
    .map(([, entry]) => ({ name: entry.name, size: entry.size }));
}

async function serverError(resp) {
  const body = await resp.json().catch(() => null);
  return new Error((body && body.error && body.error.message) || t("files.upload.refused", { status: resp.status }));
}

async function offsetOf(location) {
  const resp = await fetch(location, { method: "HEAD", headers: { ...TUS, ...auth() } });
  return resp.ok ? Number(resp.headers.get("Upload-Offset")) : null;
}

async function create(createPath, file, signal) {
  const resp = await fetch(createPath, {
    method: "POST",
    signal,
    headers: {
      ...TUS,
      ...auth(),
      "Upload-Length": String(file.size),
      "Upload-Metadata": `filename ${b64(file.name)},filetype ${b64(file.type || "application/octet-stream")}`,
    },
  });
  if (resp.status !== 201) throw await serverError(resp);
  return resp.headers.get("Location");
}

/** One PATCH of `blob` at `offset`, with progress (XMLHttpRequest reports upload progress, fetch does not). */
function patch(location, blob, offset, onSent, signal) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PATCH", location);
    for (const [name, value] of Object.entries({ ...TUS, ...auth(), "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" })) {
      xhr.setRequestHeader(name, value);
    }
    xhr.upload.onprogress = (e) => onSent(offset + e.loaded);
    xhr.onload = () => {
      if (xhr.status === 204) return resolve(xhr);
      let message = null;
      try {
        message = JSON.parse(xhr.responseText).error.message;
      } catch {}
      reject(new Error(message || t("files.upload.failed", { status: xhr.status })));
    };
    xhr.onerror = () => reject(new Error(t("files.upload.interrupted")));
    xhr.onabort = () => reject(new DOMException("aborted", "AbortError"));
    if (signal) signal.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(blob);
  });
}

/**
 * Uploads `file` to `createPath`, resuming where an earlier try of the same file stopped. `onCreated(location)` hears
 * where the upload lives (to terminate it), `onProgress(percent)` how far it got; `signal` aborts it (an AbortError).
 * Resolves with the upload's id, its location and the id of the file it became; rejects with an Error saying why.
 */
export async function uploadFile(createPath, file, { onCreated = () => {}, onProgress = () => {}, signal } = {}) {
  const key = fingerprint(file, createPath);
  if (sending.has(key)) return send(await create(createPath, file, signal), file, 0, null, onCreated, onProgress, signal); // picked twice at once
  sending.add(key);
  try {
    let location = (saved()[key] || {}).location || null;
    let offset = location ? await offsetOf(location) : null;
    if (offset === null) {
      location = await create(createPath, file, signal);
      offset = 0;
      remember({ ...saved(), [key]: { location, name: file.name, size: file.size } });
    }
    return await send(location, file, offset, key, onCreated, onProgress, signal);
  } finally {
    sending.delete(key);
  }
}

/** Sends `file` from `offset` to its upload at `location`; once done, forgets it under `key` (null: kept under none). */
async function send(location, file, offset, key, onCreated, onProgress, signal) {
  onCreated(location);
  const percent = (sent) => onProgress(file.size ? (100 * sent) / file.size : 100);
  percent(offset);
  let done = null;
  while (done === null || offset < file.size) {
    if (signal && signal.aborted) throw new DOMException("aborted", "AbortError");
    done = await patch(location, file.slice(offset, offset + CHUNK), offset, percent, signal);
    offset = Number(done.getResponseHeader("Upload-Offset"));
  }
  if (key) forget(([k]) => k === key);
  percent(file.size);
  return { id: location.split("/").pop(), location, fileId: Number(done.getResponseHeader("Muster-File-Id")) };
}

/** tus termination: forgets an upload (and a file not attached to anything yet), here and on the server. */
export async function terminateUpload(location) {
  forget(([, entry]) => entry.location === location);
  await fetch(location, { method: "DELETE", headers: { ...TUS, ...auth() } });
}

/** Fetches a file with the bearer token and hands it to the browser to save as `filename`; rejects with an Error saying why. */
export async function downloadFile(path, filename) {
  const resp = await fetch(path, { headers: auth() });
  if (!resp.ok) throw new Error(t("files.download_failed", { status: resp.status }));
  const url = URL.createObjectURL(await resp.blob());
  el("a", { href: url, download: filename }).click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1 << 20) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1 << 20)).toFixed(1)} MB`;
}
