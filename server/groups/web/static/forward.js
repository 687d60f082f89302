// Forwarding a message: to another of my groups or direct chats, or to a person of the organisation found by name,
// pinyin or initials (the copy goes to my direct chat with them, made if need be). A copy (with its file) is posted
// there, marked forwarded.

import { api, query } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { $, groupPath, orgPath, state } from "./state.js";
import { newestOnly } from "./typing.js";

let message = null;
let onDone = () => {};

const findPeople = newestOnly((q) => api(orgPath("/members") + query({ q, limit: 20 })));

const target = (name, to, className) =>
  el("li", {}, el("button", { type: "button", class: `group-item ${className}`, onclick: () => forward(to, name) }, el("span", { class: "group-name" }, name)));

export function chooseTarget(chosen, done) {
  message = chosen;
  onDone = done;
  showMessage($("forward-error"), "");
  $("forward-list").replaceChildren(
    ...[...state.groups.values()].filter((g) => g.id !== message.group_id).map((g) => target(g.name, { group_id: g.id }, "forward-target")),
  );
  $("forward-search").value = "";
  $("forward-people").replaceChildren();
  show($("forward-people-part"), state.person);
  if (!$("forward-list").children.length && !state.person) showMessage($("forward-error"), t("groups.forward.nowhere"));
  show($("forward"), true);
  $("forward").scrollIntoView({ block: "nearest" }); // on a phone the panel is below the chat
}

async function forward(to, name) {
  try {
    await api(groupPath(`/messages/${message.seq}/forward`, message.group_id), { method: "POST", body: to });
    show($("forward"), false);
    onDone(name);
  } catch (error) {
    showMessage($("forward-error"), error.message);
  }
}

async function searchPeople() {
  const q = $("forward-search").value.trim();
  if (!q) return $("forward-people").replaceChildren();
  try {
    const page = await findPeople(q);
    if (!page || $("forward-search").value.trim() !== q) return; // superseded, or the box was emptied meanwhile
    const people = page.items.filter((p) => p.user_id !== state.me);
    $("forward-people").replaceChildren(...people.map((p) => target(p.display_name, { user_id: p.user_id }, "forward-person")));
  } catch (error) {
    showMessage($("forward-error"), error.message);
  }
}

export function setUpForward() {
  $("forward-close").addEventListener("click", () => show($("forward"), false));
  $("forward-search").addEventListener("input", searchPeople);
}
