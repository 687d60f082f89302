// What the watch page and the studio share: the stream of the page's URL
// (/live/<id>[/studio]), its HLS playlists, its state in words, and the one SDP exchange of WHIP
// (publish) and WHEP (watch): POST the offer, get 201 with the answer and the
// session's Location, DELETE it to leave. The offer carries every candidate
// (gathered first), so no trickle is needed on a page.

import { ApiError, savedToken } from "/static/api.js";
import { formatDateTime, locale, t } from "/static/i18n.js";

export const streamId = Number(location.pathname.split("/")[2]);

/** The stream, or null if the person may not watch it (404); a 401 means the session ended (a guest signed out). */
export async function loadStream() {
  const resp = await fetch(`/api/v1/live/${streamId}`, { headers: { Authorization: `Bearer ${savedToken()}`, "Accept-Language": locale } });
  if (resp.ok) return resp.json();
  if (resp.status === 404 || resp.status === 400) return null;
  throw await apiError(resp);
}

/** Where this person plays the stream over HLS: { live, replay, token, refresh_s } (rooms/live/hls.py); throws ApiError. */
export async function loadHlsUrls(token) {
  const resp = await fetch(`/api/v1/live/${streamId}/hls`, { headers: { Authorization: `Bearer ${token}`, "Accept-Language": locale } });
  if (resp.ok) return resp.json();
  throw await apiError(resp);
}

export function stateText(stream) {
  return t(`live.state.${stream.status}`);
}

export function whenText(stream) {
  if (stream.status === "scheduled" && stream.scheduled_at) return t("live.scheduled_for", { when: formatDateTime(stream.scheduled_at) });
  if (stream.status === "ended" && stream.ended_at) return t("live.ended_at", { when: formatDateTime(stream.ended_at) });
  return "";
}

async function apiError(resp) {
  const error = (await resp.json().catch(() => null))?.error || {};
  const thrown = new ApiError(resp.status, error.code || "http_error", error.message || t("error.http", { status: resp.status }), error.field || null);
  thrown.retryAfterS = Number(resp.headers.get("Retry-After")) || 0; // a WHEP viewer beyond capacity: 503, come back then
  return thrown;
}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, 2000); // what was gathered by then is enough for the server's addresses
  });
}

/** Offer `pc`'s m-lines to a WHIP or WHEP endpoint with `token`; answers the session's Location. */
export async function exchange(endpoint, pc, token) {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const resp = await fetch(endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/sdp", Authorization: `Bearer ${token}`, "Accept-Language": locale },
    body: pc.localDescription.sdp,
  });
  if (resp.status !== 201) throw await apiError(resp);
  const location = resp.headers.get("Location");
  await pc.setRemoteDescription({ type: "answer", sdp: await resp.text() });
  return location;
}

/** Leave a WHIP or WHEP session (kept alive while the page unloads). */
export function leave(location, token) {
  if (location) fetch(location, { method: "DELETE", keepalive: true, headers: { Authorization: `Bearer ${token}` } }).catch(() => {});
}
