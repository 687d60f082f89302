// Changing one member (PATCH .../members/{id}: name, role, department, title, phone,
// email) or removing them (DELETE, after a confirmation: removal ends their access
// to everything in the organisation at once, the API does it).

import { api } from "/static/api.js";
import { show, showMessage } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { fetchDepartments, fillDepartmentSelect } from "./department-tree.js";
import { fillRoleSelect } from "./roles.js";

const dialog = document.getElementById("member-dialog");
const form = document.getElementById("member-form");
const title = document.getElementById("member-dialog-title");
const error = document.getElementById("member-error");
const confirm = document.getElementById("member-confirm");
const confirmText = document.getElementById("member-confirm-text");
let editing = null; // {ctx, member, changed}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const { ctx, member, changed } = editing;
  const f = form.elements;
  const body = {
    display_name: f.display_name.value.trim(),
    role: f.role.value,
    department_id: f.department_id.value ? Number(f.department_id.value) : null,
    title: f.title.value.trim(),
    phone: f.phone.value.trim() || null,
    email: f.email.value.trim() || null,
  };
  await act(() => api(`/api/v1/orgs/${ctx.org.id}/members/${member.id}`, { method: "PATCH", body }), changed);
});
document.getElementById("member-cancel").addEventListener("click", () => dialog.close());
document.getElementById("member-remove").addEventListener("click", () => {
  confirmText.textContent = t("admin.member.remove_warning", { name: editing.member.display_name });
  show(confirm, true);
});
document.getElementById("member-remove-cancel").addEventListener("click", () => show(confirm, false));
document.getElementById("member-remove-confirm").addEventListener("click", () => {
  const { ctx, member, changed } = editing;
  act(() => api(`/api/v1/orgs/${ctx.org.id}/members/${member.id}`, { method: "DELETE" }), changed);
});

async function act(call, changed) {
  try {
    await call();
    dialog.close();
    await changed();
  } catch (e) {
    showMessage(error, e.message);
  }
}

export async function editMember(ctx, member, changed) {
  editing = { ctx, member, changed };
  const f = form.elements;
  title.textContent = member.display_name;
  f.display_name.value = member.display_name;
  f.title.value = member.title || "";
  f.phone.value = member.phone || "";
  f.email.value = member.email || "";
  fillRoleSelect(f.role, ctx.role, member.role);
  fillDepartmentSelect(f.department_id, await fetchDepartments(ctx.org.id), { none: t("admin.field.no_department"), selected: member.department ? member.department.id : null });
  showMessage(error, "");
  show(confirm, false);
  dialog.showModal();
}
