// A guardian's page (/schools/family?org=<bureau>): their children on the roll there, each with its school and
// class and the way into the class's group. Where a family invitation link lands (schools/family_links.py), and
// where the cards send guardians who sign in with their phone. The address names the organisation: a guardian
// is none of its members, so the shell gives them its bar without the members' places.

import { api } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { mountShell } from "/static/shell.js";

const $ = (id) => document.getElementById(id);
const SHOWN_UNITS = new Set(["school", "grade", "class"]); // the bureau and the district say nothing a family needs

start().catch((error) => showMessage($("page-error"), error.message));

async function start() {
  const { org } = await mountShell({ active: "family", orgId: Number(new URLSearchParams(location.search).get("org")) || null });
  if (!org) return;
  const me = await api(`/api/v1/orgs/${org.id}/schools/me`);
  $("children").replaceChildren(...me.children.map((c) => child(org.id, c)));
  show($("no-children"), me.children.length === 0);
  $("family").dataset.loaded = "true";
}

function child(orgId, c) {
  const place = c.trail.filter((unit) => SHOWN_UNITS.has(unit.kind)).map((unit) => unit.name).join(" · ");
  return el("li", { class: "card child", dataset: { student: c.student_id } },
    el("div", { class: "child-name" }, c.name),
    el("div", { class: "child-class" }, place),
    c.relation ? el("div", { class: "muted child-relation" }, t("schools.family.relation", { relation: c.relation })) : null,
    c.group_id
      ? el("a", { class: "button child-group", href: `/groups?org=${orgId}&group=${c.group_id}` }, t("schools.family.group"))
      : el("p", { class: "muted child-no-group" }, t("schools.family.no_group")));
}
