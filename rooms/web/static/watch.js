// The watch page of a livestream (/live/<id>): for the group's members, the
// organisation's admins and the stream's guests (who came by its public link).
// It shows the title and state and, while the stream is live, plays it over
// WebRTC through WHEP (POST /whep/<id> with a recvonly offer, authorised by
// this device's session). A scheduled stream starts playing when it goes live;
// an ended stream, or a person who lost access (a withdrawn public link signs
// its guests out), is said so, and the player stops. The server drops the
// viewer itself; the page notices by the connection closing and by reading the
// stream again every few seconds, and at once by the stream's events (the
// room under the player: watch-room.js). A server full of WebRTC viewers (503)
// hands the page to HLS (watch-capacity.js) or has it try again after
// Retry-After; a publisher that vanished is said so until it is back or the
// stream ends. Every text comes from the catalogues.

import { savedToken } from "/static/api.js";
import { show, showMessage } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { mountShell } from "/static/shell.js";
import { exchange, leave, loadStream, stateText, streamId, whenText } from "./livestream.js";
import { playOverHls } from "./watch-capacity.js";
import { mountWatchRoom, setWatching } from "./watch-room.js";

const POLL_MS = 5000;
const $ = (id) => document.getElementById(id);
const state = { pc: null, session: null, status: null, token: null, stream: null, retryAt: 0, paused: false, removed: false };

async function main() {
  await mountShell({ active: null });
  state.token = savedToken();
  $("unmute").addEventListener("click", () => { $("player").muted = false; show($("unmute"), false); });
  addEventListener("pagehide", () => leave(state.session, state.token));
  mountWatchRoom({
    paused: () => { state.paused = true; notice(t("live.watch.paused")); },
    resumed: () => { state.paused = false; notice(""); restart(); },
    ended: () => refresh(),
    removed: () => { state.removed = true; stop(); show($("watch"), false); showMessage($("page-error"), t("live.watch.removed")); },
  });
  await refresh();
  setInterval(refresh, POLL_MS);
}

async function refresh() {
  if (state.removed) return;
  let stream;
  try {
    stream = await loadStream();
  } catch (error) {
    stop();
    return notice(error.status === 401 ? t("live.watch.no_access") : error.message);
  }
  if (!stream) {
    stop();
    show($("watch"), false);
    return showMessage($("page-error"), state.status ? t("live.watch.no_access") : t("live.not_found"));
  }
  render(stream);
  setWatching(stream.status === "live" ? "live" : null); // attendance: the page is open on the live stream, whatever plays it
  if (stream.status === "live" && !state.pc && Date.now() >= state.retryAt) await play();
  if (stream.status !== "live") stop();
  if (stream.status === "ended") notice(t("live.watch.ended"));
  else if (stream.status === "scheduled") notice(t("live.watch.not_started"));
}

function render(stream) {
  state.stream = stream;
  state.status = stream.status;
  document.title = `${stream.title} · ${t("live.watch.title")}`;
  $("stream-title").textContent = stream.title;
  $("stream-state").textContent = stateText(stream);
  $("stream-state").dataset.state = stream.status;
  showMessage($("stream-when"), whenText(stream));
  $("studio-link").href = `/live/${stream.id}/studio`;
  show($("studio-link"), Boolean(stream.whip_url)); // only its managers are told where to publish
  show($("watch"), true);
}

async function play() {
  const pc = (state.pc = new RTCPeerConnection());
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  const media = new MediaStream();
  pc.addEventListener("track", (event) => {
    media.addTrack(event.track);
    $("player").srcObject = media;
  });
  pc.addEventListener("connectionstatechange", () => {
    if (pc === state.pc && ["failed", "closed"].includes(pc.connectionState)) {
      stop();
      refresh(); // dropped by the server: the stream ended, or this person lost access
    }
  });
  try {
    state.session = await exchange(`/whep/${streamId}`, pc, state.token);
    show($("player-box"), true);
    notice("");
  } catch (error) {
    stop();
    if (error.status === 503) return full(error.retryAfterS);
    if (error.code !== "not_live") notice(error.message);
  }
}

async function full(retryAfterS) {
  if (await playOverHls(state.stream)) {
    state.retryAt = Infinity; // HLS plays: WebRTC is not tried again
    return;
  }
  const seconds = retryAfterS || 30;
  state.retryAt = Date.now() + seconds * 1000;
  notice(t("live.watch.full", { seconds }));
  setTimeout(refresh, seconds * 1000);
}

function restart() {
  stop();
  refresh();
}

function stop() {
  if (!state.pc) return;
  leave(state.session, state.token);
  state.pc.close();
  state.pc = state.session = null;
  $("player").srcObject = null;
  show($("player-box"), false);
}

function notice(text) {
  showMessage($("stream-notice"), text);
}

main().catch((error) => showMessage($("page-error"), error.message));
