// The members section: everyone in the organisation, searched and paged like the
// directory (MemberPages), each with a button to change or remove them; adding a
// person and the pending invitations are their own modules.

import { el, show as showNode } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { MemberPages } from "/static/member-pages.js";
import * as addMember from "./add-member.js";
import * as invitations from "./invitations.js";
import { editMember } from "./member-dialog.js";

const SEARCH_DELAY_MS = 250;
const search = document.getElementById("member-search");
const list = document.getElementById("member-list");
const none = document.getElementById("no-members");
const more = document.getElementById("members-more");
let ctx = null;
let pages = null;
let searchTimer;

search.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => listMembers().catch(ctx.report), SEARCH_DELAY_MS);
});
more.addEventListener("click", () => listMembers({ more: true }).catch(ctx.report));

export async function show(context) {
  ctx = context;
  pages = pages || new MemberPages(ctx.org.id);
  await Promise.all([listMembers(), addMember.show(ctx, refresh), invitations.show(ctx)]);
}

/** After a change: the list and the invitations again. */
function refresh() {
  return Promise.all([listMembers(), invitations.show(ctx)]).catch(ctx.report);
}

async function listMembers({ more: next = false } = {}) {
  more.disabled = true;
  try {
    const page = await pages.fetch({ q: search.value.trim() }, { more: next });
    if (!page) return;
    const cards = page.items.map(card);
    if (next) list.append(...cards);
    else list.replaceChildren(...cards);
    showNode(more, pages.hasMore);
    showNode(none, list.children.length === 0);
  } finally {
    more.disabled = false;
  }
}

function card(m) {
  const details = [m.department && m.department.name, m.title, m.phone, m.email].filter(Boolean);
  return el("li", { class: "card-row member-card", dataset: { memberId: m.id } },
    el("div", { class: "card-main" },
      el("div", { class: "card-title" }, el("span", { class: "member-name" }, m.display_name), el("span", { class: "badge role" }, t(`role.${m.role}`))),
      el("div", { class: "muted card-details" }, details.map((d) => el("span", {}, d)))),
    el("button", {
      type: "button",
      class: "edit",
      "aria-label": t("admin.member.edit_named", { name: m.display_name }),
      onclick: () => editMember(ctx, m, refresh),
    }, t("admin.member.edit")));
}
