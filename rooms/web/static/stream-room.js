// What the watch page and the studio share of a stream's room: the device
// WebSocket watching the stream (the live.watch frame, sent again after every
// reconnect, when the page also reads the room again: nothing said meanwhile
// is missed), and the chat as a list. The server sends the stream's events to
// this socket only while the person may watch it (a removed viewer gets
// live.removed and nothing more).

import { api } from "/static/api.js";
import { el, show } from "/static/dom.js";
import { formatTime } from "/static/i18n.js";
import { connectLive } from "/static/live.js";
import { streamId } from "./livestream.js";

/** Watch the stream's events: `onRoom(room)` with GET /api/v1/live/<id>/room after every (re)connect, `onEvent(type, data)` after. */
export function watchRoom({ onRoom, onEvent }) {
  const live = connectLive({
    onReady: async () => {
      live.send({ type: "live.watch", stream_id: streamId });
      onRoom(await api(`/api/v1/live/${streamId}/room`));
    },
    onFrame: (frame) => {
      if (frame.stream_id === streamId && frame.type?.startsWith("live.") && frame.type !== "live.watching") onEvent(frame.type, frame.data);
    },
  });
  return live;
}

/** The chat in `list` (a <ul>): `render(messages)` replaces it, `add(message)` appends, `remove(id)` takes one out.
 * `actions(message)` gives the buttons a moderator sees next to a message (none for viewers). */
export function chatList(list, actions = () => []) {
  const item = (message) =>
    el("li", { class: "chat-message", dataset: { id: String(message.id), user: String(message.user_id ?? "") } },
      el("span", { class: "chat-name" }, message.name),
      el("time", { class: "chat-time muted" }, formatTime(message.at)),
      el("span", { class: "chat-text" }, message.text),
      ...actions(message));
  const scroll = () => { list.scrollTop = list.scrollHeight; };
  return {
    render(messages) { list.replaceChildren(...messages.map(item)); scroll(); show(list, true); },
    add(message) {
      if (list.querySelector(`[data-id="${message.id}"]`)) return;
      list.append(item(message));
      scroll();
    },
    remove(id) { list.querySelector(`[data-id="${id}"]`)?.remove(); },
  };
}
