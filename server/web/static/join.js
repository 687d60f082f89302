// The guest invite page at /join#<invite token>: the guest's name, then a
// guest session for what the link invites to, then that thing's page.
//
// The token rides in the fragment, which browsers never send, so it stays out
// of every server and proxy log; the page leaves by location.replace, so the
// link does not stay in the browser's history either.

import { api, saveToken, savedToken, signOut } from "./api.js";
import { show, showMessage } from "./dom.js";
import { t } from "./i18n.js";
import { languageSelect } from "./shell.js";

const form = document.getElementById("join-form");
const displayName = document.getElementById("display-name");
const errorBox = document.getElementById("join-error");
const submit = document.getElementById("join-submit");
const inviteToken = decodeURIComponent(location.hash.slice(1));

document.getElementById("language").append(languageSelect({ signedIn: false }));
show(document.getElementById("signed-in-note"), Boolean(savedToken()));
if (!inviteToken) {
  showMessage(errorBox, t("join.incomplete"));
  submit.disabled = true;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showMessage(errorBox, "");
  const name = displayName.value.trim();
  if (!name) {
    showMessage(errorBox, t("join.missing_name"));
    return;
  }
  submit.disabled = true;
  try {
    if (savedToken()) await signOut();
    const joined = await api("/api/v1/guest-sessions", { method: "POST", body: { invite_token: inviteToken, display_name: name }, auth: false });
    saveToken(joined.token);
    if (joined.landing_url) {
      location.replace(joined.landing_url);
      return;
    }
    form.replaceChildren(document.createTextNode(t("join.joined", { name })));
  } catch (error) {
    showMessage(errorBox, error.message);
  } finally {
    submit.disabled = false;
  }
});
