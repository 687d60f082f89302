// What both notify pages need: the organisation they work in, the device WebSocket, a notice's attachments.

import { api, savedToken } from "/static/api.js";
import { el, showMessage } from "/static/dom.js";
import { downloadFile, formatSize } from "/static/files.js";

const ORG_KEY = "muster.org";
const USER_SEQ_KEY = "muster.user_seq";

/** The organisation last used on any page (else the first), named in the top bar; null, and said so, if the person is in none. */
export async function currentOrg() {
  const orgs = await api("/api/v1/orgs");
  if (!orgs.length) {
    showMessage(document.getElementById("page-error"), "You are not in an organisation yet.");
    return null;
  }
  const remembered = Number(localStorage.getItem(ORG_KEY));
  const org = orgs.find((o) => o.id === remembered) || orgs[0];
  document.getElementById("org-name").textContent = org.name;
  return org;
}

/**
 * Connects the device WebSocket and keeps it connected. `onReady` runs after every (re)connect,
 * once the missed events were replayed, so the page can catch up from the API; `onEvent` gets the
 * per-user events, `onFrame` every other frame. Returns {send(frame) → false while not connected}.
 */
export function connectLive({ onReady = () => {}, onEvent = () => {}, onFrame = () => {} }) {
  const live = { ws: null, ready: false };
  live.send = (frame) => live.ready && (live.ws.send(JSON.stringify(frame)), true);
  const open = () => {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/ws`);
    live.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "hello", token: savedToken(), user_seq: Number(localStorage.getItem(USER_SEQ_KEY)) || 0 }));
    ws.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (frame.type === "ready") {
        localStorage.setItem(USER_SEQ_KEY, String(frame.user_seq));
        live.ready = true;
        document.body.dataset.live = "true";
        onReady(frame);
      } else if (frame.type === "event") {
        localStorage.setItem(USER_SEQ_KEY, String(frame.seq));
        onEvent(frame.event, frame.data);
      } else {
        onFrame(frame);
      }
    };
    ws.onclose = () => {
      live.ready = false;
      document.body.dataset.live = "false";
      setTimeout(open, 1000);
    };
  };
  open();
  return live;
}

export const formatTime = (iso) => (iso ? new Date(iso).toLocaleString() : "");

/** A notice's attachments as list items: a link opens in a new tab, a file sent with the notice downloads with the token. */
export function attachmentItems(attachments) {
  return (attachments || []).map((a) =>
    el("li", {}, a.file_id
      ? el("a", { class: "attachment-file", href: a.url, onclick: (event) => saveFile(event, a) }, `${a.name} (${formatSize(a.size)})`)
      : el("a", { class: "attachment-link", href: a.url, target: "_blank", rel: "noopener noreferrer" }, a.name)),
  );
}

function saveFile(event, attachment) {
  event.preventDefault();
  downloadFile(attachment.url, attachment.name).catch((error) => showMessage(document.getElementById("page-error"), error.message));
}
