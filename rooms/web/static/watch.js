// The watch page of a livestream (/live/<id>): for the group's members, the
// organisation's admins and the stream's guests (who came by its public link).
// It shows the title and state and, while the stream is live, plays it over
// WebRTC through WHEP (POST /whep/<id> with a recvonly offer, authorised by
// this device's session) while the server has room for WebRTC viewers; when
// WHEP answers 503, or fails, or its connection fails, it plays HLS instead
// (hls.js, vendored; Safari's own player where MSE is missing); with no HLS
// yet either, it says the stream is full and tries again after Retry-After.
// After the end it plays the replay over HLS. A scheduled stream starts
// playing when it goes live; an ended stream, or a person who lost access (a
// withdrawn public link signs its guests out), is said so, and the player
// stops. The server drops the viewer itself; the page notices by the
// connection closing and by reading the stream again every few seconds, and
// at once by the stream's events (the room under the player: watch-room.js);
// a publisher that vanished is said so until it is back or the stream ends.
// Every text comes from the catalogues.
//
// HLS URLs carry the stream's token, which rotates (rooms/live/hls.py): the
// page asks for the current one every `refresh_s` and writes it into every
// request hls.js makes, so the player keeps one source URL.

import { savedToken } from "/static/api.js";
import { show, showMessage } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { mountShell } from "/static/shell.js";
import { exchange, leave, loadHlsUrls, loadStream, stateText, streamId, whenText } from "./livestream.js";
import Hls from "./vendor/hls.light.min.mjs";
import { mountWatchRoom, setWatching } from "./watch-room.js";

const POLL_MS = 5000;
const $ = (id) => document.getElementById(id);
const state = {
  pc: null, session: null, status: null, token: null, stream: null, retryAt: 0, paused: false, removed: false,
  hls: null, hlsKind: null, hlsToken: null, hlsTimer: null, webrtcFailed: false,
};

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
  // attendance: the page is open on the live stream (whatever plays it), or plays its replay
  setWatching(stream.status === "live" ? "live" : state.hlsKind === "replay" ? "replay" : null);
  if (stream.status === "live" && !state.pc && !state.hls && Date.now() >= state.retryAt) {
    if (state.webrtcFailed) await playHls("live");
    else await play();
  }
  if (stream.status !== "live") stop();
  if (stream.status === "ended") {
    if (!state.hls && (await playHls("replay"))) notice(t("live.watch.replay"));
    else if (!state.hls) notice(t("live.watch.ended"));
  } else if (stream.status === "scheduled") notice(t("live.watch.not_started"));
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
      if (pc.connectionState === "failed") state.webrtcFailed = true; // if the stream is still live, HLS takes over
      stop();
      refresh(); // dropped by the server: the stream ended, or this person lost access
    }
  });
  try {
    state.session = await exchange(`/whep/${streamId}`, pc, state.token);
    $("player").dataset.transport = "webrtc";
    show($("player-box"), true);
    notice("");
  } catch (error) {
    stop();
    if (error.code === "not_live") return;
    state.webrtcFailed = true; // 503: WebRTC is full on this server; or WebRTC failed here
    if (!(await playHls("live")) && error.status === 503) full(error.retryAfterS);
  }
}

function full(retryAfterS) {
  const seconds = retryAfterS || 30;
  state.retryAt = Date.now() + seconds * 1000;
  notice(t("live.watch.full", { seconds }));
}

function restart() {
  stop();
  refresh();
}

/** Play the stream's live or replay playlist; false if it has none (yet). */
async function playHls(kind) {
  let urls;
  try {
    urls = await loadHlsUrls(state.token);
  } catch (error) {
    return false;
  }
  const url = urls[kind];
  if (!url) return false;
  const video = $("player");
  state.hlsToken = urls.token;
  state.hlsKind = kind;
  if (Hls.isSupported()) {
    const withToken = (address) => address.replace(/\/hls\/(\d+)\/[^/]+\//, `/hls/$1/${state.hlsToken}/`);
    const hls = (state.hls = new Hls({ enableWorker: false, xhrSetup: (xhr, address) => xhr.open("GET", withToken(address), true) }));
    hls.on(Hls.Events.ERROR, (_, data) => {
      if (data.fatal && hls === state.hls) {
        stopHls(); // live: tried again at the next refresh (the first segment may not be written yet)
        if (kind === "replay") notice(t("live.watch.player_failed"));
      }
    });
    hls.loadSource(url);
    hls.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    state.hls = { destroy() {} }; // Safari plays the playlist itself; it is reloaded with a new token at each renewal
    video.src = url;
  } else {
    notice(t("live.watch.player_failed"));
    return false;
  }
  video.dataset.transport = `hls-${kind}`;
  if (kind === "replay") setWatching("replay");
  video.play().catch(() => {});
  state.hlsTimer = setInterval(renewToken, urls.refresh_s * 1000);
  show($("player-box"), true);
  if (kind === "live") notice("");
  return true;
}

async function renewToken() {
  try {
    const urls = await loadHlsUrls(state.token);
    state.hlsToken = urls.token;
    const video = $("player");
    if (!Hls.isSupported() && urls[state.hlsKind]) video.src = urls[state.hlsKind];
  } catch (error) {
    stopHls(); // no longer allowed (404/401), or the stream is gone: the next refresh says which
    refresh();
  }
}

function stopHls() {
  if (!state.hls) return;
  clearInterval(state.hlsTimer);
  state.hls.destroy();
  state.hls = state.hlsKind = state.hlsTimer = null;
  const video = $("player");
  video.removeAttribute("src");
  video.load();
  show($("player-box"), false);
}

function stop() {
  if (state.hlsKind === "live") stopHls();
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
