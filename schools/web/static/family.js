// A guardian's page (/schools/family): their children on the roll, in every organisation, each with its
// school and class and the way into the class's group. Where a family invitation link lands
// (schools/family_links.py), and where the school's letter sends guardians who sign in with their phone.

import { api } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { mountShell } from "/static/shell.js";

const $ = (id) => document.getElementById(id);
const SHOWN_UNITS = new Set(["school", "grade", "class"]); // the bureau and the district say nothing a family needs

start().catch((error) => showMessage($("page-error"), error.message));

async function start() {
  await mountShell({ active: "family", outsiders: true });
  const families = await api("/api/v1/schools/children");
  $("families").replaceChildren(...families.map(family));
  show($("no-children"), families.length === 0);
  $("family").dataset.loaded = "true";
}

function family(f) {
  return el("section", { class: "family-org", dataset: { org: f.org_id } },
    el("h2", {}, f.org_name),
    el("ul", { class: "children" }, f.children.map((c) => child(f.org_id, c))));
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
