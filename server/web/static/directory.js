// The directory page: the organisation's department tree and its members,
// searchable, filtered by department, paged with the API's next_cursor; "Send message"
// opens the direct chat with a colleague on the groups page.

import { api } from "./api.js";
import { el, show, showMessage } from "./dom.js";
import { t } from "./i18n.js";
import { MemberPages } from "./member-pages.js";
import { mountShell } from "./shell.js";

const SEARCH_DELAY_MS = 250;

const $ = (id) => document.getElementById(id);
const view = {
  pageError: $("page-error"),
  directory: $("directory"),
  tree: $("department-tree"),
  search: $("search"),
  includeSub: $("include-sub"),
  caption: $("list-caption"),
  members: $("member-list"),
  noMembers: $("no-members"),
  loadMore: $("load-more"),
};

const state = {
  me: null, // my user id: everyone else has "Send message"
  orgId: null,
  departments: new Map(), // id → department
  departmentId: null, // null: everyone
  pages: null, // MemberPages of the organisation
};

view.includeSub.addEventListener("change", () => listMembers());
view.loadMore.addEventListener("click", () => listMembers({ more: true }));
let searchTimer;
view.search.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => listMembers(), SEARCH_DELAY_MS);
});

start().catch(reportError);

async function start() {
  const { me, org } = await mountShell({ active: "directory" });
  state.me = me.id;
  if (org && !org.outsider) await openOrg(org.id); // the directory is its members'; an outsider sees none of it
}

async function openOrg(orgId) {
  state.orgId = orgId;
  state.pages = new MemberPages(orgId);
  state.departmentId = null;
  const departments = await api(`/api/v1/orgs/${orgId}/departments`);
  state.departments = new Map(departments.map((d) => [d.id, d]));
  renderTree();
  show(view.directory, true);
  await listMembers();
}

function renderTree() {
  const children = new Map(); // parent id (or null) → departments, by name
  for (const d of state.departments.values()) {
    const parent = state.departments.has(d.parent_id) ? d.parent_id : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(d);
  }
  const collator = new Intl.Collator(document.documentElement.lang); // Chinese names in pinyin order
  for (const list of children.values()) list.sort((a, b) => collator.compare(a.name, b.name));

  const branch = (parentId) => {
    const list = children.get(parentId) || [];
    if (list.length === 0) return null;
    return el("ul", {}, list.map((d) => el("li", {}, treeButton(d.id, d.name, d.member_count), branch(d.id))));
  };
  view.tree.replaceChildren(el("li", {}, treeButton(null, t("directory.everyone"))), ...(branch(null)?.children || []));
}

function treeButton(departmentId, name, count) {
  const selected = state.departmentId === departmentId;
  return el(
    "button",
    {
      type: "button",
      class: selected ? "tree-item selected" : "tree-item",
      "aria-current": selected ? "true" : null,
      dataset: { departmentId: departmentId ?? "" },
      onclick: () => selectDepartment(departmentId),
    },
    el("span", { class: "tree-name" }, name),
    count === undefined ? null : el("span", { class: "count" }, count),
  );
}

function selectDepartment(departmentId) {
  state.departmentId = departmentId;
  renderTree();
  listMembers();
}

async function listMembers({ more = false } = {}) {
  const q = view.search.value.trim();
  const department = state.departmentId;
  const filters = { q, department_id: department, include_subdepartments: department === null ? null : view.includeSub.checked };
  view.loadMore.disabled = true;
  try {
    const page = await state.pages.fetch(filters, { more });
    if (!page) return;
    showMessage(view.pageError, "");
    const rows = page.items.map(memberRow);
    if (more) view.members.append(...rows);
    else view.members.replaceChildren(...rows);
    show(view.loadMore, state.pages.hasMore);
    show(view.noMembers, view.members.children.length === 0);
    view.caption.textContent = caption(q, department);
  } catch (error) {
    reportError(error);
  } finally {
    view.loadMore.disabled = false;
  }
}

function caption(q, departmentId) {
  const where = departmentId === null ? t("directory.everyone") : state.departments.get(departmentId)?.name || "";
  const scope = departmentId !== null && view.includeSub.checked ? t("directory.with_sub", { where }) : where;
  return q ? t("directory.matching", { scope, q }) : scope;
}

function memberRow(m) {
  const details = [
    m.title && el("span", { class: "title" }, m.title),
    m.department && el("span", { class: "department" }, m.department.name),
  ];
  const contact = [
    m.user_id !== state.me && el("a", { class: "send-message", href: `/groups?org=${state.orgId}&person=${m.user_id}` }, t("directory.send_message")),
    m.phone && el("a", { class: "phone", href: `tel:${m.phone}` }, m.phone),
    m.email && el("a", { class: "email", href: `mailto:${m.email}` }, m.email),
  ];
  return el(
    "li",
    { class: "member", dataset: { memberId: m.id } },
    el("span", { class: "avatar", "aria-hidden": "true" }, initials(m.display_name)),
    el(
      "div",
      { class: "member-main" },
      el("div", { class: "member-name" }, m.display_name, m.role !== "member" && el("span", { class: "badge" }, t(`role.${m.role}`))),
      el("div", { class: "member-details muted" }, details),
    ),
    el("div", { class: "member-contact" }, contact),
  );
}

function initials(name) {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] || "?").slice(0, 2);
  return letters.toUpperCase();
}

function reportError(error) {
  showMessage(view.pageError, error.message || String(error));
}
