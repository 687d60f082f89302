// Where a contact link opens, /c/<token>: who is adding the person, then either
// "accept" (signed in) or a light account (name, email, password); then the chat.
//
// The token is in the path, which the request log masks (server/observability.py);
// the page leaves by location.replace, so the link does not stay in the history.

import { api, saveToken, savedToken } from "/static/api.js";
import { show, showMessage } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { languageSelect } from "/static/shell.js";

const token = decodeURIComponent(location.pathname.split("/c/")[1] || "");
const errorBox = document.getElementById("link-error");
const signUp = document.getElementById("sign-up-form");

document.getElementById("language").append(languageSelect({ signedIn: false }));
document.getElementById("sign-in-link").href = `/?next=${encodeURIComponent(location.pathname)}`;
start();

async function start() {
  try {
    const from = await api("/api/v1/contact-links/preview", { method: "POST", body: { token }, auth: false });
    document.getElementById("invite-from").textContent = t("landing.from", { name: from.staff_name, org: from.org_name });
  } catch (error) {
    showMessage(errorBox, error.message);
    return;
  }
  if (savedToken()) {
    show(document.getElementById("accept"), true);
    document.getElementById("accept-button").addEventListener("click", accept);
  } else {
    show(signUp, true);
    signUp.addEventListener("submit", makeAccount);
  }
  document.body.dataset.ready = "true";
}

async function accept(event) {
  event.target.disabled = true;
  try {
    const joined = await api("/api/v1/contact-links/accept", { method: "POST", body: { token } });
    location.replace(joined.landing_url);
  } catch (error) {
    showMessage(errorBox, error.message);
    event.target.disabled = false;
  }
}

async function makeAccount(event) {
  event.preventDefault();
  showMessage(errorBox, "");
  const body = {
    token,
    name: document.getElementById("sign-up-name").value.trim(),
    email: document.getElementById("sign-up-email").value.trim(),
    password: document.getElementById("sign-up-password").value,
  };
  if (!body.name || !body.email || !body.password) {
    showMessage(errorBox, t("landing.sign_up.missing"));
    return;
  }
  const submit = document.getElementById("sign-up-submit");
  submit.disabled = true;
  try {
    const joined = await api("/api/v1/contact-links/sign-up", { method: "POST", body, auth: false });
    saveToken(joined.token);
    location.replace(joined.landing_url);
  } catch (error) {
    showMessage(errorBox, error.message);
    submit.disabled = false;
  }
}
