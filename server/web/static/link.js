// The sign-in link page at /link#<token>: what the link is for (its
// organisation and purpose, as the capability that issued it says), the
// person's name if it makes them an account and the kind's own questions (a
// guardian's relation to the child), then in: to the page of what the link
// granted, else home.
//
// The token rides in the fragment, which browsers never send, so it stays out
// of every server and proxy log; the page leaves by location.replace, so the
// link does not stay in the browser's history either.

import { api, savedToken, signOut } from "./api.js";
import { el, show, showMessage } from "./dom.js";
import { t } from "./i18n.js";
import { languageSelect } from "./shell.js";
import { deviceName, enter } from "./sign-in.js";

const form = document.getElementById("link-form");
const nameRow = document.getElementById("link-name-row");
const nameInput = document.getElementById("link-name");
const questions = document.getElementById("link-questions");
const totpRow = document.getElementById("link-totp-row");
const totpCode = document.getElementById("link-totp");
const errorBox = document.getElementById("link-error");
const submit = document.getElementById("link-submit");
const token = decodeURIComponent(location.hash.slice(1));

document.getElementById("language").append(languageSelect({ signedIn: false }));
show(document.getElementById("link-signed-in-note"), Boolean(savedToken()));

async function preview() {
  if (!token) {
    showMessage(errorBox, t("link.incomplete"));
    return;
  }
  try {
    const link = await api("/api/v1/auth/link/preview", { method: "POST", body: { token }, auth: false });
    document.getElementById("link-lead").textContent = t("link.lead", { org: link.org_name });
    document.getElementById("link-purpose").textContent = t("link.for", { purpose: link.purpose });
    show(nameRow, link.asks_name);
    questions.replaceChildren(...link.questions.map(question));
    submit.disabled = false;
    (link.asks_name ? nameInput : submit).focus();
  } catch (error) {
    showMessage(errorBox, error.message);
  }
}

/** A question of the link's kind: its label and a one-line answer (the server says what each is, in the page's language). */
function question(q) {
  const id = `link-answer-${q.key}`;
  return el("div", { class: "link-question" },
    el("label", { for: id }, q.label),
    el("input", { id, name: q.key, maxlength: String(q.max_length), placeholder: q.hint || null, required: q.required || null,
      dataset: { key: q.key } }));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showMessage(errorBox, "");
  const body = { token, device_name: deviceName() };
  if (!nameRow.hidden) {
    body.name = nameInput.value.trim();
    if (!body.name) {
      showMessage(errorBox, t("link.missing_name"));
      return;
    }
  }
  body.answers = Object.fromEntries([...questions.querySelectorAll("input")].map((input) => [input.dataset.key, input.value.trim()]));
  if (!totpRow.hidden && totpCode.value.trim()) body.totp_code = totpCode.value.replace(/\s+/g, "");
  submit.disabled = true;
  try {
    if (savedToken()) await signOut();
    const answer = await api("/api/v1/auth/link/sign-in", { method: "POST", body, auth: false });
    enter(answer, answer.landing_url || "/home");
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

preview();
