// The tabs of the organisation's settings: the sections the server lists
// (GET /api/v1/orgs/{id}/settings-sections), the platform's and each capability's,
// so a capability's settings page (notify's at /notify/settings) shows the same row.

import { api } from "/static/api.js";
import { el } from "/static/dom.js";

/** Fills `nav` with a link per section, `active` marked; resolves with the sections. */
export async function settingsTabs(nav, orgId, active = null) {
  const sections = await api(`/api/v1/orgs/${orgId}/settings-sections`);
  nav.replaceChildren(...sections.map((s) => el("a", { href: s.href, class: "settings-tab", dataset: { section: s.key } }, s.label)));
  markTab(nav, active);
  return sections;
}

export function markTab(nav, key) {
  for (const tab of nav.children) {
    if (tab.dataset.section === key) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
}
