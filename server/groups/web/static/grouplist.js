// My groups with their unread counts; on a phone the list and the open chat take turns on the screen.

import { el, show } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { $, state } from "./state.js";

let onOpen = () => {};

export function setUpGroupList(open) {
  onOpen = open;
  $("back").addEventListener("click", () => document.body.classList.remove("in-chat"));
}

export function renderGroups() {
  $("group-list").replaceChildren(
    ...[...state.groups.values()].map((g) => {
      const unread = Math.max(g.last_seq - g.read_seq, 0);
      return el(
        "li",
        {},
        el(
          "button",
          { type: "button", class: g.id === state.current ? "group-item selected" : "group-item", dataset: { groupId: g.id }, onclick: () => onOpen(g.id) },
          el("span", { class: "group-name" }, g.name),
          unread ? el("span", { class: "unread-badge", "aria-label": t("groups.unread", { count: unread }) }, unread) : null,
        ),
      );
    }),
  );
  show($("no-groups"), state.groups.size === 0);
}

/** On a narrow screen, shows the chat instead of the list. */
export function showChat() {
  document.body.classList.add("in-chat");
}
