// The recipient's page: urgent notices as they arrive, newest first. A notice is acknowledged
// "delivered" when it reaches this page and "read" once it is on screen (WebSocket receipts);
// "I have read this" confirms it. Reminders bring an unconfirmed notice back to the top.
// `?org=` names the organisation: how someone it admits as an outsider (a school's guardian, who
// is in no organisation's list) gets here, from a pushed notice or a link.

import { api } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { formatDateTime, t } from "/static/i18n.js";
import { connectLive } from "/static/live.js";
import { mountShell, showLive } from "/static/shell.js";
import { attachmentItems } from "./common.js";
import { offerPush } from "./push.js";

const STAGES = ["sent", "delivered", "read", "confirmed"];
const $ = (id) => document.getElementById(id);
const state = { orgId: null, notices: new Map(), live: null };
const orgPath = (path) => `/api/v1/orgs/${state.orgId}${path}`;

async function start() {
  const { org } = await mountShell({ active: "notices", orgId: Number(new URLSearchParams(location.search).get("org")) || null });
  if (!org) return;
  state.orgId = org.id;
  state.live = connectLive({
    onReady: () => {
      showLive(true);
      catchUp().catch((error) => showMessage($("page-error"), error.message));
    },
    onEvent,
    onClose: () => showLive(false),
  });
  offerPush($("push-subscribe"), $("push-state"));
}

async function catchUp() {
  const received = await api(orgPath("/broadcasts/received"));
  received.reverse().forEach((notice) => upsert(notice));
  show($("no-notices"), state.notices.size === 0);
  acknowledge();
}

function onEvent(type, data) {
  if (data.org_id !== state.orgId || (type !== "broadcast.received" && type !== "broadcast.reminder")) return;
  const known = state.notices.get(data.broadcast_id);
  upsert({
    id: data.broadcast_id, title: data.title, body: data.body, attachments: data.attachments, sender_name: data.sender,
    created_at: data.sent_at, state: known ? known.state : "sent", confirmed_at: known ? known.confirmed_at : null,
    remind_count: (known ? known.remind_count : 0) + (type === "broadcast.reminder" ? 1 : 0),
  }, { toTop: type === "broadcast.reminder" });
  show($("no-notices"), false);
  acknowledge();
}

/** Tells the server how far each notice got on this device: delivered now, read if the page is on screen. */
function acknowledge() {
  const target = document.visibilityState === "visible" ? "read" : "delivered";
  for (const notice of state.notices.values()) {
    if (STAGES.indexOf(notice.state) >= STAGES.indexOf(target)) continue;
    for (const stage of STAGES.slice(STAGES.indexOf(notice.state) + 1, STAGES.indexOf(target) + 1)) {
      // Not connected: nothing is lost, catchUp() acknowledges again on the next connect.
      if (state.live.send({ type: "broadcast.receipt", broadcast_id: notice.id, state: stage, ref: `${notice.id}:${stage}` })) notice.state = stage;
    }
    render(notice);
  }
}

document.addEventListener("visibilitychange", acknowledge);

function upsert(notice, { toTop = false } = {}) {
  const known = state.notices.get(notice.id);
  if (known && STAGES.indexOf(known.state) > STAGES.indexOf(notice.state)) notice.state = known.state;
  state.notices.set(notice.id, notice);
  render(notice, { toTop: toTop || !known });
}

function render(notice, { toTop = false } = {}) {
  const confirmed = notice.state === "confirmed";
  const node = el(
    "li",
    { class: `card notice${confirmed ? " confirmed" : ""}${notice.remind_count && !confirmed ? " reminded" : ""}`, dataset: { id: notice.id, state: notice.state } },
    el("h2", { class: "notice-title" }, notice.title),
    el("p", { class: "notice-meta muted" },
      t("inbox.from", { name: notice.sender_name || t("inbox.former_member") }), " · ", el("time", { datetime: notice.created_at }, formatDateTime(notice.created_at))),
    notice.remind_count && !confirmed ? el("p", { class: "reminder" }, t("inbox.reminder")) : null,
    el("div", { class: "notice-body" }, notice.body),
    notice.attachments && notice.attachments.length ? el("ul", { class: "attachments" }, ...attachmentItems(notice.attachments)) : null,
    confirmed
      ? el("p", { class: "confirmed-at" }, t("inbox.confirmed_at", { when: formatDateTime(notice.confirmed_at) }))
      : el("button", { type: "button", class: "primary confirm", onclick: () => confirmNotice(notice.id) }, t("inbox.confirm")),
  );
  const list = $("notices");
  const existing = list.querySelector(`li[data-id="${notice.id}"]`);
  if (existing && !toTop) existing.replaceWith(node);
  else {
    if (existing) existing.remove();
    list.prepend(node);
  }
}

async function confirmNotice(id) {
  try {
    const mine = await api(orgPath(`/broadcasts/${id}/receipt`), { method: "POST", body: { state: "confirmed" } });
    upsert({ ...state.notices.get(id), ...mine });
  } catch (error) {
    showMessage($("page-error"), error.message);
  }
}

start().catch((error) => showMessage($("page-error"), error.message));
