// The organisation's name, time zone and whether its people may sign in by phone (PATCH /api/v1/orgs/{id}).

import { api } from "/static/api.js";
import { el, showMessage } from "/static/dom.js";
import { locale, setTimeZone, t } from "/static/i18n.js";

const form = document.getElementById("org-form");
const name = document.getElementById("org-name-input");
const zone = document.getElementById("org-time-zone");
const phoneSignIn = document.getElementById("org-phone-sign-in");
const status = document.getElementById("org-status");
const error = document.getElementById("org-error");
let orgId = null;

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  status.textContent = "";
  try {
    const org = await api(`/api/v1/orgs/${orgId}`, { method: "PATCH", body: { name: name.value.trim(), time_zone: zone.value, phone_sign_in: phoneSignIn.checked } });
    setTimeZone(org.time_zone);
    const shown = document.getElementById("org-name");
    if (shown) shown.textContent = org.name;
    showMessage(error, "");
    status.textContent = t("common.saved");
  } catch (e) {
    showMessage(error, e.message);
  }
});

export async function show({ org }) {
  orgId = org.id;
  const current = await api(`/api/v1/orgs/${orgId}`);
  name.value = current.name;
  phoneSignIn.checked = current.phone_sign_in;
  fillZones(current.time_zone);
  status.textContent = "";
}

function fillZones(selected) {
  const zones = Intl.supportedValuesOf("timeZone");
  if (!zones.includes(selected)) zones.unshift(selected);
  zone.replaceChildren(...zones.map((z) => el("option", { value: z, selected: z === selected }, zoneLabel(z))));
}

/** "Asia/Shanghai · 中国标准时间" in the reader's language, where the browser knows a name for it. */
function zoneLabel(z) {
  try {
    const part = new Intl.DateTimeFormat(locale, { timeZone: z, timeZoneName: "longGeneric" }).formatToParts(new Date()).find((p) => p.type === "timeZoneName");
    return part && part.value !== z ? `${z} · ${part.value}` : z;
  } catch {
    return z;
  }
}
