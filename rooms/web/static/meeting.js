// The meeting page: join by link (as yourself or as a guest), wait in the
// lobby, then send camera and microphone to the SFU and show what it sends
// back, over one RTCPeerConnection negotiated with meeting.* frames on the
// device WebSocket.
//
// The SFU sends media on "slots": receive m-lines offered once at the start
// whose source it switches by itself (docs/rooms-media.md). The camera m-line
// is also slot 0, the stage, which shows the active speaker. A screen share is
// a new sendonly m-line, so sharing renegotiates; the other side already has
// a screen slot and needs no new offer. Strings from the server only ever
// become text nodes (dom.js).
//
// The camera goes out as simulcast: three layers (RIDs q, h, f at a quarter,
// half and full size). The page tells the SFU how large it shows each slot
// (meeting.tiles, in device pixels, whenever a tile's size changes), and the
// SFU forwards each slot the layer that fits it and this device's bandwidth.
//
// Hosts and co-hosts also get the host controls (mute, stop video, remove a
// participant; mute all, lock, record, end; admit or deny in the lobby): each
// is one meeting.* frame, and the server checks the role again.
//
// A clinic's patient page joins for the patient and hands the answer over
// (sessionStorage), so the patient goes straight in.
//
// The page mounts the navigation shell for people (a guest gets the guest bar
// once they joined; before that, only the language switch) and speaks over the
// one WebSocket client (live.js). Every text comes from the catalogues
// (rooms/web/static/i18n); the server's reasons it knows are translated by key.
// On a phone the grid is one column under the speaker's stage and the controls
// stay at the bottom of the screen, in reach of a thumb.

import { ApiError, api, saveToken, savedToken, signOut } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { connectLive } from "/static/live.js";
import { languageSelect, mountShell, showLive } from "/static/shell.js";

const VIDEO_SLOTS = 6; // the stage and five more camera tiles
const AUDIO_SLOTS = 3; // the SFU forwards the three loudest others
// The camera's simulcast layers, low to high (the SFU takes them in this order). Chromium sends three layers
// only from 960x540 up (two at 640x360), hence a 720p camera: 320x180, 640x360 and 1280x720.
const CAMERA = { width: 1280, height: 720 };
const CAMERA_LAYERS = [{ rid: "q", scaleResolutionDownBy: 4 }, { rid: "h", scaleResolutionDownBy: 2 }, { rid: "f" }];
const MAX_TILE_PIXELS = 8192; // what meeting.tiles takes (rooms/meetings/live.py)
const HANDOVER_KEY = "muster.meeting-join"; // a join answer another page made for this meeting (consult.js)
const linkToken = decodeURIComponent(location.pathname.split("/").pop() || "");
const $ = (id) => document.getElementById(id);

const state = {
  signedIn: false, // a session of a member of some organisation (not a guest) on this device
  ticket: null,
  iceServers: [],
  live: null, // the connection from live.js
  me: null, // my seat id
  role: null, // host | cohost | member | guest
  locked: false,
  recording: false,
  people: new Map(), // seat id -> {id, name, role, audio, video, screen, hand}
  speaker: null, // the latest dominant speaker
  staged: null, // the latest dominant speaker other than me: who the stage shows
  layout: {}, // video slot mid -> the participant the SFU shows on it (meeting.layout)
  stream: null, // camera and microphone
  pc: null,
  audio: null, // my sending transceivers
  camera: null,
  screenSlot: null, // the receive m-line for others' screen shares
  screenShare: null, // my screen-share transceiver while sharing
  offerSent: false,
  pendingCandidates: [],
  answers: new Map(), // ref -> resolve
  nextRef: 1,
  negotiation: Promise.resolve(),
  left: false,
  tiles: "", // the last meeting.tiles sent, as JSON
  tilesTimer: null,
  returnPath: null, // the page that handed the join over, where joining again starts
};

// --- joining ---------------------------------------------------------------------

async function prepareJoinForm() {
  $("join-form").addEventListener("submit", onJoinSubmit);
  if (!savedToken()) {
    $("shell").classList.add("shell");
    $("shell").replaceChildren(el("div", { class: "shell-bar" }, el("span", { class: "brand" }, t("shell.brand")), el("span", { class: "spacer" }), languageSelect({ signedIn: false })));
    return;
  }
  const { me } = await mountShell({ active: "meetings" });
  const joined = handedOver();
  if (joined) return enter(joined);
  state.signedIn = me.kind !== "guest";
  $("join-as").textContent = t(state.signedIn ? "meeting.join.as_account" : "meeting.join.as_guest_again", { name: me.name });
  showNameField(false);
}

/** What a page that already joined for this person (a clinic's patient page) handed over for this meeting: no form to fill. */
function handedOver() {
  const saved = JSON.parse(sessionStorage.getItem(HANDOVER_KEY) || "null");
  sessionStorage.removeItem(HANDOVER_KEY);
  return saved && saved.link_path === location.pathname ? saved : null;
}

function showNameField(visible) {
  show($("display-name").previousElementSibling, visible);
  show($("display-name"), visible);
}

async function onJoinSubmit(event) {
  event.preventDefault();
  showMessage($("join-error"), "");
  const body = { link_token: linkToken };
  const name = $("display-name").value.trim();
  const passcode = $("passcode").value;
  if (name) body.display_name = name;
  if (passcode) body.passcode = passcode;
  if (!$("display-name").hidden && !name) {
    showMessage($("join-error"), t("meeting.join.missing_name"));
    return;
  }
  $("join-submit").disabled = true;
  try {
    if (name && savedToken()) await signOut(); // someone from another organisation joins as a guest, like /join
    const joined = await api("/api/v1/meetings/join", { method: "POST", body, auth: Boolean(savedToken()) });
    if (joined.token) {
      saveToken(joined.token);
      await mountShell({ active: "meetings" }); // the guest bar
    }
    enter(joined);
  } catch (error) {
    // Someone signed in to another organisation joins as a guest, so needs a name after all.
    if (error instanceof ApiError && error.field === "display_name") {
      $("join-as").textContent = t("meeting.join.not_in_org");
      showNameField(true);
    }
    showMessage($("join-error"), error instanceof ApiError ? error.message : String(error));
  } finally {
    $("join-submit").disabled = false;
  }
}

/** Into the meeting with the join's answer (its ticket, from POST /api/v1/meetings/join or handed over). */
function enter(joined) {
  state.returnPath = joined.return_path || null;
  state.ticket = joined.ticket;
  state.meetingId = joined.meeting_id;
  state.iceServers = joined.ice_servers;
  $("meeting-title").textContent = joined.title;
  document.title = t("meeting.title_of", { title: joined.title });
  connect();
}

function connect() {
  // ?meeting= lets nginx send every socket of one meeting to the node that hosts it (deploy/nginx.conf).
  state.live = connectLive({
    params: { meeting: state.meetingId },
    onReady: () => {
      showLive(true);
      send({ type: "meeting.join", ticket: state.ticket });
    },
    onFrame: (frame) => onFrame(frame).catch(showError),
    onResync: () => {}, // the meeting's state comes in meeting frames, not the person's events: nothing to reload
    onClose: () => {
      showLive(false);
      // A seat does not survive its socket: joining again needs a new ticket, so no silent reconnect.
      if (!state.left) leave(t("meeting.left.disconnected"), t("meeting.left.connection_lost"), { closeSocket: true, rejoin: true });
    },
  });
}

function send(frame) {
  if (state.live) state.live.send(frame);
}

function setPhase(phase) {
  document.body.dataset.meeting = phase;
  show($("join"), phase === "start");
  show($("lobby"), phase === "lobby");
  show($("room"), phase === "joined");
  show($("left"), phase === "left");
}

// --- frames from the server -----------------------------------------------------

async function onFrame(frame) {
  switch (frame.type) {
    case "meeting.lobby":
      setPhase("lobby");
      break;
    case "meeting.joined":
      state.me = frame.you.id;
      state.role = frame.you.role;
      state.locked = frame.locked;
      state.recording = frame.recording;
      for (const person of frame.participants) state.people.set(person.id, person);
      for (const person of frame.waiting || []) addWaiting(person);
      if (frame.ice_servers) state.iceServers = frame.ice_servers;
      setPhase("joined");
      renderPeople();
      renderMeeting();
      await startMedia();
      break;
    case "meeting.answer": {
      const resolve = state.answers.get(frame.ref);
      state.answers.delete(frame.ref);
      if (resolve) resolve(frame.sdp);
      break;
    }
    case "meeting.participant_joined":
      state.people.set(frame.participant.id, frame.participant);
      removeWaiting(frame.participant.id);
      renderPeople();
      break;
    case "meeting.participant_left": {
      const person = state.people.get(frame.participant);
      state.people.delete(frame.participant);
      removeWaiting(frame.participant);
      if (state.staged === frame.participant) state.staged = null;
      if (person) addNote(t(`meeting.note.${LEFT_REASONS[frame.reason] || "left"}`, { name: person.name }));
      renderPeople();
      renderScreen();
      break;
    }
    case "meeting.state": {
      const { type, participant, ...flags } = frame;
      const person = state.people.get(participant);
      if (person) Object.assign(person, flags);
      renderPeople();
      renderScreen();
      break;
    }
    case "meeting.layout":
      state.layout = frame.slots;
      renderSpeaker();
      break;
    case "meeting.speaker":
      state.speaker = frame.participant;
      if (frame.participant && frame.participant !== state.me) state.staged = frame.participant;
      renderSpeaker();
      break;
    case "meeting.chat":
      addChat(frame.name, frame.text);
      break;
    case "meeting.waiting":
      addWaiting(frame.participant);
      break;
    case "meeting.muted_by_host":
      setSending("audio", false);
      showNotice(t("meeting.notice.muted_by_host"));
      break;
    case "meeting.video_stopped_by_host":
      setSending("video", false);
      showNotice(t("meeting.notice.video_stopped_by_host"));
      break;
    case "meeting.role": {
      const person = state.people.get(frame.participant);
      if (person) person.role = frame.role;
      if (frame.participant === state.me) state.role = frame.role;
      renderPeople();
      renderMeeting();
      break;
    }
    case "meeting.settings":
      state.locked = frame.locked;
      renderMeeting();
      break;
    case "meeting.recording":
      state.recording = frame.recording;
      if (frame.error) showError(t("meeting.recording_stopped", { reason: frame.error }));
      else if (frame.stopped) showNotice(t("meeting.recording_stopped", { reason: frame.stopped }));
      renderMeeting();
      break;
    case "meeting.ended":
      leave(t("meeting.left.ended"), reason(frame.reason));
      break;
    case "meeting.removed":
      leave(t("meeting.left.removed"), t("meeting.left.removed_reason"));
      break;
    case "meeting.replaced": // this device opened the meeting again elsewhere (another tab): that one has the seat now
      leave(t("meeting.left.replaced"), reason(frame.reason), { closeSocket: true });
      break;
    case "meeting.denied":
      leave(t("meeting.left.denied"), reason(frame.reason));
      break;
    case "error":
      if (frame.ref && state.answers.has(frame.ref)) {
        state.answers.get(frame.ref)(null);
        state.answers.delete(frame.ref);
      }
      if (frame.error.code === "media_failed") leave(t("meeting.left.disconnected"), t("meeting.left.media_failed"), { closeSocket: true, rejoin: true }); // the server let my seat go
      // Its node died and its lease has not run out yet (MUSTER_ROOMS_HOSTING_LEASE_S): a later join takes it over.
      else if (frame.error.code === "wrong_node") leave(t("meeting.left.moving"), t("meeting.left.moving_reason"), { closeSocket: true, rejoin: true });
      else showError(frame.error.message);
      break;
    default:
      break;
  }
}

// --- media ----------------------------------------------------------------------

async function startMedia() {
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: CAMERA });
  } catch (error) {
    showError(t("meeting.no_devices", { error: error.name }));
  }
  const mic = state.stream && state.stream.getAudioTracks()[0];
  const cam = state.stream && state.stream.getVideoTracks()[0];
  const pc = (state.pc = new RTCPeerConnection({ iceServers: state.iceServers, bundlePolicy: "max-bundle" }));
  state.audio = pc.addTransceiver(mic || "audio", { direction: mic ? "sendrecv" : "recvonly" });
  state.camera = pc.addTransceiver(cam || "video", cam ? { direction: "sendrecv", sendEncodings: CAMERA_LAYERS } : { direction: "recvonly" });
  const tiles = [tile(state.camera, "stage")];
  for (let i = 1; i < VIDEO_SLOTS; i += 1) tiles.push(tile(pc.addTransceiver("video", { direction: "recvonly" }), "slot"));
  for (let i = 1; i < AUDIO_SLOTS; i += 1) pc.addTransceiver("audio", { direction: "recvonly" });
  state.screenSlot = pc.addTransceiver("video", { direction: "recvonly" });
  if (cam) tiles.push(selfTile(cam));
  $("grid").replaceChildren(...tiles);
  tileSizes.observe($("screen-video"));
  renderSpeaker(); // the stage's name
  pc.ontrack = onTrack;
  pc.onicecandidate = (event) => {
    const candidate = event.candidate && event.candidate.candidate ? event.candidate.candidate : null;
    if (state.offerSent) send({ type: "meeting.ice", candidate });
    else state.pendingCandidates.push(candidate);
  };
  pc.onconnectionstatechange = () => {
    $("media-state").textContent = t(`meeting.media.${pc.connectionState}`);
    document.body.dataset.media = pc.connectionState;
  };
  await negotiate();
}

/** Offer the current transceivers and apply the SFU's answer; one negotiation at a time. */
function negotiate() {
  const next = state.negotiation.then(async () => {
    const pc = state.pc;
    if (!pc || state.left) return;
    await pc.setLocalDescription(await pc.createOffer());
    const ref = state.nextRef++;
    const answered = new Promise((resolve) => state.answers.set(ref, resolve));
    const screenMids = [state.screenSlot.mid, state.screenShare && state.screenShare.mid].filter(Boolean);
    send({ type: "meeting.offer", sdp: pc.localDescription.sdp, screen_mids: screenMids, ref });
    if (!state.offerSent) {
      state.offerSent = true;
      for (const candidate of state.pendingCandidates.splice(0)) send({ type: "meeting.ice", candidate });
    }
    const sdp = await answered;
    if (sdp === null) {
      await pc.setLocalDescription({ type: "rollback" });
      return;
    }
    await pc.setRemoteDescription({ type: "answer", sdp });
    sendTiles();
  });
  state.negotiation = next.catch(showError);
  return state.negotiation;
}

/** Tell the SFU the size each slot is shown at (device pixels), if it changed: it picks simulcast layers by it. */
function sendTiles() {
  const tiles = {};
  const shown = [...$("grid").querySelectorAll(".tile.stage, .tile.slot")].map((node) => [node.transceiver, node.querySelector("video")]);
  shown.push([state.screenSlot, $("screen-video")]);
  for (const [transceiver, video] of shown) {
    if (!transceiver || !transceiver.mid) continue;
    const box = video.getBoundingClientRect();
    tiles[transceiver.mid] = [box.width, box.height].map((size) => Math.min(MAX_TILE_PIXELS, Math.round(size * devicePixelRatio)));
  }
  const text = JSON.stringify(tiles);
  if (text === state.tiles || !state.offerSent || Object.keys(tiles).length === 0) return;
  state.tiles = text;
  send({ type: "meeting.tiles", tiles });
}

const tileSizes = new ResizeObserver(() => {
  clearTimeout(state.tilesTimer);
  state.tilesTimer = setTimeout(sendTiles, 300);
});

function tile(transceiver, kind) {
  const video = el("video", { autoplay: true, playsinline: true, muted: true });
  tileSizes.observe(video);
  const node = el("div", { class: `tile ${kind} empty` }, video, el("span", { class: "tile-name" }, kind === "stage" ? t("meeting.active_speaker") : ""));
  node.transceiver = transceiver;
  return node;
}

function selfTile(track) {
  const video = el("video", { autoplay: true, playsinline: true, muted: true });
  video.srcObject = new MediaStream([track]);
  return el("div", { class: "tile self", id: "self-tile" }, video, el("span", { class: "tile-name" }, t("meeting.you")));
}

function onTrack(event) {
  const { track, transceiver } = event;
  if (track.kind === "audio") {
    const sink = el("audio", { autoplay: true });
    sink.srcObject = new MediaStream([track]);
    $("audio-sinks").append(sink);
    return;
  }
  if (transceiver === state.screenSlot) {
    $("screen-video").srcObject = new MediaStream([track]);
    return;
  }
  const node = [...$("grid").children].find((child) => child.transceiver === transceiver);
  if (!node) return;
  node.querySelector("video").srcObject = new MediaStream([track]);
  track.onunmute = () => node.classList.remove("empty");
  track.onmute = () => node.classList.add("empty");
}

// --- controls -------------------------------------------------------------------

// The server's reasons, as catalogue keys (an unknown one is shown as the server wrote it).
const LEFT_REASONS = { left: "left", "connection lost": "lost_connection", "removed by the host": "removed", "not let in": "not_let_in" };
const REASONS = {
  "the host ended the meeting": "meeting.reason.host_ended",
  "the server is shutting down": "meeting.reason.shutdown",
  "this device joined again from another connection": "meeting.reason.replaced",
  "the host did not let you in": "meeting.reason.denied",
  "removed from the organisation": "meeting.reason.left_org",
};
const TOGGLES = { audio: ["toggle-audio", "meeting.control.mute", "meeting.control.unmute"], video: ["toggle-video", "meeting.control.stop_camera", "meeting.control.start_camera"] };

/** Send or pause my microphone ("audio") or camera ("video"), and tell the others. */
function setSending(kind, on) {
  const track = state.stream && state.stream.getTracks().find((t) => t.kind === kind);
  if (track) track.enabled = on;
  const [id, onLabel, offLabel] = TOGGLES[kind];
  $(id).textContent = t(on ? onLabel : offLabel);
  $(id).setAttribute("aria-pressed", String(!on));
  send({ type: "meeting.state", [kind]: on });
}

async function startScreenShare() {
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  } catch (error) {
    showError(t("meeting.share_failed", { error: error.name }));
    return;
  }
  const track = stream.getVideoTracks()[0];
  track.onended = () => stopScreenShare();
  state.screenShare = state.pc.addTransceiver(track, { direction: "sendonly" });
  $("toggle-screen").textContent = t("meeting.control.stop_sharing");
  $("toggle-screen").setAttribute("aria-pressed", "true");
  await negotiate();
  send({ type: "meeting.state", screen: true });
}

async function stopScreenShare() {
  const share = state.screenShare;
  if (!share) return;
  state.screenShare = null;
  if (share.sender.track) share.sender.track.stop();
  share.stop();
  $("toggle-screen").textContent = t("meeting.control.share_screen");
  $("toggle-screen").setAttribute("aria-pressed", "false");
  await negotiate();
  send({ type: "meeting.state", screen: false });
}

function me() {
  return state.people.get(state.me) || {};
}

function isHost() {
  return state.role === "host" || state.role === "cohost";
}

function bindControls() {
  $("toggle-audio").addEventListener("click", () => {
    showNotice("");
    setSending("audio", me().audio === false);
  });
  $("toggle-video").addEventListener("click", () => {
    showNotice("");
    setSending("video", me().video === false);
  });
  $("toggle-screen").addEventListener("click", () => (state.screenShare ? stopScreenShare() : startScreenShare()));
  $("toggle-hand").addEventListener("click", () => {
    const raised = !me().hand;
    $("toggle-hand").textContent = t(raised ? "meeting.control.lower_hand" : "meeting.control.raise_hand");
    $("toggle-hand").setAttribute("aria-pressed", String(raised));
    send({ type: "meeting.state", hand: raised });
  });
  $("leave").addEventListener("click", () => {
    send({ type: "meeting.leave" });
    leave(t("meeting.left.title"), "", { closeSocket: true, rejoin: true });
  });
  // Joining again is where the join came from: this page's form, or the page that handed the join over (a patient's queue page).
  $("rejoin").addEventListener("click", () => (state.returnPath ? location.assign(state.returnPath) : location.reload()));
  $("mute-all").addEventListener("click", () => send({ type: "meeting.mute" }));
  $("toggle-lock").addEventListener("click", () => send({ type: "meeting.lock", locked: !state.locked }));
  $("toggle-record").addEventListener("click", () => send({ type: "meeting.record", recording: !state.recording }));
  $("end-meeting").addEventListener("click", (event) => {
    // Two clicks, so that one slip does not end everyone's meeting.
    const button = event.currentTarget;
    if (button.dataset.confirm) {
      send({ type: "meeting.end" });
      return;
    }
    button.dataset.confirm = "1";
    button.textContent = t("meeting.host.end_confirm");
    setTimeout(() => {
      delete button.dataset.confirm;
      button.textContent = t("meeting.host.end");
    }, 5000);
  });
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("chat-text").value.trim();
    if (!text) return;
    send({ type: "meeting.chat", text });
    $("chat-text").value = "";
  });
}

/** Out of the meeting: say why, and offer to join again unless the host ended it or kept me out. */
function leave(title, reason, { closeSocket = false, rejoin = false } = {}) {
  if (state.left) return;
  state.left = true;
  if (state.pc) state.pc.close();
  if (state.stream) state.stream.getTracks().forEach((track) => track.stop());
  if (state.screenShare && state.screenShare.sender.track) state.screenShare.sender.track.stop();
  if (closeSocket && state.live) state.live.close();
  $("left-title").textContent = title;
  $("left-reason").textContent = reason || "";
  show($("rejoin"), rejoin);
  showNotice("");
  setPhase("left");
}

// --- rendering ------------------------------------------------------------------

function renderPeople() {
  const people = [...state.people.values()];
  $("people").replaceChildren(
    ...people.map((person) => {
      const flags = [person.audio === false ? "muted" : null, person.video === false ? "camera_off" : null, person.screen ? "sharing" : null, person.hand ? "hand_up" : null]
        .filter(Boolean).map((flag) => t(`meeting.flag.${flag}`));
      return el(
        "li",
        { dataset: { participant: person.id } },
        el(
          "span",
          { class: "person" },
          el("span", { class: "who" }, person.id === state.me ? t("meeting.you_named", { name: person.name }) : person.name),
          el("span", { class: "flags" }, flags.join(" · ")),
        ),
        hostActions(person),
      );
    }),
  );
  renderSpeaker();
}

/** Who speaks, and so whom the stage shows; the list's buttons are not rebuilt, so a click on them is never lost. */
function renderSpeaker() {
  for (const item of $("people").children) item.classList.toggle("speaking", item.dataset.participant === state.speaker);
  for (const tile of $("grid").querySelectorAll(".tile.stage, .tile.slot")) {
    const shown = tile.transceiver.mid && state.people.get(state.layout[tile.transceiver.mid]);
    tile.querySelector(".tile-name").textContent = shown ? shown.name : tile.classList.contains("stage") ? stageName() : "";
  }
  const stage = $("grid").querySelector(".tile.stage");
  if (stage) stage.classList.toggle("speaking", Boolean(state.speaker && state.speaker !== state.me));
}

/** Whom the stage shows before the SFU's first meeting.layout: the latest other speaker, or the only other person. */
function stageName() {
  const others = [...state.people.values()].filter((person) => person.id !== state.me);
  const staged = state.people.get(state.staged) || (others.length === 1 ? others[0] : null);
  return staged ? staged.name : t("meeting.active_speaker");
}

/** A host's buttons for one other participant (none for myself, none for the host when I am a co-host). */
function hostActions(person) {
  if (!isHost() || person.id === state.me) return null;
  const command = (type) => () => send({ type, participant: person.id });
  const button = (key, type) => el("button", { type: "button", "aria-label": t(`meeting.person.${key}_named`, { name: person.name }), onclick: command(type) }, t(`meeting.person.${key}`));
  return el(
    "span",
    { class: "actions" },
    person.audio !== false ? button("mute", "meeting.mute") : null,
    person.video !== false ? button("stop_video", "meeting.stop_video") : null,
    person.role === "member" ? button("make_cohost", "meeting.cohost") : null,
    person.role !== "host" || state.role === "host" ? button("remove", "meeting.remove") : null,
  );
}

/** The meeting's flags for everyone, and the host controls for hosts. */
function renderMeeting() {
  show($("lock-state"), state.locked);
  show($("recording-state"), state.recording);
  show($("host-controls"), isHost());
  $("toggle-lock").textContent = t(state.locked ? "meeting.host.unlock" : "meeting.host.lock");
  $("toggle-lock").setAttribute("aria-pressed", String(state.locked));
  $("toggle-record").textContent = t(state.recording ? "meeting.host.stop_recording" : "meeting.host.record");
  $("toggle-record").setAttribute("aria-pressed", String(state.recording));
  if (!isHost()) $("waiting").replaceChildren();
  show($("waiting-box"), isHost() && $("waiting").children.length > 0);
}

function renderScreen() {
  const sharer = [...state.people.values()].find((person) => person.screen && person.id !== state.me);
  show($("screen-tile"), Boolean(sharer));
  $("screen-label").textContent = sharer ? t("meeting.sharing", { name: sharer.name }) : "";
}

function addChat(name, text) {
  const list = $("chat");
  list.append(el("li", {}, el("span", { class: "sender" }, name), el("span", {}, text)));
  list.scrollTop = list.scrollHeight;
}

/** A line in the chat from the meeting itself (someone left, was removed, lost their connection). */
function addNote(text) {
  const list = $("chat");
  list.append(el("li", { class: "note muted" }, text));
  list.scrollTop = list.scrollHeight;
}

function addWaiting(person) {
  removeWaiting(person.id);
  $("waiting").append(
    el(
      "li",
      { dataset: { participant: person.id } },
      el("span", {}, person.name),
      el(
        "span",
        { class: "actions" },
        el("button", { type: "button", "aria-label": t("meeting.lobby.admit_named", { name: person.name }), onclick: () => send({ type: "meeting.admit", participant: person.id }) }, t("meeting.lobby.admit")),
        el("button", { type: "button", "aria-label": t("meeting.lobby.deny_named", { name: person.name }), onclick: () => send({ type: "meeting.deny", participant: person.id }) }, t("meeting.lobby.deny")),
      ),
    ),
  );
  show($("waiting-box"), true);
}

function removeWaiting(id) {
  const item = $("waiting").querySelector(`li[data-participant="${CSS.escape(id)}"]`);
  if (item) item.remove();
  show($("waiting-box"), $("waiting").children.length > 0);
}

function showError(error) {
  showMessage($("page-error"), error instanceof Error ? error.message : String(error));
}

function showNotice(text) {
  showMessage($("notice"), text);
}

/** A reason the server gave, in the reader's language when the page knows it. */
function reason(text) {
  if (!text) return "";
  return REASONS[text] ? t(REASONS[text]) : `${text[0].toUpperCase()}${text.slice(1)}.`;
}

bindControls();
prepareJoinForm().catch(showError);
