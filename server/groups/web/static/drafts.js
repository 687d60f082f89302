// An unsent message is kept per group on this device (localStorage), so switching groups or reloading loses nothing.

import { state } from "./state.js";

const key = (groupId) => `muster.draft.${state.orgId}.${groupId}`;

export const loadDraft = (groupId) => localStorage.getItem(key(groupId)) || "";

export function saveDraft(groupId, text) {
  if (text) localStorage.setItem(key(groupId), text);
  else localStorage.removeItem(key(groupId));
}
