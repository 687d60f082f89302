// What both notify pages need besides the shell and live.js: a notice's attachments.

import { el, showMessage } from "/static/dom.js";
import { downloadFile, formatSize } from "/static/files.js";

/** A notice's attachments as list items: a link opens in a new tab, a file sent with the notice downloads with the token. */
export function attachmentItems(attachments) {
  return (attachments || []).map((a) =>
    el("li", {}, a.file_id
      ? el("a", { class: "attachment-file", href: a.url, onclick: (event) => saveFile(event, a) }, `${a.name} (${formatSize(a.size)})`)
      : el("a", { class: "attachment-link", href: a.url, target: "_blank", rel: "noopener noreferrer" }, a.name)),
  );
}

function saveFile(event, attachment) {
  event.preventDefault();
  downloadFile(attachment.url, attachment.name).catch((error) => showMessage(document.getElementById("page-error"), error.message));
}
