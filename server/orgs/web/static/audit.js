// The audit log, read-only: newest first, a page at a time (keyset on id), and the
// whole log as CSV (fetched with the bearer token, then saved by the browser).
// Each action reads as a sentence (admin.audit.action.<code>, one per code the server
// writes: tests/server/audit/test_action_texts.py); a code with no text shows as itself.

import { api, query } from "/static/api.js";
import { el, show as showNode } from "/static/dom.js";
import { formatDateTime, hasText, t } from "/static/i18n.js";
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
  const action = hasText(`admin.audit.action.${entry.action}`) ? t(`admin.audit.action.${entry.action}`) : entry.action;
  const target = entry.target_kind ? targetText(entry.target_kind, entry.target_id) : "";
  const actor = entry.actor_name || (entry.details.automatic ? t("admin.audit.automatic") : "");
  return el("li", { class: "card-row audit-entry", dataset: { action: entry.action } },
    el("div", { class: "card-main" },
      el("div", { class: "card-title" }, el("span", { class: "action" }, action), target ? el("span", { class: "muted target" }, target) : null),
      el("div", { class: "muted card-details" }, el("span", {}, formatDateTime(entry.at)), actor ? el("span", { class: "actor" }, actor) : null)));
}

function targetText(kind, id) {
  return hasText(`admin.audit.target.${kind}`) ? t(`admin.audit.target.${kind}`, { id: id ?? "" }) : `${kind} ${id ?? ""}`.trim();
}
