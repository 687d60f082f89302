// The studio of a livestream (/live/<id>/studio), for those who manage it (its
// host, the group's owners and admins, the organisation's admins): start and
// end it, the WHIP server and stream key for OBS (a key is shown only when it
// is made), the QR code of the members' link, the public link for outsiders,
// and "go live" from this browser: camera or screen, plus the microphone,
// published over WHIP with H.264 first (setCodecPreferences). Going live from
// the page makes a new stream key for it, so a streaming app using the old key
// stops; stopping is the WHIP DELETE, which ends the stream, as OBS's does.
// The stream's room (chat, moderation, hands, attendance) is studio-room.js.
// Every text comes from the catalogues.

import { api, savedToken } from "/static/api.js";
import { show, showMessage } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { mountShell } from "/static/shell.js";
import { exchange, leave, loadStream, stateText, streamId, whenText } from "./livestream.js";
import { mountStudioRoom } from "./studio-room.js";

const $ = (id) => document.getElementById(id);
const state = { stream: null, pc: null, media: [], session: null, key: null, link: null };
const qrSource = (svg) => `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;

async function main() {
  await mountShell({ active: null });
  const stream = await loadStream();
  if (!stream || !stream.whip_url) {
    return showMessage($("page-error"), stream ? t("live.studio.not_yours") : t("live.not_found"));
  }
  const url = `/api/v1/orgs/${stream.org_id}/streams/${stream.id}`;
  const act = (handler) => async () => {
    showMessage($("studio-error"), "");
    try {
      await handler();
    } catch (error) {
      showMessage($("studio-error"), error.message);
    }
  };
  $("watch-qr").alt = $("public-qr").alt = t("live.studio.qr_alt");
  $("start").addEventListener("click", act(async () => render(await api(`${url}/start`, { method: "POST" }))));
  $("end").addEventListener("click", act(async () => {
    if (!confirm(t("live.studio.end_confirm"))) return;
    stopSending();
    render(await api(`${url}/end`, { method: "POST" }));
  }));
  $("new-key").addEventListener("click", act(async () => showKey((await api(`${url}/stream-key`, { method: "POST" })).stream_key)));
  $("revoke-key").addEventListener("click", act(async () => {
    await api(`${url}/stream-key`, { method: "DELETE" });
    stopSending();
    showKey(null);
    render(await loadStream());
  }));
  $("show-watch-qr").addEventListener("click", act(async () => {
    $("watch-qr").src = qrSource((await api(`${url}/watch-qr`)).svg);
    show($("watch-qr"), true);
  }));
  $("allow-guests").addEventListener("change", act(async () => {
    render(await api(url, { method: "PATCH", body: { allow_guests: $("allow-guests").checked } }));
    if (!state.stream.allow_guests) showLink(null); // its links were withdrawn with it
  }));
  $("new-link").addEventListener("click", act(async () => showLink(await api(`${url}/public-links`, { method: "POST", body: {} }))));
  $("withdraw-link").addEventListener("click", act(async () => {
    await api(`${url}/public-links/${state.link.public_link_id}`, { method: "DELETE" });
    showLink(null);
  }));
  $("go-live").addEventListener("click", act(() => (state.pc ? stopSending(true) : goLive(url))));
  addEventListener("pagehide", () => leave(state.session, state.key));
  render(stream);
  show($("studio"), true);
  mountStudioRoom(url, {
    onPaused: (paused) => showMessage($("sending"), paused ? t("live.studio.paused") : state.pc ? t("live.studio.browser.sending") : ""),
    onEnded: async () => render(await loadStream()),
  });
}

function render(stream) {
  state.stream = stream;
  document.title = `${stream.title} · ${t("live.studio.title")}`;
  $("stream-title").textContent = stream.title;
  $("stream-state").textContent = stateText(stream);
  $("stream-state").dataset.state = stream.status;
  showMessage($("stream-when"), whenText(stream));
  $("watch-link").href = `/live/${stream.id}`;
  $("whip-url").value = stream.whip_url || "";
  const ended = stream.status === "ended";
  show($("start"), stream.status === "scheduled");
  show($("end"), !ended);
  for (const id of ["go-live", "new-key", "revoke-key", "allow-guests", "source"]) $(id).disabled = ended;
  $("new-link").disabled = ended || !stream.allow_guests;
  $("allow-guests").checked = stream.allow_guests;
  $("key-state").textContent = ended ? t("live.studio.obs.key_ended") : stream.has_key ? t("live.studio.obs.key_set") : t("live.studio.obs.key_none");
  $("go-live").textContent = state.pc ? t("live.studio.browser.stop") : t("live.studio.browser.go");
}

function showKey(key) {
  $("stream-key").textContent = key || "";
  show($("stream-key"), Boolean(key));
  show($("key-once"), Boolean(key));
  if (state.stream) render({ ...state.stream, has_key: Boolean(key) });
}

function showLink(link) {
  state.link = link;
  show($("public-link"), Boolean(link));
  if (!link) return;
  $("public-url").value = link.url;
  $("public-qr").src = qrSource(link.svg);
}

async function capture(source) {
  const microphone = await navigator.mediaDevices.getUserMedia({ audio: true, video: source === "camera" ? { width: 1280, height: 720 } : false });
  if (source === "camera") return [microphone];
  return [await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false }), microphone];
}

async function goLive(url) {
  state.media = await capture($("source").value);
  const video = state.media.flatMap((m) => m.getVideoTracks())[0];
  const audio = state.media.flatMap((m) => m.getAudioTracks())[0];
  $("preview").srcObject = new MediaStream([video]);
  show($("preview-box"), true);
  const pc = (state.pc = new RTCPeerConnection());
  const camera = pc.addTransceiver(video, { direction: "sendonly" });
  pc.addTransceiver(audio, { direction: "sendonly" });
  const codecs = RTCRtpSender.getCapabilities("video")?.codecs || [];
  const h264 = codecs.filter((c) => c.mimeType === "video/H264");
  if (h264.length && camera.setCodecPreferences) camera.setCodecPreferences([...h264, ...codecs.filter((c) => c.mimeType !== "video/H264")]);
  pc.addEventListener("connectionstatechange", () => {
    if (pc !== state.pc) return;
    if (pc.connectionState === "connected") showMessage($("sending"), t("live.studio.browser.sending"));
    if (["failed", "closed"].includes(pc.connectionState)) stopSending();
  });
  state.key = (await api(`${url}/stream-key`, { method: "POST" })).stream_key;
  showKey(null);
  try {
    state.session = await exchange(`/whip/${streamId}`, pc, state.key); // this origin: the page's CSP allows no other
  } catch (error) {
    stopSending();
    throw error;
  }
  render(await loadStream());
}

async function stopSending(ending = false) {
  if (!state.pc) return;
  if (ending && !confirm(t("live.studio.end_confirm"))) return;
  if (state.session) leave(state.session, state.key); // the WHIP DELETE: the stream ends
  state.pc.close();
  state.pc = state.session = null;
  for (const media of state.media) media.getTracks().forEach((track) => track.stop());
  state.media = [];
  $("preview").srcObject = null;
  show($("preview-box"), false);
  showMessage($("sending"), "");
  if (ending) setTimeout(async () => render(await loadStream()), 500);
  else if (state.stream) render(state.stream);
}

main().catch((error) => showMessage($("page-error"), error.message));
