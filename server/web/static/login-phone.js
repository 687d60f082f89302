// Signing in with a phone number: the number, then the code the SMS brings, then in
// (and the authenticator code too, for an account with two-factor sign-in).
//
// Which organisation sends the code: `?org=<its address>` in the link people
// were given (a school's letter, a class QR code), else the one this browser
// last signed in to by phone, else the person types its address.

import { api } from "./api.js";
import { show, showMessage } from "./dom.js";
import { t } from "./i18n.js";
import { deviceName, enter } from "./sign-in.js";

const ORG_KEY = "muster.phone_org";

const form = document.getElementById("phone-form");
const orgRow = document.getElementById("phone-org-row");
const orgInput = document.getElementById("phone-org");
const phone = document.getElementById("phone");
const send = document.getElementById("phone-send");
const codeRow = document.getElementById("phone-code-row");
const sent = document.getElementById("phone-sent");
const code = document.getElementById("phone-code");
const totpRow = document.getElementById("phone-totp-row");
const totpCode = document.getElementById("phone-totp");
const resend = document.getElementById("phone-resend");
const submit = document.getElementById("phone-submit");
const errorBox = document.getElementById("phone-error");
let resendTimer = null;

/** The organisation's address from the link, or the last one used here; "" if neither. */
export function phoneOrg() {
  return new URLSearchParams(location.search).get("org") || localStorage.getItem(ORG_KEY) || "";
}

orgInput.value = phoneOrg();
show(orgRow, !orgInput.value);

async function askForCode() {
  showMessage(errorBox, "");
  const org = orgInput.value.trim();
  if (!org || !phone.value.trim()) {
    show(orgRow, true);
    showMessage(errorBox, t("login.phone_missing"));
    return;
  }
  send.disabled = resend.disabled = true;
  try {
    const answer = await api("/api/v1/auth/phone/code", { method: "POST", body: { phone: phone.value.trim(), org_slug: org }, auth: false });
    sent.textContent = t("login.code_sent", { minutes: Math.round(answer.expires_in_s / 60) });
    show(send, false);
    show(codeRow, true);
    code.value = "";
    code.focus();
    waitToResend(answer.resend_in_s);
  } catch (error) {
    showMessage(errorBox, error.message);
    send.disabled = false;
    resend.disabled = false;
  }
}

/** "Send a new code" is offered once the server would send one. */
function waitToResend(seconds) {
  clearTimeout(resendTimer);
  resend.disabled = seconds > 0;
  if (seconds > 0) resendTimer = setTimeout(() => { resend.disabled = false; }, seconds * 1000);
}

send.addEventListener("click", askForCode);
resend.addEventListener("click", askForCode);
phone.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && codeRow.hidden) {
    event.preventDefault();
    askForCode();
  }
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (codeRow.hidden) return askForCode();
  showMessage(errorBox, "");
  const body = { phone: phone.value.trim(), code: code.value.replace(/\s+/g, ""), device_name: deviceName() };
  if (!body.code) {
    showMessage(errorBox, t("login.code_missing"));
    return;
  }
  if (!totpRow.hidden && totpCode.value.trim()) body.totp_code = totpCode.value.replace(/\s+/g, "");
  submit.disabled = true;
  try {
    const answer = await api("/api/v1/auth/phone/sign-in", { method: "POST", body, auth: false });
    localStorage.setItem(ORG_KEY, orgInput.value.trim());
    enter(answer);
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
