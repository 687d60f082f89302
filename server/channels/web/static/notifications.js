// The organisation's notification settings (/admin/notifications), a section of its settings for admins: whether
// members Web Push cannot reach get an SMS digest of their unread mentions (within the SMS allowances).

import { api } from "/static/api.js";
import { show, showMessage } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { mountShell } from "/static/shell.js";
import { settingsTabs } from "/orgs/static/sections.js";

const $ = (id) => document.getElementById(id);
const report = (error) => showMessage($("page-error"), error.message || String(error));

start().catch(report);

async function start() {
  const { org } = await mountShell({ active: "settings" });
  if (!org) return;
  if (!["admin", "owner"].includes(org.role)) {
    show($("not-admin"), true);
    return;
  }
  const path = `/api/v1/orgs/${org.id}/notification-settings`;
  const [, settings] = await Promise.all([settingsTabs($("sections"), org.id, "notifications"), api(path)]);
  $("sms-digest").checked = settings.sms_digest;
  $("digest-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    showMessage($("digest-error"), "");
    $("digest-status").textContent = "";
    try {
      $("sms-digest").checked = (await api(path, { method: "PATCH", body: { sms_digest: $("sms-digest").checked } })).sms_digest;
      $("digest-status").textContent = t("common.saved");
    } catch (error) {
      showMessage($("digest-error"), error.message);
    }
  });
  show($("settings"), true);
  $("settings").dataset.ready = "true";
}
