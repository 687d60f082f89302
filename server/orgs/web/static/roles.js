// Role choices as the API enforces them: only an owner makes or unmakes owners.

import { el } from "/static/dom.js";
import { t } from "/static/i18n.js";

const ROLES = ["member", "admin", "owner"];

/** Fills a role <select> for a viewer of `viewerRole`; `current` is the member's role (null for someone new). */
export function fillRoleSelect(select, viewerRole, current = "member") {
  const mayOwners = viewerRole === "owner";
  select.replaceChildren(...ROLES.map((role) => el("option", {
    value: role,
    selected: role === current,
    disabled: !mayOwners && (role === "owner" || current === "owner") && role !== current,
  }, t(`role.${role}`))));
}
