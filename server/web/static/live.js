// The one WebSocket client of the pages: the device's live connection to /api/v1/ws.
//
// It signs in with the hello frame, resumes the person's event stream from the
// last sequence this device saw (so nothing is missed across reconnects), and
// reconnects after a second when the connection drops. body[data-live] says
// whether it is connected, for people ("connecting…") and for the page tests.
// Events are kept on the server for a while (30 days, the newest 10,000 per
// person): a device that comes back later gets a `resync` frame instead of
// the events it missed, and reloads its state (by default the whole page).

import { savedToken } from "./api.js";

const USER_SEQ_KEY = "muster.user_seq";

/**
 * Connects and keeps connected. `onReady(frame)` runs after every (re)connect once missed
 * events were replayed, so the page can catch up from the API; `onEvent(name, data)` gets
 * the person's events; `onFrame(frame)` every other frame; `onClose()` each disconnect.
 * `onResync(frame)` runs when events this device missed are no longer kept: the page must
 * reload its state from the API; the default reloads the page.
 * `params` are added to the URL (a meeting page's `meeting=ID`). Returns
 * {send(frame) → false while not connected, close()}.
 */
export function connectLive({
  params = {}, onReady = () => {}, onEvent = () => {}, onFrame = () => {}, onClose = () => {}, onResync = () => location.reload(),
} = {}) {
  const live = { ws: null, ready: false, closed: false };
  live.send = (frame) => live.ready && (live.ws.send(JSON.stringify(frame)), true);
  live.close = () => {
    live.closed = true;
    live.ws?.close();
  };
  const search = new URLSearchParams(params).toString();
  const open = () => {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/ws${search ? `?${search}` : ""}`);
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
      } else if (frame.type === "resync") {
        localStorage.setItem(USER_SEQ_KEY, String(frame.user_seq)); // the stream goes on from here: a reload does not ask again
        onResync(frame);
      } else {
        onFrame(frame);
      }
    };
    ws.onclose = () => {
      live.ready = false;
      document.body.dataset.live = "false";
      onClose();
      if (!live.closed) setTimeout(open, 1000);
    };
  };
  open();
  return live;
}
