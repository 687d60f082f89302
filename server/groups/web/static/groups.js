// The group chat page: wires the modules together, opens groups, and follows the device WebSocket.
// Everything comes from the JSON API; strings from the server only ever become text nodes (dom.js).

import { api, query } from "/static/api.js";
import { showMessage } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { connectLive } from "/static/live.js";
import { mountShell, showLive } from "/static/shell.js";
import { announce, loadAnnouncement } from "./announcements.js";
import { editMessage, openComposer, replyTo, setUpComposer, showError } from "./composer.js";
import { chooseTarget, setUpForward } from "./forward.js";
import { renderGroups, setUpGroupList, showChat } from "./grouplist.js";
import { setUpMembers } from "./members.js";
import { lastChange, lastShown, noteChange, renderMessage, resetView, setActions } from "./messages.js";
import { setUpReaders, showReaders } from "./readers.js";
import { closeSearch, setUpSearch } from "./search.js";
import { $, groupPath, orgPath, state } from "./state.js";
import { setUpUploads, showUnfinished } from "./uploads.js";
import { setUpVoice } from "./voice.js";

async function start() {
  // ?org=&group= opens one group: where a guest invite leads (a guest is in no organisation's list), and an
  // outsider's "Groups" place names the organisation that admits them.
  // ?org=&person= opens the direct chat with a person ("Send message" in the directory).
  const wanted = new URLSearchParams(location.search);
  const { me, org, orgs } = await mountShell({ active: "groups", orgId: Number(wanted.get("org")) || null });
  const groupId = Number(wanted.get("group")) || null;
  const personId = Number(wanted.get("person")) || null;
  state.me = me.id;
  state.orgId = Number(wanted.get("org")) || (org && org.id) || null;
  if (!state.orgId) return; // the shell says the person is in no organisation
  state.person = orgs.some((o) => o.id === state.orgId);
  if (groupId) await api(orgPath(`/groups/${groupId}`)); // an invited guest becomes a member on first use
  await loadGroups();
  if (personId) await openPerson(personId);
  else if (groupId && state.groups.has(groupId)) await openGroup(groupId);
  connectLive({
    onReady: async () => {
      showLive(true);
      await loadGroups(); // badges of every group, then what the open one missed while the socket was down
      await catchUp();
    },
    onEvent,
    onFrame: (frame) => (frame.type === "groups.resync" ? onResync(frame) : frame.type.startsWith("group.message") ? onGroupFrame(frame) : null),
    onClose: () => showLive(false),
  });
}

async function loadGroups() {
  const groups = await api(orgPath("/groups"));
  state.groups = new Map(groups.map((g) => [g.id, g]));
  renderGroups();
}

async function openGroup(groupId) {
  state.current = groupId;
  const group = state.groups.get(groupId);
  $("group-title").textContent = group.name;
  $("search-open").hidden = false;
  $("members-open").hidden = true; // until this group's members are in
  $("readers").hidden = true;
  $("forward").hidden = true;
  $("members").hidden = true;
  closeSearch();
  showMessage($("chat-status"), "");
  resetView();
  openComposer(groupId);
  showChat();
  renderGroups();
  const [detail, members, page] = await Promise.all([
    api(groupPath()),
    api(groupPath("/members") + query({ limit: 1000 })),
    api(groupPath("/messages") + query({ limit: 50 })),
  ]);
  state.role = detail.role;
  state.memberCount = detail.member_count;
  state.members = members.members;
  state.names = new Map(members.members.map((m) => [m.user_id, m.name]));
  $("members-open").hidden = false;
  page.messages.forEach(renderMessage);
  noteChange(page.last_change_seq);
  showUnfinished();
  await Promise.all([markRead(), loadAnnouncement()]);
}

/** Opens my direct chat with a person of the organisation: made the first time, the same one after. */
async function openPerson(userId) {
  const chat = await api(orgPath("/direct-chats"), { method: "POST", body: { user_id: userId } });
  if (!state.groups.has(chat.id)) await loadGroups();
  history.replaceState(null, "", `/groups?org=${state.orgId}&group=${chat.id}`); // a reload opens the chat again
  await openGroup(chat.id);
}

async function catchUp() {
  // New messages and later edits, recalls and reactions, in the order they happened.
  if (state.current === null) return;
  let more = true;
  while (more) {
    const page = await api(groupPath("/messages") + query({ changed_after: lastChange(), limit: 200 }));
    page.messages.forEach(renderMessage);
    more = page.has_more;
    if (!more) noteChange(page.last_change_seq);
  }
  await markRead();
}

async function markRead() {
  const group = state.groups.get(state.current);
  if (!group || lastShown() <= group.read_seq) return;
  const result = await api(groupPath("/read"), { method: "POST", body: { seq: lastShown() } });
  group.read_seq = Math.max(group.read_seq, result.read_seq);
  renderGroups();
}

async function recall(message) {
  try {
    renderMessage(await api(groupPath(`/messages/${message.seq}/recall`), { method: "POST" }));
    showError(null);
  } catch (error) {
    showError(error);
  }
}

setActions({
  reply: replyTo,
  edit: editMessage,
  recall,
  forward: (message) => chooseTarget(message, (name) => showMessage($("chat-status"), t("groups.forward.done", { name }))),
  readers: (message) => showReaders(message).catch(showError),
  error: showError,
});

$("announce").addEventListener("click", async () => {
  try {
    const message = await announce();
    if (message) renderMessage(message);
    await loadAnnouncement();
    showError(null);
  } catch (error) {
    showError(error);
  }
});

// --- live: frames of the device WebSocket (/static/live.js) ------------------------

async function onGroupFrame(frame) {
  const group = state.groups.get(frame.group_id);
  if (!group) return loadGroups();
  group.last_seq = Math.max(group.last_seq, frame.message.seq);
  if (frame.group_id === state.current) {
    renderMessage(frame.message);
    if (frame.message.kind === "announcement" && frame.type === "group.message") await loadAnnouncement();
    if (document.visibilityState === "visible") await markRead();
  }
  renderGroups();
}

async function onResync(frame) {
  // The server may have missed telling us of changes (its bus was down): compare and catch up.
  let behind = false;
  for (const g of frame.groups) {
    const group = state.groups.get(g.group_id);
    if (group) group.last_seq = Math.max(group.last_seq, g.last_seq);
    behind ||= g.group_id === state.current && g.last_change_seq > lastChange();
  }
  renderGroups();
  if (behind) await catchUp();
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

setUpGroupList(openGroup);
setUpComposer();
setUpSearch();
setUpReaders();
setUpForward();
setUpMembers((userId) => openPerson(userId).catch(showError));
setUpUploads();
setUpVoice(showError);
start().catch((error) => showMessage($("page-error"), error.message));
