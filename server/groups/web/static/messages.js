// The conversation: each message with its sender, quote, text (or image, voice, file), reactions and the actions
// open to me. Server strings only ever become text nodes (dom.js).

import { el } from "/static/dom.js";
import { downloadFile, formatSize } from "/static/files.js";
import { formatTime, t } from "/static/i18n.js";
import { blobUrl } from "./media.js";
import { reactionBar } from "./reactions.js";
import { $, groupPath, orgPath, state } from "./state.js";

const view = { lastShown: 0, lastChange: 0, byseq: new Map() };
let actions = {}; // reply, edit, recall, forward, readers, error: set by groups.js

export function setActions(handlers) {
  actions = handlers;
}

export function resetView() {
  view.lastShown = 0;
  view.lastChange = 0;
  view.byseq.clear();
  $("messages").replaceChildren();
}

export const lastShown = () => view.lastShown;
export const lastChange = () => view.lastChange;
export const noteChange = (changeSeq) => (view.lastChange = Math.max(view.lastChange, changeSeq));
export const messageBySeq = (seq) => view.byseq.get(seq);

const senderName = (id) => (id === state.me ? t("groups.chat.you") : state.names.get(id) || t("groups.chat.former_member"));

export function renderMessage(message) {
  const list = $("messages");
  const existing = list.querySelector(`li[data-seq="${message.seq}"]`);
  noteChange(message.change_seq);
  if (!existing && message.seq < view.lastShown) return; // a change to a message scrolled out of this view
  view.byseq.set(message.seq, message);
  const node = el(
    "li",
    { class: `message${message.recalled_at ? " recalled" : ""}${message.sender_id === state.me ? " mine" : ""}`, dataset: { seq: message.seq, kind: message.kind } },
    meta(message),
    message.quote ? el("blockquote", { class: "quote muted" }, message.quote.recalled ? t("groups.chat.recalled") : message.quote.body) : null,
    content(message),
    message.recalled_at ? null : reactionBar(message, renderMessage, actions.error),
    message.recalled_at ? null : buttons(message),
  );
  if (existing) existing.replaceWith(node);
  else list.append(node);
  view.lastShown = Math.max(view.lastShown, message.seq);
  if (!existing) list.scrollTop = list.scrollHeight;
}

function meta(message) {
  return el(
    "div",
    { class: "message-meta" },
    el("span", { class: "sender" }, senderName(message.sender_id)),
    el("time", { datetime: message.created_at }, formatTime(message.created_at)),
    message.kind === "announcement" ? el("span", { class: "tag" }, t("groups.announce.label")) : null,
    message.forwarded_from ? el("span", { class: "tag forwarded" }, t("groups.chat.forwarded")) : null,
    message.edited_at && !message.recalled_at ? el("span", { class: "edited" }, t("groups.chat.edited")) : null,
  );
}

function content(message) {
  if (message.recalled_at) return el("div", { class: "message-body" }, t("groups.chat.recalled"));
  const file = message.file;
  if (message.kind === "image" && file) {
    const img = el("img", { class: "thumbnail", alt: file.filename, onload: () => keepLastInView(img) });
    blobUrl(orgPath(`/files/${file.id}/thumbnail`)).then((url) => (img.src = url), () => img.replaceWith(fileLink(message)));
    return el("a", { class: "image-link", href: "#", onclick: (e) => download(e, message) }, img);
  }
  if (message.kind === "voice" && file) {
    const audio = el("audio", { class: "voice-player", controls: true, preload: "none" });
    blobUrl(groupPath(`/files/${file.id}`, message.group_id)).then((url) => (audio.src = url), () => {});
    const seconds = Math.round((message.duration_ms || 0) / 1000);
    return el("div", { class: "voice" }, el("span", { class: "voice-length" }, t("groups.voice.length", { seconds })), audio);
  }
  if (file) return fileLink(message);
  return el("div", { class: "message-body" }, message.body);
}

/** A late image of the newest message pushes it down: keep it in view. */
function keepLastInView(node) {
  const list = $("messages");
  if (list.lastElementChild && list.lastElementChild.contains(node)) list.scrollTop = list.scrollHeight;
}

function fileLink(message) {
  return el("a", { class: "file-link", href: "#", onclick: (e) => download(e, message) }, `${message.file.filename} (${formatSize(message.file.size)})`);
}

function download(event, message) {
  event.preventDefault();
  downloadFile(groupPath(`/files/${message.file.id}`, message.group_id), message.file.filename).catch(actions.error);
}

function buttons(message) {
  const mine = message.sender_id === state.me;
  const button = (cls, label, handler) => el("button", { type: "button", class: `action ${cls}`, onclick: () => handler(message) }, label);
  return el(
    "div",
    { class: "message-actions" },
    button("reply", t("groups.action.reply"), actions.reply),
    button("forward", t("groups.action.forward"), actions.forward),
    mine && (message.kind === "text" || message.kind === "announcement") ? button("edit", t("groups.action.edit"), actions.edit) : null,
    mine ? button("recall", t("groups.action.recall"), actions.recall) : null,
    mine ? button("read-state", t("groups.action.readers"), actions.readers) : null,
  );
}
