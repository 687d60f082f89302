// The external contacts page: a staff member makes a contact link and shows its QR code,
// sees their contacts and opens a chat with each; admins also see every contact of the
// organisation. Someone who is an external contact (of any organisation) sees their chats.
// The list follows the person's live events: a contact who just scanned the code appears.

import { ApiError, api, query, savedToken } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { formatDate, formatDateTime, formatNumber, t } from "/static/i18n.js";
import { connectLive } from "/static/live.js";
import { mountShell, showLive } from "/static/shell.js";

const PAGE_SIZE = 50;
const pageError = document.getElementById("page-error");
const $ = (id) => document.getElementById(id);

start().catch((error) => showMessage(pageError, error.message));

async function start() {
  const { org, orgs } = await mountShell({ active: "contacts" });
  const chats = await api("/api/v1/me/external-chats");
  showChats(chats);
  if (org && !org.outsider) { // an organisation that only admits them (their chats' own) is not theirs to add contacts to
    const role = orgs.find((o) => o.id === org.id)?.role;
    show($("add-contact"), true);
    show($("my-contacts"), true);
    setUpLinks(org.id);
    await loadMine(org.id);
    if (role === "admin" || role === "owner") {
      show($("all-contacts"), true);
      await loadAll(org.id, true);
    }
  }
  connectLive({
    onReady: () => showLive(true),
    onEvent: (name) => {
      if (name === "contact.added" && org && !org.outsider) loadMine(org.id).catch((error) => showMessage(pageError, error.message));
    },
    onClose: () => showLive(false),
  });
}

const chatHref = (orgId, groupId) => `/groups?org=${orgId}&group=${groupId}`;

function showChats(chats) {
  show($("my-chats"), chats.length > 0);
  $("chat-list").replaceChildren(...chats.map((c) => el("li", { class: "contact" },
    el("span", { class: "contact-name" }, c.org_name),
    el("span", { class: "muted contact-detail" }, c.staff_name ? t("contacts.chats.with", { name: c.staff_name }) : ""),
    c.chat_group_id ? el("a", { class: "button contact-open", href: chatHref(c.org_id, c.chat_group_id) }, t("contacts.open_chat")) : null)));
}

// --- links and QR codes ------------------------------------------------------------

function setUpLinks(orgId) {
  const form = $("link-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showMessage(pageError, "");
    $("link-create").disabled = true;
    try {
      const body = { expires_in_s: Number($("link-days").value) * 86400, max_uses: $("link-uses").value === "many" ? null : 1 };
      const link = await api(`/api/v1/orgs/${orgId}/contact-links`, { method: "POST", body });
      await showLink(orgId, link);
    } catch (error) {
      showMessage(pageError, error.message);
    } finally {
      $("link-create").disabled = false;
    }
  });
  $("link-copy").addEventListener("click", async () => {
    await navigator.clipboard?.writeText($("link-url").value).catch(() => {});
    $("link-url").select();
    $("link-copy").textContent = t("contacts.add.copied");
  });
}

async function showLink(orgId, link) {
  const [svg, png] = await Promise.all([qrCode(orgId, link.token, "svg"), qrCode(orgId, link.token, "png")]);
  const qr = $("link-qr");
  qr.src = `data:image/svg+xml;base64,${btoa(await svg.text())}`;
  qr.alt = t("contacts.add.qr_alt");
  const previous = $("link-png").href;
  if (previous.startsWith("blob:")) URL.revokeObjectURL(previous);
  $("link-png").href = URL.createObjectURL(png);
  $("link-url").value = link.url;
  $("link-copy").textContent = t("contacts.add.copy");
  $("link-expires").textContent = link.max_uses === 1
    ? t("contacts.add.expires_once", { when: formatDateTime(link.expires_at) })
    : t("contacts.add.expires", { when: formatDateTime(link.expires_at) });
  show($("link-made"), true);
}

/** The QR code image of a link, from the API (an image, not JSON, so not through api()). */
async function qrCode(orgId, token, format) {
  const resp = await fetch(`/api/v1/orgs/${orgId}/contact-links/qr`, {
    method: "POST",
    headers: { Authorization: `Bearer ${savedToken()}`, "Content-Type": "application/json" },
    body: JSON.stringify({ token, format }),
  });
  if (!resp.ok) {
    const error = (await resp.json().catch(() => null))?.error || {};
    throw new ApiError(resp.status, error.code, error.message || t("contacts.qr_failed"), error.field);
  }
  return resp.blob();
}

// --- contacts --------------------------------------------------------------------------

async function loadMine(orgId) {
  const page = await api(`/api/v1/orgs/${orgId}/contacts${query({ limit: 500 })}`);
  $("contact-list").replaceChildren(...page.contacts.map((c) => contactItem(orgId, c, { mine: true })));
  show($("contacts-empty"), page.contacts.length === 0);
  $("my-contacts").dataset.loaded = "true";
}

let allAfter = 0;

async function loadAll(orgId, first = false) {
  if (first) {
    allAfter = 0;
    $("all-list").replaceChildren();
    const policy = await api(`/api/v1/orgs/${orgId}/external-contacts/policy`);
    $("all-count").textContent = t("contacts.all.count", { count: policy.contact_count, shown: formatNumber(policy.contact_count), limit: formatNumber(policy.contact_limit) });
    $("all-more").onclick = () => loadAll(orgId).catch((error) => showMessage(pageError, error.message));
  }
  const page = await api(`/api/v1/orgs/${orgId}/external-contacts${query({ after_id: allAfter, limit: PAGE_SIZE })}`);
  $("all-list").append(...page.contacts.map((c) => contactItem(orgId, c, { mine: false })));
  allAfter = page.next_after_id ?? allAfter;
  show($("all-more"), page.next_after_id !== null);
  $("all-contacts").dataset.loaded = "true";
}

function contactItem(orgId, c, { mine }) {
  return el("li", { class: "contact", dataset: { contactId: c.id } },
    el("span", { class: "contact-name" }, c.name),
    el("span", { class: "muted contact-detail" },
      mine ? t("contacts.since", { date: formatDate(c.created_at) }) : t("contacts.in_charge", { name: c.owner_name || t("contacts.nobody") })),
    mine && c.chat_group_id ? el("a", { class: "button contact-open", href: chatHref(orgId, c.chat_group_id) }, t("contacts.open_chat")) : null,
    mine ? el("button", { type: "button", class: "contact-remove", onclick: () => remove(orgId, c) }, t("contacts.remove")) : null);
}

async function remove(orgId, c) {
  if (!confirm(t("contacts.remove_confirm", { name: c.name }))) return;
  try {
    await api(`/api/v1/orgs/${orgId}/contacts/${c.id}`, { method: "DELETE" });
    await loadMine(orgId);
  } catch (error) {
    showMessage(pageError, error.message);
  }
}
