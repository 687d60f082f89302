// The audit log, read-only: newest first, a page at a time (keyset on id), and the
// whole log as CSV (fetched with the bearer token, then saved by the browser).

import { api, query } from "/static/api.js";
import { el, show as showNode } from "/static/dom.js";
import { formatDateTime } from "/static/i18n.js";
import { downloadFile } from "/static/files.js";

const list = document.getElementById("audit-list");
const none = document.getElementById("no-audit");
const more = document.getElementById("audit-more");
let ctx = null;
let nextBefore = null;

more.addEventListener("click", () => load({ older: true }).catch(ctx.report));
document.getElementById("audit-export").addEventListener("click", () => {
  downloadFile(`/api/v1/orgs/${ctx.org.id}/audit/export`, `audit-${ctx.org.slug}.csv`).catch(ctx.report);
});

export async function show(context) {
  ctx = context;
  await load();
}

async function load({ older = false } = {}) {
  const page = await api(`/api/v1/orgs/${ctx.org.id}/audit${query({ before: older ? nextBefore : null })}`);
  const rows = page.items.map(row);
  if (older) list.append(...rows);
  else list.replaceChildren(...rows);
  nextBefore = page.next_before;
  showNode(more, nextBefore !== null);
  showNode(none, list.children.length === 0);
}

function row(entry) {
  const target = entry.target_kind ? `${entry.target_kind} ${entry.target_id ?? ""}`.trim() : "";
  return el("li", { class: "card-row audit-entry", dataset: { action: entry.action } },
    el("div", { class: "card-main" },
      el("div", { class: "card-title" }, el("code", { class: "action" }, entry.action), target ? el("span", { class: "muted" }, target) : null),
      el("div", { class: "muted card-details" }, el("span", {}, formatDateTime(entry.at)), el("span", { class: "actor" }, entry.actor_name))));
}
