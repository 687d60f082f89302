// Invitations not yet answered (GET .../invitations), each with a button to withdraw it.

import { api } from "/static/api.js";
import { el, show as showNode } from "/static/dom.js";
import { formatDate, t } from "/static/i18n.js";

const box = document.getElementById("invitations");
const list = document.getElementById("invitation-list");

export async function show(ctx) {
  const invitations = await api(`/api/v1/orgs/${ctx.org.id}/invitations`);
  list.replaceChildren(...invitations.map((i) => card(ctx, i)));
  showNode(box, invitations.length > 0);
}

function card(ctx, i) {
  const details = [i.email, t(`role.${i.role}`), t("admin.invitations.sent", { date: formatDate(i.created_at) })].filter(Boolean);
  return el("li", { class: "card-row invitation-card", dataset: { invitationId: i.id } },
    el("div", { class: "card-main" },
      el("div", { class: "card-title member-name" }, i.display_name),
      el("div", { class: "muted card-details" }, details.map((d) => el("span", {}, d)))),
    el("button", {
      type: "button",
      class: "withdraw",
      onclick: async () => {
        try {
          await api(`/api/v1/orgs/${ctx.org.id}/invitations/${i.id}`, { method: "DELETE" });
          await show(ctx);
        } catch (e) {
          ctx.report(e);
        }
      },
    }, t("admin.invitations.withdraw")));
}
