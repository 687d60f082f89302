// Adding a person (POST .../members: a new account without a password). An email
// that already has an account answers 409 needs_consent: that person joins only if
// they accept, so the form offers to invite them instead (POST .../invitations).

import { api } from "/static/api.js";
import { show as showNode, showMessage } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { fetchDepartments, fillDepartmentSelect } from "./department-tree.js";
import { fillRoleSelect } from "./roles.js";

const toggle = document.getElementById("add-member-toggle");
const form = document.getElementById("add-member");
const needsConsent = document.getElementById("needs-consent");
const status = document.getElementById("add-status");
const error = document.getElementById("add-error");
let ctx = null;
let changed = async () => {};

toggle.addEventListener("click", () => {
  showNode(form, form.hidden);
  if (!form.hidden) form.elements.display_name.focus();
});
form.addEventListener("submit", (event) => {
  event.preventDefault();
  send("members", t("admin.add.added"));
});
document.getElementById("invite-instead").addEventListener("click", () => send("invitations", t("admin.add.invited")));
form.addEventListener("input", () => showNode(needsConsent, false));

function body() {
  const f = form.elements;
  const optional = (input) => input.value.trim() || null;
  return {
    display_name: f.display_name.value.trim(),
    email: optional(f.email),
    phone: optional(f.phone),
    title: optional(f.title),
    department_id: f.department_id.value ? Number(f.department_id.value) : null,
    role: f.role.value,
  };
}

async function send(what, done) {
  status.textContent = "";
  showMessage(error, "");
  try {
    await api(`/api/v1/orgs/${ctx.org.id}/${what}`, { method: "POST", body: body() });
    form.reset();
    fillRoleSelect(form.elements.role, ctx.role);
    showNode(needsConsent, false);
    status.textContent = done;
    await changed();
  } catch (e) {
    if (e.code === "needs_consent") showNode(needsConsent, true);
    else showMessage(error, e.message);
  }
}

export async function show(context, onChanged) {
  ctx = context;
  changed = onChanged;
  fillRoleSelect(form.elements.role, ctx.role);
  fillDepartmentSelect(form.elements.department_id, await fetchDepartments(ctx.org.id), { none: t("admin.field.no_department") });
}
