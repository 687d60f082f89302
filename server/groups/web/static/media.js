// Thumbnails and voice recordings are API resources that need the bearer token: fetched once, shown from blob: URLs.

import { savedToken } from "/static/api.js";

const urls = new Map(); // API path -> Promise of a blob: URL

/** A blob: URL of what `path` answers, fetched once per page; rejects if the server refuses. */
export function blobUrl(path) {
  if (!urls.has(path)) {
    const loading = fetch(path, { headers: { Authorization: `Bearer ${savedToken()}` } }).then(async (resp) => {
      if (!resp.ok) throw new Error(String(resp.status));
      return URL.createObjectURL(await resp.blob());
    });
    loading.catch(() => urls.delete(path));
    urls.set(path, loading);
  }
  return urls.get(path);
}
