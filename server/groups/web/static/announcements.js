// The open group's pinned announcement: shown on top (opening it is recorded), with how many opened it;
// group admins post one from the composer's text.

import { api } from "/static/api.js";
import { show } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { $, groupPath, isAdmin } from "./state.js";

export async function loadAnnouncement() {
  show($("announce"), isAdmin());
  const pinned = await api(groupPath("/announcements"));
  const newest = pinned[0];
  show($("announcement"), Boolean(newest));
  if (!newest) return;
  $("announcement-body").textContent = newest.message.body;
  $("announcement-opens").textContent = t("groups.announce.opens", { opened: newest.opened_count, not_opened: newest.not_opened_count });
  if (!newest.opened_by_me) await api(groupPath(`/announcements/${newest.message.seq}/open`), { method: "POST" });
}

/** Posts the composer's text as an announcement; resolves with the message, rejects with the server's reason. */
export async function announce() {
  const body = $("message-body").value.trim();
  if (!body) return null;
  const pinned = await api(groupPath("/announcements"), { method: "POST", body: { body } });
  $("message-body").value = "";
  return pinned.message;
}
