// The account page: my language, my notification settings, my signed-in devices and remembered devices (each
// revocable), and notices of sign-ins on new devices, kept current by the live connection;
// my data to download, and my account to delete (proven by the password; not while I am a
// member of an organisation, which holds my data there: server/personal_data/own.py).

import { api, forgetToken } from "./api.js";
import { el, show, showMessage } from "./dom.js";
import { downloadFile } from "./files.js";
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

let live = null;
let deleting = false; // the deletion signs every device out: the page then stops reacting to that

async function start() {
  const { me, org, orgs } = await mountShell({ active: "account" });
  document.getElementById("language").append(languageSelect());
  prepareDeletion(orgs);
  document.getElementById("download-data").onclick = () => downloadFile("/api/v1/me/personal-data", `my-data-${me.id}.json`).catch(fail);
  await Promise.all([load(), showNotificationSettings(org)]);
  live = connectLive({
    onReady: () => {
      showLive(true);
      load().catch(fail);
    },
    onEvent: (name) => !deleting && WATCHED.has(name) && load().catch(fail),
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

// --- deleting my account -------------------------------------------------------------

function prepareDeletion(orgs) {
  const memberNote = document.getElementById("delete-member");
  const form = document.getElementById("delete-form");
  if (orgs.length > 0) {
    memberNote.textContent = t("account.delete.member", { organisations: orgs.map((o) => o.name).join(", ") });
    show(memberNote, true);
    return;
  }
  show(form, true);
  const error = document.getElementById("delete-error");
  const submit = document.getElementById("delete-submit");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showMessage(error, "");
    const password = document.getElementById("delete-password").value;
    if (!password) return showMessage(error, t("account.delete.missing_password"));
    if (!document.getElementById("delete-confirm").checked) return showMessage(error, t("account.delete.missing_confirm"));
    submit.disabled = deleting = true;
    try {
      await api("/api/v1/me/deletion", { method: "POST", body: { password, confirm: true } });
    } catch (e) {
      showMessage(error, e.message);
      submit.disabled = deleting = false;
      return;
    }
    live?.close();
    forgetToken();
    show(document.querySelector("main.account"), false);
    show(document.getElementById("shell"), false);
    show(document.getElementById("deleted"), true);
  });
}
