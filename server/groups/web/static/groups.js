// The group chat page: groups with unread badges, the conversation live over
// the device WebSocket, who has and has not read a message, and file uploads
// over tus with a progress bar. Everything comes from the JSON API; strings
// from the server only ever become text nodes (dom.js).

import { api, query, savedToken } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { downloadFile, formatSize, uploadFile } from "/static/files.js";

const ORG_KEY = "muster.org";
const USER_SEQ_KEY = "muster.user_seq";

const state = {
  orgId: null,
  me: null,
  groups: new Map(), // id -> {id, name, last_seq, read_seq}
  current: null, // group id
  lastShown: 0, // highest seq shown in the current group
  lastChange: 0, // highest change_seq the current group's view reflects
  names: new Map(), // user id -> name, members of the current group
};

const $ = (id) => document.getElementById(id);

async function start() {
  // ?org=&group= opens one group: where a guest invite leads (a guest cannot list organisations).
  const wanted = new URLSearchParams(location.search);
  const groupId = Number(wanted.get("group")) || null;
  try {
    const org = await chooseOrg(Number(wanted.get("org")) || null);
    if (!org) {
      showMessage($("page-error"), "You are not in an organisation yet.");
      return;
    }
    state.orgId = org.id;
    $("org-name").textContent = org.name;
    if (groupId) await api(orgPath(`/groups/${groupId}`)); // an invited guest becomes a member on first use
    await loadGroups();
    if (groupId && state.groups.has(groupId)) await openGroup(groupId);
    connect();
  } catch (error) {
    showMessage($("page-error"), error.message);
  }
}

async function chooseOrg(orgId) {
  if (orgId) return api(`/api/v1/orgs/${orgId}`);
  const orgs = await api("/api/v1/orgs");
  const remembered = Number(localStorage.getItem(ORG_KEY));
  return orgs.find((o) => o.id === remembered) || orgs[0] || null;
}

const orgPath = (path) => `/api/v1/orgs/${state.orgId}${path}`;

async function loadGroups() {
  const groups = await api(orgPath("/groups"));
  state.groups = new Map(groups.map((g) => [g.id, g]));
  renderGroups();
}

function renderGroups() {
  const list = $("group-list");
  list.replaceChildren(
    ...[...state.groups.values()].map((g) => {
      const unread = Math.max(g.last_seq - g.read_seq, 0);
      return el(
        "li",
        {},
        el(
          "button",
          { type: "button", class: g.id === state.current ? "group-item selected" : "group-item", dataset: { groupId: g.id }, onclick: () => openGroup(g.id) },
          el("span", { class: "group-name" }, g.name),
          unread ? el("span", { class: "unread-badge", "aria-label": `${unread} unread` }, unread) : null,
        ),
      );
    }),
  );
  show($("no-groups"), state.groups.size === 0);
}

async function openGroup(groupId) {
  state.current = groupId;
  state.lastShown = 0;
  state.lastChange = 0;
  const group = state.groups.get(groupId);
  $("group-title").textContent = group.name;
  $("messages").replaceChildren();
  show($("composer"), true);
  show($("readers"), false);
  renderGroups();
  const members = await api(orgPath(`/groups/${groupId}/members`) + query({ limit: 1000 }));
  state.names = new Map(members.members.map((m) => [m.user_id, m.name]));
  const page = await api(orgPath(`/groups/${groupId}/messages`) + query({ limit: 50 }));
  page.messages.forEach(renderMessage);
  state.lastChange = Math.max(state.lastChange, page.last_change_seq);
  await markRead();
}

async function catchUp() {
  // New messages and later edits, recalls and reactions, in the order they happened.
  if (state.current === null) return;
  let more = true;
  while (more) {
    const page = await api(orgPath(`/groups/${state.current}/messages`) + query({ changed_after: state.lastChange, limit: 200 }));
    page.messages.forEach(renderMessage);
    more = page.has_more;
    if (!more) state.lastChange = Math.max(state.lastChange, page.last_change_seq);
  }
  await markRead();
}

async function markRead() {
  const group = state.groups.get(state.current);
  if (!group || state.lastShown <= group.read_seq) return;
  const result = await api(orgPath(`/groups/${state.current}/read`), { method: "POST", body: { seq: state.lastShown } });
  group.read_seq = result.read_seq;
  renderGroups();
}

function renderMessage(message) {
  const list = $("messages");
  const existing = list.querySelector(`li[data-seq="${message.seq}"]`);
  state.lastChange = Math.max(state.lastChange, message.change_seq);
  if (!existing && message.seq < state.lastShown) return; // a change to a message scrolled out of this view
  const mine = message.sender_id === state.me;
  const node = el(
    "li",
    { class: message.recalled_at ? "message recalled" : "message", dataset: { seq: message.seq } },
    el(
      "div",
      { class: "message-meta" },
      el("span", { class: "sender" }, mine ? "You" : state.names.get(message.sender_id) || "Former member"),
      el("time", { datetime: message.created_at }, new Date(message.created_at).toLocaleTimeString()),
      message.edited_at && !message.recalled_at ? el("span", {}, "edited") : null,
      mine && !message.recalled_at ? el("button", { type: "button", class: "read-state", onclick: () => showReaders(message.seq) }, "Read by…") : null,
    ),
    message.quote ? el("blockquote", { class: "quote muted" }, message.quote.body) : null,
    message.file && !message.recalled_at ? null : el("div", { class: "message-body" }, message.recalled_at ? "This message was recalled." : message.body),
    message.file
      ? el("a", { class: "file-link", href: "#", onclick: (e) => download(e, message) }, `${message.file.filename} (${formatSize(message.file.size)})`)
      : null,
  );
  if (existing) existing.replaceWith(node);
  else list.append(node);
  state.lastShown = Math.max(state.lastShown, message.seq);
  list.scrollTop = list.scrollHeight;
}

function download(event, message) {
  event.preventDefault();
  downloadFile(orgPath(`/groups/${message.group_id}/files/${message.file.id}`), message.file.filename).catch((error) =>
    showMessage($("composer-error"), error.message),
  );
}

async function showReaders(seq) {
  const base = orgPath(`/groups/${state.current}/messages/${seq}/readers`);
  const [unread, read] = await Promise.all([api(base + query({ state: "unread" })), api(base + query({ state: "read" }))]);
  $("readers-title").textContent = `Message ${seq}`;
  $("readers-counts").textContent = `${read.read_count} read · ${read.unread_count} not read yet`;
  const people = (page) => page.members.map((m) => el("li", {}, m.name));
  $("unread-list").replaceChildren(...people(unread));
  $("read-list").replaceChildren(...people(read));
  show($("readers"), true);
}

$("readers-close").addEventListener("click", () => show($("readers"), false));

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = $("message-body").value.trim();
  if (!body) return;
  $("send").disabled = true;
  try {
    const message = await api(orgPath(`/groups/${state.current}/messages`), { method: "POST", body: { body } });
    $("message-body").value = "";
    showMessage($("composer-error"), "");
    renderMessage(message);
  } catch (error) {
    showMessage($("composer-error"), error.message);
  } finally {
    $("send").disabled = false;
  }
});

$("file-input").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (file) await upload(file);
  event.target.value = "";
});

async function upload(file) {
  show($("upload"), true);
  $("upload-name").textContent = file.name;
  try {
    await uploadFile(orgPath(`/groups/${state.current}/uploads`), file, { onProgress: setProgress });
  } catch (error) {
    showMessage($("composer-error"), error.message);
  }
}

function setProgress(percent) {
  $("upload-progress").value = percent;
  $("upload-percent").textContent = `${Math.round(percent)}%`;
}

// --- live: the device WebSocket ------------------------------------------------

function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/ws`);
  ws.onopen = () => ws.send(JSON.stringify({ type: "hello", token: savedToken(), user_seq: Number(localStorage.getItem(USER_SEQ_KEY)) || 0 }));
  ws.onmessage = (event) => onFrame(JSON.parse(event.data));
  ws.onclose = () => {
    $("live-state").textContent = "reconnecting…";
    setTimeout(connect, 1000);
  };
}

async function onFrame(frame) {
  if (frame.type === "ready") {
    state.me = frame.user_id;
    localStorage.setItem(USER_SEQ_KEY, String(frame.user_seq));
    $("live-state").textContent = "live";
    document.body.dataset.live = "true";
    await loadGroups(); // badges of every group, then what the open one missed while the socket was down
    await catchUp();
  } else if (frame.type === "event") {
    localStorage.setItem(USER_SEQ_KEY, String(frame.seq));
    onEvent(frame.event, frame.data);
  } else if (frame.type === "group.message" || frame.type === "group.message_updated") {
    const group = state.groups.get(frame.group_id);
    if (!group) return loadGroups();
    group.last_seq = Math.max(group.last_seq, frame.message.seq);
    if (frame.group_id === state.current) {
      renderMessage(frame.message);
      if (document.visibilityState === "visible") await markRead();
    }
    renderGroups();
  } else if (frame.type === "groups.resync") {
    // The server may have missed telling us of changes (its bus was down): compare and catch up.
    let behind = false;
    for (const g of frame.groups) {
      const group = state.groups.get(g.group_id);
      if (group) group.last_seq = Math.max(group.last_seq, g.last_seq);
      behind ||= g.group_id === state.current && g.last_change_seq > state.lastChange;
    }
    renderGroups();
    if (behind) await catchUp();
  }
}

function onEvent(type, data) {
  if (data.org_id !== state.orgId) return;
  if (type === "group.read") {
    const group = state.groups.get(data.group_id);
    if (group) group.read_seq = Math.max(group.read_seq, data.read_seq);
    renderGroups();
  } else if (type === "group.added" || type === "group.removed") {
    loadGroups();
  }
}

start();
