// The room under the player of the watch page: the chat, likes, the raised
// hand and the viewer count, kept current by the stream's events (see
// stream-room.js), and the page's presence reports, which make the host's
// attendance: every few seconds while the person watches (live, over WebRTC
// or HLS, or a replay: setWatching), and once more when the page is left.
// The player's own module (watch.js) hears of a pause, a resume, the end and
// a removal through the callbacks it gives.

import { api, savedToken } from "/static/api.js";
import { show, showMessage } from "/static/dom.js";
import { formatNumber, locale, t } from "/static/i18n.js";
import { streamId } from "./livestream.js";
import { chatList, watchRoom } from "./stream-room.js";

const $ = (id) => document.getElementById(id);
const room = { kind: null, timer: null, presenceMs: 20000, hand: false, removed: false, live: null };

/** Start the room; `on` has paused(graceS), resumed(), ended(), removed(). */
export function mountWatchRoom(on) {
  const chat = chatList($("chat-list"));
  const act = (handler) => async (event) => {
    event?.preventDefault();
    showMessage($("room-error"), "");
    try {
      await handler();
    } catch (error) {
      showMessage($("room-error"), error.message);
    }
  };
  $("chat-form").addEventListener("submit", act(async () => {
    const text = $("chat-text").value.trim();
    if (!text) return;
    chat.add(await api(`/api/v1/live/${streamId}/chat`, { method: "POST", body: { text } }));
    $("chat-text").value = "";
  }));
  $("like").addEventListener("click", act(async () => {
    await api(`/api/v1/live/${streamId}/likes`, { method: "POST" });
    $("like").classList.add("liked");
  }));
  $("hand").addEventListener("click", act(async () => {
    const raise = !room.hand; // the hand's own event may come back before the answer does
    await api(`/api/v1/live/${streamId}/hand`, { method: raise ? "PUT" : "DELETE" });
    setHand(raise);
  }));
  room.live = watchRoom({
    onRoom: (state) => {
      chat.render(state.chat);
      setCount("likes", state.likes);
      setCount("viewers", state.viewers);
      setHand(state.hand_raised);
      room.presenceMs = state.presence_s * 1000;
      show($("room"), true);
    },
    onEvent: (type, data) => {
      if (type === "live.chat") chat.add(data);
      else if (type === "live.chat_removed") chat.remove(data.id);
      else if (type === "live.likes") setCount("likes", data.likes);
      else if (type === "live.viewers") setCount("viewers", data.viewers);
      else if (type === "live.hand") setHand(data.raised);
      else if (type === "live.invited") showMessage($("room-notice"), t("live.room.invited", { name: data.by }));
      else if (type === "live.paused") on.paused(data.grace_s);
      else if (type === "live.resumed") on.resumed();
      else if (type === "live.ended") on.ended();
      else if (type === "live.removed") removed(on);
    },
  });
  addEventListener("pagehide", () => setWatching(null));
}

/** What the person is watching now: "live", "replay" (the HLS player says so for a recording) or null. */
export function setWatching(kind) {
  if (kind === room.kind || room.removed) return;
  if (room.kind) report(room.kind, true);
  room.kind = kind;
  clearTimeout(room.timer);
  if (kind) beat();
}

function beat() {
  report(room.kind, false);
  room.timer = setTimeout(beat, room.presenceMs);
}

function report(kind, leaving) {
  fetch(`/api/v1/live/${streamId}/presence`, {
    method: "POST", keepalive: leaving,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${savedToken()}`, "Accept-Language": locale },
    body: JSON.stringify({ kind, leaving }),
  }).then(async (resp) => {
    const answer = resp.ok ? await resp.json() : null;
    if (answer?.viewers != null) setCount("viewers", answer.viewers);
  }).catch(() => {});
}

function removed(on) {
  setWatching(null);
  room.removed = true;
  room.live?.close();
  show($("room"), false);
  on.removed();
}

function setCount(what, n) {
  $(`${what}-count`).textContent = t(`live.room.${what}`, { n: formatNumber(n) });
}

function setHand(raised) {
  room.hand = raised;
  $("hand").textContent = raised ? t("live.room.lower_hand") : t("live.room.raise_hand");
  $("hand").setAttribute("aria-pressed", String(raised));
}
