// The sender's page: compose a notice for members, departments, groups or everyone, or for units a
// capability offers (a school's classes, schools, districts, and for each their families, their
// staff or both), with files (uploaded with tus as soon as they are picked, with their progress) and
// links; send it, then follow its receipts live. A sender limited to part of the organisation (a head
// teacher) is offered only their units. The counts and lists are refetched whenever a
// `broadcast.updated` frame about this notice arrives on the WebSocket (a lost frame costs freshness,
// never truth).

import { api, query } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { formatSize, terminateUpload, uploadFile } from "/static/files.js";
import { formatDateTime, t } from "/static/i18n.js";
import { connectLive } from "/static/live.js";
import { mountShell, showLive } from "/static/shell.js";
import { attachmentItems } from "./common.js";

const STATES = ["sent", "delivered", "read", "confirmed"];
const LISTS = ["unread", "read", "confirmed"]; // who has not read yet, then by state
const LIST_LIMIT = 200;
const REFRESH_DELAY_MS = 100;
const PREVIEW_DELAY_MS = 300;

const $ = (id) => document.getElementById(id);
const state = { orgId: null, whole: false, pickers: [], chosen: new Map(), files: new Set(), current: null, refreshTimer: null, searchTimer: null, previewTimer: null };
const orgPath = (path) => `/api/v1/orgs/${state.orgId}${path}`;

async function start() {
  const { org } = await mountShell({ active: "send-notice" });
  if (!org) return;
  state.orgId = org.id;
  const reach = await api(orgPath("/audiences/reach"));
  state.whole = reach.whole;
  state.pickers = reach.pickers;
  await Promise.all(reach.pickers.map(mountPicker));
  if (reach.whole) {
    show($("whole-org"), true);
    const [departments, groups] = await Promise.all([api(orgPath("/departments")), api(orgPath("/groups"))]);
    $("departments").replaceChildren(...departments.map((d) => checkbox("department", d.id, d.name, d.path.split("/").length - 3)));
    const audiences = groups.filter((g) => g.kind !== "direct"); // a direct chat is two people, chosen as members
    $("groups").replaceChildren(...audiences.map((g) => checkbox("group", g.id, g.name, 0)));
  }
  $("compose").addEventListener("change", schedulePreview);
  await loadHistory();
  connectLive({
    onReady: () => {
      showLive(true);
      if (state.current) scheduleRefresh();
    },
    onFrame: (frame) => frame.type === "broadcast.updated" && frame.broadcast_id === state.current && scheduleRefresh(),
    onClose: () => showLive(false),
  });
  const wanted = Number(new URLSearchParams(location.hash.slice(1)).get("broadcast"));
  if (wanted) await openDashboard(wanted);
}

function checkbox(kind, id, name, depth) {
  return el("li", { class: `depth-${Math.min(depth, 5)}` }, el("label", { class: "check" }, el("input", { type: "checkbox", dataset: { kind, id } }), name));
}

// --- a capability's units (a school's classes...): a level at a time, and the kinds of people under them ---

async function mountPicker(picker) {
  const kinds = el("div", { class: "picker-kinds" },
    ...picker.kinds.map((k) => el("label", { class: "check" }, el("input", { type: "checkbox", dataset: { pickerKind: k.kind, picker: picker.key } }), k.label)));
  const tree = el("ul", { class: "picks unit-tree", dataset: { picker: picker.key } });
  $("pickers").append(el("section", { class: "picker", dataset: { picker: picker.key } }, el("h3", {}, picker.label), kinds, tree));
  tree.replaceChildren(...await unitItems(picker.key, null));
}

async function unitItems(key, parentId) {
  const units = await api(orgPath("/audiences/units") + query({ picker: key, parent_id: parentId }));
  return units.map((unit) => {
    const children = el("ul", { class: "unit-children", hidden: true });
    const opener = unit.has_children
      ? el("button", { type: "button", class: "unit-open", "aria-expanded": "false", "aria-label": t("send.unit_open", { name: unit.name }),
        onclick: async () => {
          const open = opener.getAttribute("aria-expanded") !== "true";
          if (open && !children.childElementCount) children.replaceChildren(...await unitItems(key, unit.id));
          opener.setAttribute("aria-expanded", String(open));
          opener.textContent = open ? "▾" : "▸";
          show(children, open);
        } }, "▸")
      : el("span", { class: "unit-open" });
    return el("li", { class: "unit" },
      el("div", { class: "unit-row" }, opener,
        el("label", { class: "check" }, el("input", { type: "checkbox", dataset: { unit: unit.id, picker: key } }),
          el("span", { class: "unit-name" }, unit.name), el("span", { class: "muted unit-kind" }, unit.kind))),
      children);
  });
}

/** The parts the pickers name: each ticked kind (families, staff) with every ticked unit; null if units are ticked without a kind. */
function pickedParts() {
  const parts = {};
  for (const picker of state.pickers) {
    const units = [...document.querySelectorAll(`input[data-unit][data-picker="${picker.key}"]:checked`)].map((i) => Number(i.dataset.unit));
    const kinds = [...document.querySelectorAll(`input[data-picker-kind][data-picker="${picker.key}"]:checked`)].map((i) => i.dataset.pickerKind);
    if (units.length && !kinds.length) return null;
    if (units.length) for (const kind of kinds) parts[kind] = units;
  }
  return parts;
}

function recipients() {
  const ticked = (kind) => [...document.querySelectorAll(`input[data-kind="${kind}"]:checked`)].map((i) => Number(i.dataset.id));
  const parts = pickedParts() || {};
  if (!state.whole) return { parts };
  return { everyone: $("everyone").checked, user_ids: [...state.chosen.keys()], department_ids: ticked("department"), group_ids: ticked("group"), parts };
}

// --- how many people the choice reaches (the platform's preview) ------------------------------

function schedulePreview() {
  clearTimeout(state.previewTimer);
  state.previewTimer = setTimeout(() => preview().catch(() => ($("reach-count").textContent = "")), PREVIEW_DELAY_MS);
}

async function preview() {
  const chosen = recipients();
  if (!(chosen.everyone || [chosen.user_ids, chosen.department_ids, chosen.group_ids, ...Object.values(chosen.parts)].some((ids) => ids && ids.length))) {
    $("reach-count").textContent = "";
    return;
  }
  const answer = await api(orgPath("/audiences/preview"), { method: "POST", body: chosen });
  $("reach-count").textContent = t("send.reaches", { count: answer.total });
}

// --- members: search the directory, pick ------------------------------------------

$("member-search").addEventListener("input", () => {
  clearTimeout(state.searchTimer);
  state.searchTimer = setTimeout(searchMembers, 200);
});

async function searchMembers() {
  const q = $("member-search").value.trim();
  if (!q) return $("member-results").replaceChildren();
  const page = await api(orgPath("/members") + query({ q, limit: 10 }));
  $("member-results").replaceChildren(
    ...page.items.map((m) => el("li", {}, el("button", { type: "button", class: "pick", onclick: () => choose(m) }, t("send.add_member", { name: m.display_name })))),
  );
}

function choose(member) {
  state.chosen.set(member.user_id, member.display_name);
  $("member-search").value = "";
  $("member-results").replaceChildren();
  renderChosen();
  schedulePreview();
}

function renderChosen() {
  $("chosen-members").replaceChildren(
    ...[...state.chosen].map(([userId, name]) =>
      el("li", { class: "chip" }, name, el("button", { type: "button", "aria-label": t("send.remove", { name }), onclick: () => (state.chosen.delete(userId), renderChosen()) }, "×")),
    ),
  );
}

// --- files: uploaded when picked, attached by their upload id when the notice is sent -------

$("attachment-input").addEventListener("change", (event) => {
  for (const file of event.target.files) addFile(file);
  event.target.value = "";
});

function addFile(file) {
  const entry = { uploadId: null, location: null, controller: new AbortController() };
  const progress = el("progress", { max: 100, value: 0 });
  const percent = el("span", { class: "percent" }, "0%");
  entry.row = el("li", { class: "file-row", dataset: { state: "uploading" } },
    el("span", { class: "file-name" }, `${file.name} (${formatSize(file.size)})`), progress, percent,
    el("button", { type: "button", "aria-label": t("send.remove", { name: file.name }), onclick: () => removeFile(entry) }, "×"));
  state.files.add(entry);
  $("files").append(entry.row);
  const onProgress = (p) => {
    progress.value = p;
    percent.textContent = `${Math.round(p)}%`;
  };
  uploadFile(orgPath("/broadcast-attachments"), file, { signal: entry.controller.signal, onCreated: (location) => (entry.location = location), onProgress })
    .then((done) => {
      entry.uploadId = done.id;
      entry.row.dataset.state = "done";
    })
    .catch((error) => {
      if (error.name === "AbortError") return;
      entry.row.dataset.state = "failed";
      percent.textContent = error.message;
    });
}

function removeFile(entry) {
  entry.controller.abort();
  if (entry.location) terminateUpload(entry.location); // gives the quota back
  state.files.delete(entry);
  entry.row.remove();
}

// --- links ---------------------------------------------------------------------------

$("add-link").addEventListener("click", () => {
  $("links").append(
    el("li", { class: "link-row" },
      el("input", { class: "link-name", placeholder: t("send.link_name"), "aria-label": t("send.link_name"), maxlength: 200 }),
      el("input", { class: "link-url", type: "url", placeholder: "https://…", "aria-label": t("send.link_url"), maxlength: 2000 })),
  );
});

// --- send ------------------------------------------------------------------------------

$("compose").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (pickedParts() === null) return showMessage($("compose-error"), t("send.pick_kind"));
  const attachments = [...document.querySelectorAll(".link-row")]
    .map((row) => ({ name: row.querySelector(".link-name").value.trim(), url: row.querySelector(".link-url").value.trim() }))
    .filter((a) => a.url)
    .map((a) => ({ name: a.name || a.url, url: a.url }));
  const files = [...state.files];
  if (files.some((f) => !f.uploadId)) return showMessage($("compose-error"), t("send.wait_for_uploads"));
  attachments.push(...files.map((f) => ({ upload_id: f.uploadId })));
  const body = {
    title: $("title").value.trim(),
    body: $("body").value.trim(),
    attachments,
    recipients: recipients(),
  };
  $("send").disabled = true;
  try {
    const sent = await api(orgPath("/broadcasts"), { method: "POST", body });
    showMessage($("compose-error"), "");
    $("compose").reset();
    $("links").replaceChildren();
    $("files").replaceChildren();
    state.files.clear();
    state.chosen.clear();
    renderChosen();
    $("reach-count").textContent = "";
    await openDashboard(sent.id, sent.unknown);
    await loadHistory();
  } catch (error) {
    showMessage($("compose-error"), error.message);
  } finally {
    $("send").disabled = false;
  }
});

function describeUnknown(unknown) {
  const parts = Object.entries(unknown || {}).filter(([, ids]) => ids.length).map(([kind, ids]) => t(`send.unknown.${kind}`, { ids: ids.join(", ") }));
  return parts.length ? t("send.unknown", { which: parts.join("; ") }) : "";
}

// --- the receipt dashboard --------------------------------------------------------------

async function loadHistory() {
  const sent = await api(orgPath("/broadcasts"));
  $("history").replaceChildren(
    ...sent.map((b) => el("li", {}, el("button", { type: "button", class: "pick", onclick: () => openDashboard(b.id) }, `${b.title} · ${formatDateTime(b.created_at)}`))),
  );
}

async function openDashboard(broadcastId, unknown) {
  state.current = broadcastId;
  history.replaceState(null, "", `#broadcast=${broadcastId}`);
  showMessage($("dash-unknown"), describeUnknown(unknown));
  $("remind-result").textContent = "";
  show($("dashboard"), true);
  await refresh();
}

function scheduleRefresh() {
  if (state.refreshTimer) return;
  state.refreshTimer = setTimeout(() => {
    state.refreshTimer = null;
    refresh().catch((error) => showMessage($("page-error"), error.message));
  }, REFRESH_DELAY_MS);
}

async function refresh() {
  const id = state.current;
  const base = orgPath(`/broadcasts/${id}`);
  const [broadcast, failed, ...lists] = await Promise.all([
    api(base),
    api(base + "/deliveries" + query({ status: "failed", limit: LIST_LIMIT })),
    ...LISTS.map((s) => api(base + "/recipients" + query({ state: s, limit: LIST_LIMIT }))),
  ]);
  if (id !== state.current) return;
  $("dash-title").textContent = broadcast.title;
  $("dash-meta").textContent = t("send.meta", { when: formatDateTime(broadcast.created_at), count: broadcast.recipient_count });
  $("dash-attachments").replaceChildren(...attachmentItems(broadcast.attachments));
  for (const s of STATES) document.querySelector(`[data-count="${s}"]`).textContent = String(broadcast.counts[s]);
  $("unread-heading").textContent = t("send.list.unread_count", { count: lists[0].count });
  LISTS.forEach((s, i) => {
    document.querySelector(`ul[data-state="${s}"]`).replaceChildren(
      ...lists[i].items.map((r) =>
        el("li", { dataset: { userId: r.user_id, state: r.state } }, r.name,
          el("span", { class: "muted" }, ` ${s === "unread" ? notReadYet(r) : formatDateTime(r[`${s}_at`])}`),
          r.remind_count ? el("span", { class: "remind-count" }, ` ${t("send.reminded", { count: r.remind_count })}`) : null),
      ),
    );
  });
  $("escalations").textContent = Object.entries(broadcast.escalations)
    .map(([channel, byStatus]) => `${t(`channel.${channel}`)}: ${Object.entries(byStatus).map(([status, n]) => t(`delivery.${status}`, { count: n })).join(", ")}`)
    .join(" · ");
  $("failed").replaceChildren(...failed.map((d) =>
    el("li", { class: "failed-delivery" }, t("send.failed", { name: d.name, channel: t(`channel.${d.channel}`), error: d.last_error || t("send.unknown_reason") }))));
}

/** Where someone who has not read yet is: their device has the notice (since when), or not yet. */
const notReadYet = (r) => (r.delivered_at ? t("send.delivered_at", { when: formatDateTime(r.delivered_at) }) : t("send.not_delivered"));

$("remind").addEventListener("click", async () => {
  $("remind").disabled = true;
  try {
    const result = await api(orgPath(`/broadcasts/${state.current}/remind`), { method: "POST" });
    $("remind-result").textContent = t("send.reminded_people", { count: result.reminded });
    await refresh();
  } catch (error) {
    $("remind-result").textContent = error.message;
  } finally {
    $("remind").disabled = false;
  }
});

start().catch((error) => showMessage($("page-error"), error.message));
