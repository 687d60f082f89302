// The department tree in order (parents before children, siblings by name in the
// reader's language), and <select> options drawn from it, indented by depth.

import { api } from "/static/api.js";
import { el } from "/static/dom.js";

export const fetchDepartments = (orgId) => api(`/api/v1/orgs/${orgId}/departments`);

/** [{department, depth}] in tree order. */
export function treeOrder(departments) {
  const ids = new Set(departments.map((d) => d.id));
  const children = new Map(); // parent id (null: top) → departments
  for (const d of departments) {
    const parent = ids.has(d.parent_id) ? d.parent_id : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(d);
  }
  const collator = new Intl.Collator(document.documentElement.lang); // Chinese names in pinyin order
  const ordered = [];
  const walk = (parentId, depth) => {
    for (const d of (children.get(parentId) || []).sort((a, b) => collator.compare(a.name, b.name))) {
      ordered.push({ department: d, depth });
      walk(d.id, depth + 1);
    }
  };
  walk(null, 0);
  return ordered;
}

/** Replaces `select`'s options: `none` (value "") first, then the tree, leaving out `exclude(d)`; selects `selected`. */
export function fillDepartmentSelect(select, departments, { none, selected = null, exclude = () => false }) {
  select.replaceChildren(
    el("option", { value: "" }, none),
    ...treeOrder(departments)
      .filter(({ department }) => !exclude(department))
      .map(({ department, depth }) => el("option", { value: department.id, selected: department.id === selected }, "\u2003".repeat(depth) + department.name)),
  );
}
