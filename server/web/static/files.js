// Files over the API, for every page: tus 1.0 uploads with progress, and downloads that carry the bearer token.

import { savedToken } from "/static/api.js";
import { el } from "/static/dom.js";

const TUS = { "Tus-Resumable": "1.0.0" };
const b64 = (text) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));

/**
 * Uploads `file`: tus creation at `createPath` (an owner's route, e.g. a group's `/uploads`), then its bytes in one PATCH
 * (XMLHttpRequest reports upload progress, fetch does not). `onCreated(location)` hears where the upload lives (to
 * terminate it), `onProgress(percent)` how far it got; `signal` aborts it. Resolves with the upload's id, its location and
 * the id of the file it became; rejects with an Error saying why.
 */
export async function uploadFile(createPath, file, { onCreated = () => {}, onProgress = () => {}, signal } = {}) {
  const created = await fetch(createPath, {
    method: "POST",
    signal,
    headers: {
      ...TUS,
      Authorization: `Bearer ${savedToken()}`,
      "Upload-Length": String(file.size),
      "Upload-Metadata": `filename ${b64(file.name)},filetype ${b64(file.type || "application/octet-stream")}`,
    },
  });
  if (created.status !== 201) {
    const error = await created.json().catch(() => null);
    throw new Error((error && error.error && error.error.message) || `Upload refused (${created.status}).`);
  }
  const location = created.headers.get("Location");
  onCreated(location);
  onProgress(0);
  const done = await new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PATCH", location);
    xhr.setRequestHeader("Authorization", `Bearer ${savedToken()}`);
    xhr.setRequestHeader("Tus-Resumable", "1.0.0");
    xhr.setRequestHeader("Upload-Offset", "0");
    xhr.setRequestHeader("Content-Type", "application/offset+octet-stream");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress((100 * e.loaded) / e.total);
    xhr.onload = () => (xhr.status === 204 ? resolve(xhr) : reject(new Error(`Upload failed (${xhr.status}).`)));
    xhr.onerror = () => reject(new Error("The upload was interrupted; try again."));
    xhr.onabort = () => reject(new DOMException("The upload was cancelled.", "AbortError"));
    if (signal) signal.addEventListener("abort", () => xhr.abort());
    xhr.send(file);
  });
  onProgress(100);
  return { id: location.split("/").pop(), location, fileId: Number(done.getResponseHeader("Muster-File-Id")) };
}

/** tus termination: forgets an upload (and a file not attached to anything yet). */
export async function terminateUpload(location) {
  await fetch(location, { method: "DELETE", headers: { ...TUS, Authorization: `Bearer ${savedToken()}` } });
}

/** Fetches a file with the bearer token and hands it to the browser to save as `filename`; rejects with an Error saying why. */
export async function downloadFile(path, filename) {
  const resp = await fetch(path, { headers: { Authorization: `Bearer ${savedToken()}` } });
  if (!resp.ok) throw new Error(`The file could not be downloaded (${resp.status}).`);
  const url = URL.createObjectURL(await resp.blob());
  el("a", { href: url, download: filename }).click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1 << 20) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1 << 20)).toFixed(1)} MB`;
}
