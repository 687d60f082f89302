// The sign-in page: email and password, then the authenticator code if the
// account has two-factor sign-in (the server answers `totp_required`).
// "Remember this device" keeps the token the server gives for it, per account,
// in localStorage: the next sign-in of that account here sends it instead of a code.

import { api, saveToken, savedToken } from "./api.js";
import { show, showMessage } from "./dom.js";
import { adoptLocale, t } from "./i18n.js";
import { languageSelect } from "./shell.js";

const form = document.getElementById("login-form");
const email = document.getElementById("email");
const password = document.getElementById("password");
const totpRow = document.getElementById("totp-row");
const totpCode = document.getElementById("totp-code");
const rememberDevice = document.getElementById("remember-device");
const errorBox = document.getElementById("login-error");
const submit = document.getElementById("login-submit");

document.getElementById("language").append(languageSelect({ signedIn: false }));
if (savedToken()) location.replace(nextPage());

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showMessage(errorBox, "");
  if (!email.value.trim() || !password.value) {
    showMessage(errorBox, t("login.missing"));
    return;
  }
  const body = { email: email.value.trim(), password: password.value, device_name: deviceName() };
  const trustKey = `muster.trusted.${body.email.toLowerCase()}`;
  const trustToken = localStorage.getItem(trustKey);
  if (!totpRow.hidden && totpCode.value.trim()) {
    body.totp_code = totpCode.value.replace(/\s+/g, "");
    body.remember_device = rememberDevice.checked;
  } else if (trustToken) {
    body.trusted_device_token = trustToken;
  }

  submit.disabled = true;
  try {
    const answer = await api("/api/v1/auth/login", { method: "POST", body, auth: false });
    saveToken(answer.token);
    if (answer.trusted_device_token) localStorage.setItem(trustKey, answer.trusted_device_token);
    adoptLocale(answer.user.locale);
    location.assign(nextPage());
  } catch (error) {
    if (error.code === "totp_required") {
      if (body.trusted_device_token) localStorage.removeItem(trustKey); // no longer remembered (revoked, expired, password changed)
      show(totpRow, true);
      totpCode.focus();
    }
    showMessage(errorBox, error.message);
  } finally {
    submit.disabled = false;
  }
});

/** A readable name for this device in the list of sessions, e.g. "Chrome on Linux". */
function deviceName() {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox" : /Chrom/.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "Browser";
  const system = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Windows/.test(ua) ? "Windows" : /Mac OS/.test(ua) ? "macOS" : /Linux/.test(ua) ? "Linux" : "";
  return system ? `${browser} on ${system}` : browser;
}

/** Where to go once signed in: the page that sent the person here (same site only), else home. */
function nextPage() {
  const next = new URLSearchParams(location.search).get("next") || "";
  return next.startsWith("/") && !/^\/[/\\]/.test(next) ? next : "/home"; // never "//host" or "/\\host": another site
}
