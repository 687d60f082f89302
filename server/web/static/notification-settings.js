// My notification settings, on the account page: quiet hours (read on the clock of the organisation's time zone;
// what arrives in them is summed up in one push when they end), whether mentions reach me from muted groups,
// and which of the organisation's groups I muted. The server applies them, whatever device I use.

import { api } from "./api.js";
import { el, show, showMessage } from "./dom.js";
import { locale, t } from "./i18n.js";

const $ = (id) => document.getElementById(id);

/** Fills the section for the person and `org` (null: no organisation, so no groups to mute). */
export async function showNotificationSettings(org) {
  fill(await api("/api/v1/me/notification-settings"));
  $("quiet-help").textContent = t("account.notify.quiet_help", { zone: zoneName(org && org.time_zone) });
  $("quiet-on").addEventListener("change", () => showQuietTimes());
  $("notify-form").addEventListener("submit", save);
  if (org) await showMutes(org);
  $("notifications").dataset.ready = "true";
}

function fill(settings) {
  $("quiet-on").checked = settings.quiet_hours_start !== null;
  $("quiet-start").value = settings.quiet_hours_start || "22:00";
  $("quiet-end").value = settings.quiet_hours_end || "07:00";
  $("mentions-when-muted").checked = settings.mentions_when_muted;
  $("push-state").textContent = t(settings.push_subscribed ? "account.notify.push_on" : "account.notify.push_off");
  showQuietTimes();
}

function showQuietTimes() {
  const on = $("quiet-on").checked;
  show($("quiet-times"), on);
  for (const id of ["quiet-start", "quiet-end"]) $(id).disabled = !on;
}

/** "China Standard Time" / "中国标准时间": the zone's name in the page's language. */
function zoneName(zone) {
  const parts = new Intl.DateTimeFormat(locale, { timeZone: zone || undefined, timeZoneName: "long" }).formatToParts(new Date());
  return (parts.find((p) => p.type === "timeZoneName") || {}).value || zone || "";
}

async function save(event) {
  event.preventDefault();
  showMessage($("notify-error"), "");
  $("notify-status").textContent = "";
  const on = $("quiet-on").checked;
  try {
    fill(await api("/api/v1/me/notification-settings", {
      method: "PATCH",
      body: {
        quiet_hours_start: on ? $("quiet-start").value : null,
        quiet_hours_end: on ? $("quiet-end").value : null,
        mentions_when_muted: $("mentions-when-muted").checked,
      },
    }));
    $("notify-status").textContent = t("common.saved");
  } catch (error) {
    showMessage($("notify-error"), error.message);
  }
}

async function showMutes(org) {
  const groups = await api(`/api/v1/orgs/${org.id}/groups`);
  $("group-mutes").replaceChildren(...groups.map((g) => muteItem(org, g)));
  show($("mutes"), groups.length > 0);
}

function muteItem(org, group) {
  const box = el("input", { type: "checkbox", class: "mute", checked: group.muted });
  box.addEventListener("change", async () => {
    showMessage($("notify-error"), "");
    try {
      await api(`/api/v1/orgs/${org.id}/groups/${group.id}/mute`, { method: "PUT", body: { muted: box.checked } });
    } catch (error) {
      box.checked = !box.checked;
      showMessage($("notify-error"), error.message);
    }
  });
  return el("li", { class: "account-item", dataset: { groupId: group.id } },
    el("span", { class: "account-item-text group-name" }, group.name),
    el("label", { class: "checkbox" }, box, el("span", {}, t("account.notify.muted"))));
}
