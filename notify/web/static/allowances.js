// The organisation's daily allowances of SMS and calls and what today used of them
// (GET .../paid-allowances): read-only, the server's operator sets them (server/channels/paid.py).

import { api } from "/static/api.js";
import { el } from "/static/dom.js";
import { formatDateTime, formatNumber, t } from "/static/i18n.js";

export async function show(org) {
  const allowances = await api(`/api/v1/orgs/${org.id}/paid-allowances`);
  document.getElementById("allowance-list").replaceChildren(...allowances.channels.map(item));
  document.getElementById("allowances-reset").textContent = t("policy.allowances.reset", { when: formatDateTime(allowances.resets_at) });
}

function item({ channel, per_day: perDay, used_today: used, per_number_per_day: perNumber }) {
  const left = Math.max(perDay - used, 0);
  return el("li", { class: "card-row allowance", dataset: { channel } },
    el("div", { class: "card-main" },
      el("div", { class: "card-title" }, t(`policy.allowances.channel.${channel}`)),
      el("progress", { max: perDay || 1, value: Math.min(used, perDay), "aria-label": t(`policy.allowances.channel.${channel}`) }),
      el("div", { class: "muted card-details" },
        el("span", { class: "used" }, t("policy.allowances.used", { used: formatNumber(used), limit: formatNumber(perDay), left: formatNumber(left) })),
        el("span", { class: "per-number" }, t(`policy.allowances.per_number.${channel}`, { count: perNumber, n: formatNumber(perNumber) })))));
}
