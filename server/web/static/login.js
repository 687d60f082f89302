// The sign-in page: two ways in, as tabs. Email and password, then the
// authenticator code if the account has two-factor sign-in (the server answers
// `totp_required`); or a phone number and a code sent by SMS (login-phone.js).
// "Remember this device" keeps the token the server gives for it, per account,
// in localStorage: the next sign-in of that account here sends it instead of a code.

import { api, savedToken } from "./api.js";
import { show, showMessage } from "./dom.js";
import { t } from "./i18n.js";
import { phoneOrg } from "./login-phone.js";
import { languageSelect } from "./shell.js";
import { deviceName, enter, nextPage } from "./sign-in.js";

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

const tabs = { email: document.getElementById("way-email"), phone: document.getElementById("way-phone") };
const panels = { email: form, phone: document.getElementById("phone-form") };

/** Show one way in; the tabs follow the WAI-ARIA tabs pattern (arrow keys move between them). */
function choose(way, focus = false) {
  for (const [name, tab] of Object.entries(tabs)) {
    tab.setAttribute("aria-selected", String(name === way));
    tab.tabIndex = name === way ? 0 : -1;
    show(panels[name], name === way);
  }
  if (focus) tabs[way].focus();
}
for (const [name, tab] of Object.entries(tabs)) {
  tab.addEventListener("click", () => choose(name));
  tab.addEventListener("keydown", (event) => {
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") choose(name === "email" ? "phone" : "email", true);
  });
}
choose(phoneOrg() ? "phone" : "email"); // a link that names the organisation, or the last phone sign-in here

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
    if (answer.trusted_device_token) localStorage.setItem(trustKey, answer.trusted_device_token);
    enter(answer);
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
