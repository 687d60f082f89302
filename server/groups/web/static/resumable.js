// tus uploads that survive a page reload: the upload's URL is kept in localStorage under the file's fingerprint
// (name, size, last change), so picking the same file again asks the server how far it got (HEAD) and sends
// only the rest, a chunk at a time. (The shared /static/files.js sends a file in one go; this could move there.)

import { savedToken } from "/static/api.js";
import { locale, t } from "/static/i18n.js";

const KEY = "muster.uploads";
const CHUNK = 1 << 20;
const TUS = { "Tus-Resumable": "1.0.0", "Accept-Language": locale }; // the server's refusals in the page's language
const b64 = (text) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));

const saved = () => JSON.parse(localStorage.getItem(KEY) || "{}");
const remember = (all) => localStorage.setItem(KEY, JSON.stringify(all));
const fingerprint = (file, createPath) => `${createPath}|${file.name}|${file.size}|${file.lastModified}`;

/** Unfinished uploads started at `createPath`: [{name, size}], to ask for the file again. */
export function unfinished(createPath) {
  return Object.entries(saved())
    .filter(([key]) => key.startsWith(`${createPath}|`))
    .map(([, entry]) => entry);
}

async function serverError(resp) {
  const body = await resp.json().catch(() => null);
  return new Error((body && body.error && body.error.message) || t("groups.upload.refused", { status: resp.status }));
}

async function offsetOf(location) {
  const resp = await fetch(location, { method: "HEAD", headers: { ...TUS, Authorization: `Bearer ${savedToken()}` } });
  return resp.ok ? Number(resp.headers.get("Upload-Offset")) : null;
}

async function create(createPath, file) {
  const resp = await fetch(createPath, {
    method: "POST",
    headers: {
      ...TUS,
      Authorization: `Bearer ${savedToken()}`,
      "Upload-Length": String(file.size),
      "Upload-Metadata": `filename ${b64(file.name)},filetype ${b64(file.type || "application/octet-stream")}`,
    },
  });
  if (resp.status !== 201) throw await serverError(resp);
  return resp.headers.get("Location");
}

function patch(location, blob, offset, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PATCH", location);
    xhr.setRequestHeader("Authorization", `Bearer ${savedToken()}`);
    xhr.setRequestHeader("Tus-Resumable", "1.0.0");
    xhr.setRequestHeader("Accept-Language", locale);
    xhr.setRequestHeader("Upload-Offset", String(offset));
    xhr.setRequestHeader("Content-Type", "application/offset+octet-stream");
    xhr.upload.onprogress = (e) => onProgress(offset + e.loaded);
    xhr.onload = () => {
      if (xhr.status === 204) resolve(xhr);
      else {
        let message = null;
        try {
          message = JSON.parse(xhr.responseText).error.message;
        } catch {}
        reject(new Error(message || t("groups.upload.failed", { status: xhr.status })));
      }
    };
    xhr.onerror = () => reject(new Error(t("groups.upload.interrupted")));
    xhr.send(blob);
  });
}

/** Uploads `file` to `createPath` (a group's /uploads), resuming where an earlier try stopped; resolves when done. */
export async function sendResumable(createPath, file, onProgress = () => {}) {
  const key = fingerprint(file, createPath);
  let location = (saved()[key] || {}).location || null;
  let offset = location ? await offsetOf(location) : null;
  if (offset === null) {
    location = await create(createPath, file);
    offset = 0;
    remember({ ...saved(), [key]: { location, name: file.name, size: file.size } });
  }
  const percent = (sent) => onProgress(file.size ? (100 * sent) / file.size : 100);
  percent(offset);
  let done;
  do {
    done = await patch(location, file.slice(offset, offset + CHUNK), offset, percent);
    offset = Number(done.getResponseHeader("Upload-Offset"));
  } while (offset < file.size);
  const all = saved();
  delete all[key];
  remember(all);
  percent(file.size);
  return { location, fileId: Number(done.getResponseHeader("Muster-File-Id")) };
}
