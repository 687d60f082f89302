// Writing: a new message, a reply (quoting the message), or an edit of mine; the draft stays per group.

import { api } from "/static/api.js";
import { show, showMessage } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { loadDraft, saveDraft } from "./drafts.js";
import { forgetMentions, mentionsIn, setUpMentions } from "./mentions.js";
import { renderMessage } from "./messages.js";
import { $, groupPath, state } from "./state.js";

let mode = null; // null, {reply: message} or {edit: message}

export function showError(error) {
  showMessage($("composer-error"), error ? error.message : "");
}

/** The composer for the group just opened: its own draft, no reply or edit pending. */
export function openComposer(groupId) {
  setMode(null);
  forgetMentions();
  $("message-body").value = loadDraft(groupId);
  showError(null);
  show($("composer"), true);
}

function setMode(next, label = "") {
  mode = next;
  $("composer-context-text").textContent = label;
  show($("composer-context"), next !== null);
}

export function replyTo(message) {
  setMode({ reply: message }, t("groups.composer.replying", { name: state.names.get(message.sender_id) || t("groups.chat.former_member"), text: message.body.slice(0, 80) }));
  $("message-body").focus();
}

export function editMessage(message) {
  setMode({ edit: message }, t("groups.composer.editing"));
  $("message-body").value = message.body;
  $("message-body").focus();
}

async function submit(event) {
  event.preventDefault();
  const body = $("message-body").value.trim();
  if (!body) return;
  $("send").disabled = true;
  try {
    const message = mode && mode.edit
      ? await api(groupPath(`/messages/${mode.edit.seq}`), { method: "PATCH", body: { body } })
      : await api(groupPath("/messages"), { method: "POST", body: { body, ...mentionsIn(body), reply_to_seq: mode && mode.reply ? mode.reply.seq : null } });
    const editing = mode && mode.edit;
    $("message-body").value = editing ? loadDraft(state.current) : "";
    if (!editing) saveDraft(state.current, "");
    setMode(null);
    forgetMentions();
    showError(null);
    renderMessage(message);
  } catch (error) {
    showError(error); // the server's own words, in the reader's language; the text stays in the box
  } finally {
    $("send").disabled = false;
  }
}

export function setUpComposer() {
  setUpMentions();
  $("composer").addEventListener("submit", submit);
  $("message-body").addEventListener("input", () => {
    if (!(mode && mode.edit)) saveDraft(state.current, $("message-body").value);
  });
  $("message-body").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("composer").requestSubmit();
  });
  $("composer-context-cancel").addEventListener("click", () => {
    if (mode && mode.edit) $("message-body").value = loadDraft(state.current);
    setMode(null);
  });
}
