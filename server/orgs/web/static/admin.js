// The organisation's settings for its admins (/admin): one tab per section, the
// platform's shown here (one module each), a capability's on its own page.
//
// The API authorises every call; a member who comes here is told the page is
// for administrators instead of being shown forms that would all answer 403.

import { show, showMessage } from "/static/dom.js";
import { mountShell } from "/static/shell.js";
import * as audit from "./audit.js";
import * as departments from "./departments.js";
import * as imports from "./imports.js";
import * as members from "./members.js";
import * as organisation from "./organisation.js";
import { markTab, settingsTabs } from "./sections.js";

const PANELS = { organisation, members, departments, imports, audit }; // each: show(ctx), called whenever its tab opens
const ADMIN_ROLES = ["admin", "owner"];
const pageError = document.getElementById("page-error");
const tabs = document.getElementById("sections");

start().catch(report);

async function start() {
  const { org } = await mountShell({ active: "settings" });
  if (!org) return;
  if (!ADMIN_ROLES.includes(org.role)) {
    show(document.getElementById("not-admin"), true);
    return;
  }
  const ctx = { org, role: org.role, report };
  await settingsTabs(tabs, org.id);
  show(document.getElementById("admin"), true);
  window.addEventListener("hashchange", () => open(ctx).catch(report));
  await open(ctx);
}

async function open(ctx) {
  const key = location.hash.slice(1) in PANELS ? location.hash.slice(1) : "organisation";
  for (const name of Object.keys(PANELS)) show(document.getElementById(name), name === key);
  markTab(tabs, key);
  showMessage(pageError, "");
  const admin = document.getElementById("admin");
  delete admin.dataset.ready;
  await PANELS[key].show(ctx);
  admin.dataset.ready = key;
}

function report(error) {
  showMessage(pageError, error.message || String(error));
}
