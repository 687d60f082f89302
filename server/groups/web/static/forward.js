// Forwarding a message to another of my groups: a copy (with its file) is posted there, marked forwarded.

import { api } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { $, groupPath, state } from "./state.js";

export function chooseTarget(message, onDone) {
  showMessage($("forward-error"), "");
  $("forward-list").replaceChildren(
    ...[...state.groups.values()]
      .filter((g) => g.id !== message.group_id)
      .map((g) =>
        el(
          "li",
          {},
          el("button", { type: "button", class: "group-item forward-target", onclick: () => forward(message, g, onDone) }, el("span", { class: "group-name" }, g.name)),
        ),
      ),
  );
  if (!$("forward-list").children.length) showMessage($("forward-error"), t("groups.forward.nowhere"));
  show($("forward"), true);
}

async function forward(message, group, onDone) {
  try {
    await api(groupPath(`/messages/${message.seq}/forward`, message.group_id), { method: "POST", body: { group_id: group.id } });
    show($("forward"), false);
    onDone(group);
  } catch (error) {
    showMessage($("forward-error"), error.message);
  }
}

export function setUpForward() {
  $("forward-close").addEventListener("click", () => show($("forward"), false));
}
