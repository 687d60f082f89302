// Search in the open group's history: the hits, newest first, with the words searched for marked.

import { api, query } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { formatDateTime, t } from "/static/i18n.js";
import { $, orgPath, state } from "./state.js";

/** `body` as text nodes with <mark> around the [start, end) ranges, counted in code points as the server counts. */
export function highlighted(body, ranges) {
  const chars = Array.from(body);
  const parts = [];
  let at = 0;
  for (const [start, end] of ranges) {
    if (start > at) parts.push(chars.slice(at, start).join(""));
    parts.push(el("mark", {}, chars.slice(start, end).join("")));
    at = end;
  }
  if (at < chars.length) parts.push(chars.slice(at).join(""));
  return parts;
}

/** Brings a hit into view in the conversation, if it is among the messages shown. */
function showInChat(seq) {
  const node = $("messages").querySelector(`li[data-seq="${seq}"]`);
  if (!node) return;
  node.scrollIntoView({ block: "center" });
  node.classList.add("found");
  setTimeout(() => node.classList.remove("found"), 2000);
}

async function search(event) {
  event.preventDefault();
  const q = $("search-q").value.trim();
  if (!q) return;
  try {
    const found = await api(orgPath("/group-messages/search") + query({ q, group_id: state.current, limit: 50 }));
    showMessage($("search-summary"), t("groups.search.count", { count: found.messages.length }));
    $("search-results").replaceChildren(
      ...found.messages.map((m) =>
        el(
          "li",
          { class: "search-hit", dataset: { seq: m.seq }, onclick: () => showInChat(m.seq) },
          el("span", { class: "muted" }, `${state.names.get(m.sender_id) || t("groups.chat.former_member")} · ${formatDateTime(m.created_at)}`),
          el("div", { class: "hit-body" }, highlighted(m.body, m.highlights)),
        ),
      ),
    );
  } catch (error) {
    showMessage($("search-summary"), error.message);
    $("search-results").replaceChildren();
  }
}

export function closeSearch() {
  show($("search-form"), false);
  $("search-results").replaceChildren();
  showMessage($("search-summary"), "");
}

export function setUpSearch() {
  $("search-open").addEventListener("click", () => {
    show($("search-form"), true);
    $("search-q").focus();
  });
  $("search-close").addEventListener("click", closeSearch);
  $("search-form").addEventListener("submit", search);
}
