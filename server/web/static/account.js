// The account page: my language, my notification settings, my signed-in devices and remembered devices (each
// revocable), and notices of sign-ins on new devices, kept current by the live connection.

import { api } from "./api.js";
import { el, show, showMessage } from "./dom.js";
import { formatDateTime, t } from "./i18n.js";
import { connectLive } from "./live.js";
import { showNotificationSettings } from "./notification-settings.js";
import { languageSelect, mountShell, showLive } from "./shell.js";

const pageError = document.getElementById("page-error");
const sessions = document.getElementById("sessions");
const trusted = document.getElementById("trusted");
const trustedEmpty = document.getElementById("trusted-empty");
const noticesSection = document.getElementById("notices-section");
const notices = document.getElementById("notices");
const noticesSeen = document.getElementById("notices-seen");

// Events that change what this page shows.
const WATCHED = new Set(["session.revoked", "account.new_device"]);

start().catch(fail);

function fail(error) {
  showMessage(pageError, error.message);
}

async function start() {
  const { org } = await mountShell({ active: "account" });
  document.getElementById("language").append(languageSelect());
  await Promise.all([load(), showNotificationSettings(org)]);
  connectLive({
    onReady: () => {
      showLive(true);
      load().catch(fail);
    },
    onEvent: (name) => WATCHED.has(name) && load().catch(fail),
    onClose: () => showLive(false),
  });
}

async function load() {
  const [mySessions, myTrusted, myNotices] = await Promise.all([
    api("/api/v1/me/devices"),
    api("/api/v1/me/trusted-devices"),
    api("/api/v1/me/notices"),
  ]);
  showMessage(pageError, "");
  sessions.replaceChildren(...mySessions.map(sessionItem));
  trusted.replaceChildren(...myTrusted.map(trustedItem));
  show(trustedEmpty, myTrusted.length === 0);
  notices.replaceChildren(...myNotices.map(noticeItem));
  show(noticesSection, myNotices.length > 0);
  noticesSeen.onclick = () => act(() => api("/api/v1/me/notices/read", { method: "POST", body: { up_to_id: myNotices[0].id } }));
  document.querySelector("main.account").dataset.loaded = "true";
}

/** Runs `call`, then shows the lists as they are now. */
async function act(call) {
  try {
    await call();
    await load();
  } catch (error) {
    fail(error);
  }
}

// Device names and browsers are as the devices gave them (data, not page text).
function deviceLabel({ device_name: name, user_agent: browser }, ...before) {
  return el("span", { class: "account-item-text" },
    ...before,
    name ? el("strong", { class: "device-name" }, name) : el("strong", {}, t("account.unnamed_device")),
    el("span", { class: "muted user-agent" }, browser));
}

function sessionItem(d) {
  return el("li", { class: "account-item", dataset: { session: d.id } },
    deviceLabel(d),
    el("span", { class: "muted" }, t("account.sessions.last_seen", { when: formatDateTime(d.last_seen_at) })),
    d.current
      ? el("span", { class: "badge current" }, t("account.sessions.current"))
      : el("button", { type: "button", class: "revoke", onclick: () => act(() => api(`/api/v1/me/devices/${d.id}`, { method: "DELETE" })) },
          t("account.sessions.sign_out")));
}

function trustedItem(d) {
  return el("li", { class: "account-item", dataset: { trusted: d.id } },
    deviceLabel(d),
    el("span", { class: "muted" }, t("account.trusted.until", { when: formatDateTime(d.expires_at) })),
    el("button", { type: "button", class: "revoke", onclick: () => act(() => api(`/api/v1/me/trusted-devices/${d.id}`, { method: "DELETE" })) },
      t("account.trusted.forget")));
}

function noticeItem(n) {
  return el("li", { class: "account-item notice", dataset: { notice: n.id } },
    deviceLabel(n.data, el("span", {}, t("account.notices.new_device"))),
    el("span", { class: "muted" }, [formatDateTime(n.created_at), n.data.ip].filter(Boolean).join(" · ")));
}
