// What the rounds' pages share: the round's id from the URL and the organisation it belongs to.
//
// A link to a round (a reminder, a QR code) names only the round; the person may be in
// several organisations, so the page asks each of theirs (the last used first) until one has it.

import { ApiError, api } from "/static/api.js";

/** The number after `prefix` in the path (`/f/12` → 12), or null. */
export function idFromPath(prefix) {
  const match = location.pathname.match(new RegExp(`^${prefix}/(\\d+)`));
  return match ? Number(match[1]) : null;
}

/** [orgId, answer] of the first organisation of `orgs` (`first` tried first) whose `path(orgId)` answers; null if none does. */
export async function findInOrgs(orgs, first, path) {
  const ids = [first?.id, ...orgs.map((o) => o.id)].filter((id, i, all) => id && all.indexOf(id) === i);
  for (const id of ids) {
    try {
      return [id, await api(path(id))];
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404) throw error;
    }
  }
  return null;
}

/** Downloads what `path` answers (with the device's token) as a file named `name`. */
export async function download(path, name, token) {
  const resp = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
  if (!resp.ok) throw new Error((await resp.json().catch(() => null))?.error?.message || resp.statusText);
  const url = URL.createObjectURL(await resp.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
