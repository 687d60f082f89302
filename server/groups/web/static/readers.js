// Who has read one of my messages and who has not yet (a page of each list, with the counts).

import { api, query } from "/static/api.js";
import { el, show } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { $, groupPath } from "./state.js";

export async function showReaders(message) {
  const base = groupPath(`/messages/${message.seq}/readers`);
  const [unread, read] = await Promise.all([api(base + query({ state: "unread" })), api(base + query({ state: "read" }))]);
  $("readers-counts").textContent = t("groups.readers.counts", { read: read.read_count, unread: read.unread_count });
  const people = (page) => page.members.map((m) => el("li", {}, m.name));
  $("unread-list").replaceChildren(...people(unread));
  $("read-list").replaceChildren(...people(read));
  show($("readers"), true);
}

export function setUpReaders() {
  $("readers-close").addEventListener("click", () => show($("readers"), false));
}
