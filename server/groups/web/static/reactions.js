// Reactions under a message: each emoji with its count (mine marked), a tap toggles mine; a small picker adds one.

import { api } from "/static/api.js";
import { el } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { groupPath, state } from "./state.js";

export const QUICK = ["👍", "❤️", "😂", "🎉", "😮", "🙏"];

/** Toggles my `emoji` on `message`; the server's answer (and everyone's live frame) re-renders it. */
export function toggle(message, emoji) {
  const mine = message.reactions.some((r) => r.emoji === emoji && r.user_ids.includes(state.me));
  const path = groupPath(`/messages/${message.seq}/reactions${mine ? "/remove" : ""}`);
  return api(path, { method: mine ? "POST" : "PUT", body: { emoji } });
}

/** The reactions bar of `message`; `onChanged(message)` gets the updated message, `onError(error)` a refusal. */
export function reactionBar(message, onChanged, onError) {
  const act = (emoji) => toggle(message, emoji).then(onChanged, onError);
  const picker = el(
    "span",
    { class: "reaction-picker", hidden: true },
    QUICK.map((emoji) => el("button", { type: "button", class: "reaction-choice", onclick: () => act(emoji) }, emoji)),
  );
  return el(
    "div",
    { class: "reactions" },
    message.reactions.map((r) =>
      el(
        "button",
        {
          type: "button",
          class: r.user_ids.includes(state.me) ? "reaction mine" : "reaction",
          "aria-pressed": String(r.user_ids.includes(state.me)),
          title: r.user_ids.map((id) => state.names.get(id) || t("groups.chat.former_member")).join(", "),
          onclick: () => act(r.emoji),
        },
        `${r.emoji} ${r.count}`,
      ),
    ),
    el("button", { type: "button", class: "reaction-add", "aria-label": t("groups.reactions.add"), onclick: () => (picker.hidden = !picker.hidden) }, "☺+"),
    picker,
  );
}
