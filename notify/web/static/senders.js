// Who may send urgent notices besides the admins (.../broadcast-senders): the list
// with a button to take the right away, and a member search to give it.

import { api } from "/static/api.js";
import { el, show as showNode } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { MemberPages } from "/static/member-pages.js";

const SEARCH_DELAY_MS = 250;
const list = document.getElementById("sender-list");
const none = document.getElementById("no-senders");
const search = document.getElementById("sender-search");
const candidates = document.getElementById("sender-candidates");
let org = null;
let report = () => {};
let pages = null;
let senderIds = new Set();
let searchTimer;

search.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => findCandidates().catch(report), SEARCH_DELAY_MS);
});

const url = (userId = "") => `/api/v1/orgs/${org.id}/broadcast-senders${userId === "" ? "" : `/${userId}`}`;

export async function show(currentOrg, onError) {
  org = currentOrg;
  report = onError;
  pages = new MemberPages(org.id);
  await load();
}

async function load() {
  const senders = await api(url());
  senderIds = new Set(senders.map((s) => s.user_id));
  list.replaceChildren(...senders.map((s) => row(s.user_id, s.display_name, t("policy.senders.revoke"), "revoke", () => api(url(s.user_id), { method: "DELETE" }))));
  showNode(none, senders.length === 0);
}

async function findCandidates() {
  const q = search.value.trim();
  if (!q) {
    candidates.replaceChildren();
    return;
  }
  const page = await pages.fetch({ q, limit: 10 });
  if (!page) return;
  const members = page.items.filter((m) => m.role === "member" && !senderIds.has(m.user_id));
  candidates.replaceChildren(...members.map((m) => row(m.user_id, m.display_name, t("policy.senders.grant"), "grant", () => api(url(m.user_id), { method: "PUT" }))));
}

function row(userId, name, label, kind, call) {
  return el("li", { class: `card-row sender-${kind}`, dataset: { userId } },
    el("div", { class: "card-main card-title member-name" }, name),
    el("button", {
      type: "button",
      class: kind,
      onclick: async () => {
        try {
          await call();
          await load();
          await findCandidates();
        } catch (e) {
          report(e);
        }
      },
    }, label));
}
