// notify's section of the organisation's settings (/notify/settings): the escalation
// policy, the day's SMS and call allowances and who may send urgent notices, under the same tabs as /admin.

import { show, showMessage } from "/static/dom.js";
import { mountShell } from "/static/shell.js";
import { settingsTabs } from "/orgs/static/sections.js";
import * as allowances from "./allowances.js";
import * as policy from "./policy.js";
import * as senders from "./senders.js";

const pageError = document.getElementById("page-error");
const report = (error) => showMessage(pageError, error.message || String(error));

start().catch(report);

async function start() {
  const { org } = await mountShell({ active: "settings" });
  if (!org) return;
  if (!["admin", "owner"].includes(org.role)) {
    show(document.getElementById("not-admin"), true);
    return;
  }
  await settingsTabs(document.getElementById("sections"), org.id, "broadcasts");
  const settings = document.getElementById("settings");
  show(settings, true);
  await Promise.all([policy.show(org, report), allowances.show(org), senders.show(org, report)]);
  settings.dataset.ready = "true";
}
