// The studio's view of the stream's room: the chat, where its managers write
// too and remove a message or its writer (who stops watching at once and may
// not come back); the hand queue, first raised first, with "invite" and
// "lower"; the viewer and like counts; and the attendance: who watched, when
// and how long, who of the group did not, and its CSV or Excel export. Kept
// current by the stream's events (stream-room.js).

import { api, savedToken } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { formatDateTime, formatNumber, locale, t } from "/static/i18n.js";
import { chatList, watchRoom } from "./stream-room.js";
import { streamId } from "./livestream.js";

const $ = (id) => document.getElementById(id);
const me = { id: null };

/** Start the studio's room for the stream at `url` (/api/v1/orgs/<org>/streams/<id>); `onPaused(paused)` for the publisher's state. */
export function mountStudioRoom(url, { onPaused = () => {}, onEnded = () => {} } = {}) {
  const act = (handler) => async (event) => {
    event?.preventDefault?.();
    showMessage($("room-error"), "");
    try {
      await handler();
    } catch (error) {
      showMessage($("room-error"), error.message);
    }
  };
  const actions = (message) => [
    el("button", { type: "button", class: "remove-message", onclick: act(() => api(`${url}/chat/${message.id}`, { method: "DELETE" })) },
      t("live.studio.room.remove_message")),
    message.user_id && message.user_id !== me.id
      ? el("button", { type: "button", class: "remove-viewer", onclick: act(async () => {
        if (confirm(t("live.studio.room.remove_viewer_confirm", { name: message.name }))) await api(`${url}/viewers/${message.user_id}/remove`, { method: "POST" });
      }) }, t("live.studio.room.remove_viewer"))
      : null,
  ];
  const chat = chatList($("chat-list"), actions);
  const hands = async () => renderHands(url, act, await api(`${url}/hands`));
  $("chat-form").addEventListener("submit", act(async () => {
    const text = $("chat-text").value.trim();
    if (!text) return;
    chat.add(await api(`/api/v1/live/${streamId}/chat`, { method: "POST", body: { text } }));
    $("chat-text").value = "";
  }));
  $("attendance-refresh").addEventListener("click", act(() => showAttendance(url)));
  $("export-csv").addEventListener("click", act(() => download(`${url}/attendance/export?format=csv`, "csv")));
  $("export-xlsx").addEventListener("click", act(() => download(`${url}/attendance/export?format=xlsx`, "xlsx")));
  watchRoom({
    onRoom: async (room) => {
      me.id = room.user_id;
      chat.render(room.chat);
      setCount("likes", room.likes);
      setCount("viewers", room.viewers);
      await hands();
    },
    onEvent: (type, data) => {
      if (type === "live.chat") chat.add(data);
      else if (type === "live.chat_removed") chat.remove(data.id);
      else if (type === "live.likes") setCount("likes", data.likes);
      else if (type === "live.viewers") setCount("viewers", data.viewers);
      else if (type === "live.hand") hands();
      else if (type === "live.paused") onPaused(true);
      else if (type === "live.resumed") onPaused(false);
      else if (type === "live.ended") onEnded();
    },
  });
}

function setCount(what, n) {
  $(`${what}-count`).textContent = t(`live.room.${what}`, { n: formatNumber(n) });
}

function renderHands(url, act, queue) {
  show($("no-hands"), queue.length === 0);
  $("hand-queue").replaceChildren(...queue.map((hand, i) => el("li", { dataset: { user: String(hand.user_id) } },
    el("span", {}, `${i + 1}. ${hand.name}`),
    el("button", { type: "button", onclick: act(() => api(`${url}/hands/${hand.user_id}/invite`, { method: "POST" })) }, t("live.studio.room.invite")),
    el("button", { type: "button", onclick: act(() => api(`${url}/hands/${hand.user_id}`, { method: "DELETE" })) }, t("live.studio.room.lower")))));
}

const minutes = (seconds) => t("live.studio.attendance.minutes", { n: formatNumber(Math.round(seconds / 60)) });

async function showAttendance(url) {
  const attendance = await api(`${url}/attendance`);
  setCount("viewers", attendance.viewers_now);
  $("attendance-rows").replaceChildren(...attendance.attended.map((person) => el("tr", {},
    el("td", {}, person.guest ? t("live.studio.attendance.guest", { name: person.name }) : person.name),
    el("td", {}, person.first_joined_at ? formatDateTime(person.first_joined_at) : ""),
    el("td", {}, minutes(person.live_s)),
    el("td", {}, minutes(person.replay_s)))));
  show($("attendance"), true);
  $("absent").textContent = attendance.absent.length ? attendance.absent.map((person) => person.name).join(locale === "zh-CN" ? "、" : ", ")
    : t("live.studio.attendance.none_absent");
}

async function download(path, extension) {
  const resp = await fetch(path, { headers: { Authorization: `Bearer ${savedToken()}`, "Accept-Language": locale } });
  if (!resp.ok) throw new Error((await resp.json().catch(() => null))?.error?.message || t("error.http", { status: resp.status }));
  const link = el("a", { href: URL.createObjectURL(await resp.blob()), download: `stream-${streamId}-attendance.${extension}` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
