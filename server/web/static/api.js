// The one way pages talk to the server: JSON over fetch, with this device's bearer token.
//
// The token lives in localStorage (pages are static files; the API authorises).
// A 401 means the session is gone (expired, signed out elsewhere): forget the
// token and go back to the sign-in page. Every call says which language the
// page is in, so the server's error messages come back in it.

import { locale, t } from "./i18n.js";

const TOKEN_KEY = "muster.token";

export function savedToken() {
  return localStorage.getItem(TOKEN_KEY);
}

export function saveToken(token) {
  localStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  localStorage.removeItem(TOKEN_KEY);
}

/** Signs this device out on the server (if its session still exists) and forgets the token. */
export async function signOut() {
  const token = savedToken();
  forgetToken();
  if (!token) return;
  await fetch("/api/v1/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } }).catch(() => {});
}

/** An error answer of the API: {"error": {"code", "message", "field"}}. */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/**
 * Calls the API and returns the parsed JSON (null for 204).
 * `body` is sent as JSON, or as multipart if it is a FormData (a file upload).
 * `auth: false` sends no token and does not redirect on 401 (the sign-in call itself).
 */
export async function api(path, { method = "GET", body, auth = true } = {}) {
  const headers = { Accept: "application/json", "Accept-Language": locale };
  const form = body instanceof FormData;
  if (body !== undefined && !form) headers["Content-Type"] = "application/json";
  if (auth) {
    const token = savedToken();
    if (!token) {
      location.assign("/");
      throw new ApiError(401, "unauthenticated", t("error.sign_in_first"), null);
    }
    headers.Authorization = `Bearer ${token}`;
  }
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: body === undefined || form ? body : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "network", t("error.network"), null);
  }
  if (resp.status === 401 && auth) {
    forgetToken();
    location.assign("/");
  }
  if (resp.status === 204) return null;
  const data = await resp.json().catch(() => null);
  if (!resp.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(resp.status, error.code || "http_error", error.message || t("error.http", { status: resp.status }), error.field || null);
  }
  return data;
}

/** Query string from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
