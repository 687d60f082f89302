// The home page: what needs the person now (GET /api/v1/orgs/{id}/home), one card per
// section, asked again whenever the person's live events say something changed.

import { api } from "./api.js";
import { el, showMessage } from "./dom.js";
import { formatDateTime, t } from "./i18n.js";
import { connectLive } from "./live.js";
import { mountShell, showLive } from "./shell.js";

const REFRESH_DELAY_MS = 300; // a burst of events (a busy group) asks once
const home = document.getElementById("home");
const pageError = document.getElementById("page-error");

let refreshTimer;

start().catch((error) => showMessage(pageError, error.message));

async function start() {
  // `/home?org=`: an outsider the organisation admits (a guardian) sees the sections it opens to them
  const { org } = await mountShell({ active: "home", orgId: Number(new URLSearchParams(location.search).get("org")) || null });
  const orgId = org?.id;
  if (!orgId) return;
  const refresh = () => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => load(orgId).catch((error) => showMessage(pageError, error.message)), REFRESH_DELAY_MS);
  };
  await load(orgId);
  connectLive({
    onReady: () => {
      showLive(true);
      refresh();
    },
    onEvent: refresh,
    onFrame: refresh,
    onClose: () => showLive(false),
  });
}

async function load(orgId) {
  const sections = await api(`/api/v1/orgs/${orgId}/home`);
  showMessage(pageError, "");
  home.replaceChildren(...sections.map(section));
  home.dataset.loaded = "true";
}

function section(s) {
  return el("section", { class: "card home-section", dataset: { section: s.key } },
    el("h2", {}, s.title),
    s.items.length
      ? el("ul", { class: "home-items" }, s.items.map(item))
      : el("p", { class: "muted empty" }, s.empty));
}

function item(i) {
  return el("li", { class: i.urgent ? "home-item urgent" : "home-item" },
    el("a", { href: i.href },
      el("span", { class: "home-item-title" }, i.title),
      i.badge ? el("span", { class: "badge", "aria-label": t("home.unread", { count: i.badge }) }, String(i.badge)) : null),
    i.detail || i.at ? el("span", { class: "muted home-item-detail" }, [i.detail, i.at ? formatDateTime(i.at) : ""].filter(Boolean).join(" · ")) : null);
}
