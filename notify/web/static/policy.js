// The organisation's default escalation policy (GET/PUT .../broadcast-policy), in
// minutes on the page and seconds in the API, with the server's bounds said up front
// (GET .../broadcast-policy/limits): SMS and calls cost the operator money.

import { api } from "/static/api.js";
import { showMessage } from "/static/dom.js";
import { formatNumber, t } from "/static/i18n.js";

const $ = (id) => document.getElementById(id);
const form = $("policy-form");
const fields = { smsOn: $("sms-on"), smsAfter: $("sms-after"), callOn: $("call-on"), callAfter: $("call-after"), repeats: $("repeats"), interval: $("interval") };
const status = $("policy-status");
const error = $("policy-error");
let url = null;

const minutes = (seconds) => String(Math.round((seconds / 60) * 100) / 100);
const seconds = (input) => Math.round(Number(input.value) * 60);

form.addEventListener("input", () => {
  status.textContent = "";
  enable();
});
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {
    sms_after_s: fields.smsOn.checked ? seconds(fields.smsAfter) : null,
    call_after_s: fields.callOn.checked ? seconds(fields.callAfter) : null,
    repeats: Number(fields.repeats.value),
    repeat_interval_s: seconds(fields.interval),
  };
  try {
    fill(await api(url, { method: "PUT", body }));
    showMessage(error, "");
    status.textContent = t("common.saved");
  } catch (e) {
    showMessage(error, e.message);
  }
});

function enable() {
  fields.smsAfter.disabled = !fields.smsOn.checked;
  fields.callAfter.disabled = !fields.callOn.checked;
}

function fill(policy) {
  fields.smsOn.checked = policy.sms_after_s !== null;
  fields.smsAfter.value = minutes(policy.sms_after_s ?? 60);
  fields.callOn.checked = policy.call_after_s !== null;
  fields.callAfter.value = minutes(policy.call_after_s ?? 180);
  fields.repeats.value = String(policy.repeats);
  fields.interval.value = minutes(policy.repeat_interval_s);
  enable();
}

export async function show(org) {
  url = `/api/v1/orgs/${org.id}/broadcast-policy`;
  const [policy, limits] = await Promise.all([api(url), api(`${url}/limits`)]);
  fill(policy);
  fields.repeats.max = String(limits.max_repeats);
  $("policy-limits").textContent = t("policy.limits", { minutes: formatNumber(limits.min_delay_s / 60), repeats: limits.max_repeats });
}
