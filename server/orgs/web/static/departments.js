// The department tree: create a department (at the top or inside another), rename
// or move one with everything under it, delete an empty one; the API refuses a
// move under itself and a department that still has members or sub-departments.

import { api } from "/static/api.js";
import { el, show as showNode, showMessage } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { fetchDepartments, fillDepartmentSelect, treeOrder } from "./department-tree.js";

const form = document.getElementById("new-department");
const formError = document.getElementById("new-department-error");
const list = document.getElementById("department-list");
const none = document.getElementById("no-departments");
const dialog = document.getElementById("department-dialog");
const editForm = document.getElementById("department-form");
const editError = document.getElementById("department-error");
let ctx = null;
let departments = [];
let editing = null;

const parentValue = (select) => (select.value ? Number(select.value) : null);
const base = () => `/api/v1/orgs/${ctx.org.id}/departments`;

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api(base(), { method: "POST", body: { name: form.elements.name.value.trim(), parent_id: parentValue(form.elements.parent_id) } });
    form.elements.name.value = "";
    showMessage(formError, "");
    await load();
  } catch (e) {
    showMessage(formError, e.message);
  }
});

editForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const body = { name: editForm.elements.name.value.trim(), parent_id: parentValue(editForm.elements.parent_id) };
  change(() => api(`${base()}/${editing.id}`, { method: "PATCH", body }));
});
document.getElementById("department-delete").addEventListener("click", () => change(() => api(`${base()}/${editing.id}`, { method: "DELETE" })));
document.getElementById("department-cancel").addEventListener("click", () => dialog.close());

async function change(call) {
  try {
    await call();
    dialog.close();
    await load();
  } catch (e) {
    showMessage(editError, e.message);
  }
}

export async function show(context) {
  ctx = context;
  await load();
}

async function load() {
  departments = await fetchDepartments(ctx.org.id);
  const selected = parentValue(form.elements.parent_id);
  fillDepartmentSelect(form.elements.parent_id, departments, { none: t("admin.departments.top"), selected });
  list.replaceChildren(...treeOrder(departments).map(({ department, depth }) => row(department, depth)));
  showNode(none, departments.length === 0);
}

function row(d, depth) {
  return el("li", { class: "department-row", dataset: { departmentId: d.id, depth } },
    el("span", { class: "department-name" }, d.name),
    el("span", { class: "muted count" }, t("admin.departments.members", { count: d.member_count })),
    el("button", { type: "button", class: "edit", "aria-label": t("admin.departments.edit_named", { name: d.name }), onclick: () => edit(d) }, t("admin.member.edit")));
}

function edit(d) {
  editing = d;
  editForm.elements.name.value = d.name;
  // Not under itself or its own branch (the API refuses it too).
  fillDepartmentSelect(editForm.elements.parent_id, departments, {
    none: t("admin.departments.top"),
    selected: d.parent_id,
    exclude: (other) => other.path.startsWith(d.path),
  });
  showMessage(editError, "");
  dialog.showModal();
}
