// What every way of signing in shares (password, code sent by SMS, sign-in link):
// the name this device gets in the list of sessions, and where to go once in.

import { saveToken } from "./api.js";
import { adoptLocale } from "./i18n.js";

/** A readable name for this device in the list of sessions, e.g. "Chrome on Linux". */
export function deviceName() {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox" : /Chrom/.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "Browser";
  const system = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Windows/.test(ua) ? "Windows" : /Mac OS/.test(ua) ? "macOS" : /Linux/.test(ua) ? "Linux" : "";
  return system ? `${browser} on ${system}` : browser;
}

/** Where to go once signed in: the page that sent the person here (same site only), else home. */
export function nextPage() {
  const next = new URLSearchParams(location.search).get("next") || "";
  return next.startsWith("/") && !/^\/[/\\]/.test(next) ? next : "/home"; // never "//host" or "/\\host": another site
}

/** Keep the session the server answered with, read in the person's language, and go in. */
export function enter(answer, page = nextPage()) {
  saveToken(answer.token);
  adoptLocale(answer.user.locale);
  location.replace(page);
}
