// The open group's members, searched on the server by name, pinyin or initials (whatever the group's size), each
// with "Send message": the direct chat with them (people of the organisation only; not to oneself).

import { api, query } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { $, groupPath, state } from "./state.js";
import { newestOnly } from "./typing.js";

const SHOWN = 50;
let onMessage = () => {};

const search = newestOnly((q) => api(groupPath("/members") + query({ q, limit: SHOWN })));

function row(member) {
  const canMessage = state.person && member.user_id !== state.me;
  return el("li", { class: "member-row", dataset: { userId: member.user_id } },
    el("span", { class: "member-name" }, member.name),
    canMessage ? el("button", { type: "button", class: "send-message", onclick: () => onMessage(member.user_id) }, t("groups.members.send_message")) : null);
}

function render(members) {
  $("member-list").replaceChildren(...members.map(row));
}

export async function showMembers() {
  showMessage($("members-error"), "");
  $("members-search").value = "";
  $("members-count").textContent = t("groups.members.count", { count: state.memberCount });
  render(state.members.slice(0, SHOWN));
  show($("members"), true);
  $("members").scrollIntoView({ block: "nearest" }); // on a phone the panel is below the chat
}

export function setUpMembers(message) {
  onMessage = message;
  $("members-open").addEventListener("click", () => showMembers());
  $("members-close").addEventListener("click", () => show($("members"), false));
  $("members-search").addEventListener("input", async () => {
    const q = $("members-search").value.trim();
    try {
      const page = q ? await search(q) : { members: state.members.slice(0, SHOWN) };
      if (page && $("members-search").value.trim() === q) render(page.members); // not superseded meanwhile
    } catch (error) {
      showMessage($("members-error"), error.message);
    }
  });
}
