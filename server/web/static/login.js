// The sign-in page: email and password, then the authenticator code if the
// account has two-factor sign-in (the server answers `totp_required`).

import { api, saveToken, savedToken } from "./api.js";
import { show, showMessage } from "./dom.js";
import { adoptLocale, t } from "./i18n.js";
import { languageSelect } from "./shell.js";

const form = document.getElementById("login-form");
const email = document.getElementById("email");
const password = document.getElementById("password");
const totpRow = document.getElementById("totp-row");
const totpCode = document.getElementById("totp-code");
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
  if (!totpRow.hidden && totpCode.value.trim()) body.totp_code = totpCode.value.replace(/\s+/g, "");

  submit.disabled = true;
  try {
    const answer = await api("/api/v1/auth/login", { method: "POST", body, auth: false });
    saveToken(answer.token);
    adoptLocale(answer.user.locale);
    location.assign(nextPage());
  } catch (error) {
    if (error.code === "totp_required") {
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
