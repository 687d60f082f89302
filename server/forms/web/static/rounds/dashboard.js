// A round's dashboard, /rounds/{round_id}: expected, submitted, missing and abnormal under a department,
// its children to drill down into, who is missing (with a phone to call), "remind the rest", exports.
//
// Live: the page watches the round over the device WebSocket ({"type": "forms.watch"}); the server sends
// "forms.round.changed" at most twice a second whatever the rate of submissions, and the page asks for
// the counts again (once a second at most).

import { api, savedToken } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { formatDateTime, formatNumber, t } from "/static/i18n.js";
import { connectLive } from "/static/live.js";
import { mountShell, showLive } from "/static/shell.js";
import { download, findInOrgs, idFromPath } from "./common.js";

const $ = (id) => document.getElementById(id);
const roundId = idFromPath("/rounds");
const PAGE = 50;
const state = { orgId: null, trail: [], missingAfter: null, dashboard: null, refreshing: null, again: false };

start().catch((error) => showMessage($("page-error"), error.message));

async function start() {
  const { org, orgs } = await mountShell({ active: "forms" });
  const found = roundId && (await findInOrgs(orgs, org, (id) => `/api/v1/orgs/${id}/rounds/${roundId}/dashboard`));
  if (!found) {
    showMessage($("page-error"), t("rounds.dashboard.not_found"));
    return;
  }
  state.orgId = found[0];
  state.trail = [{ id: null, name: t("rounds.dashboard.everything") }];
  $("remind").addEventListener("click", () => remind().catch(report));
  $("missing-more").addEventListener("click", () => loadMissing(false).catch(report));
  $("export-csv").addEventListener("click", () => exportAs("csv").catch(report));
  $("export-xlsx").addEventListener("click", () => exportAs("xlsx").catch(report));
  await shown(found[1]);
  const live = connectLive({
    onReady: () => {
      showLive(true);
      live.send({ type: "forms.watch", round_id: roundId });
      refresh();
    },
    onFrame: (frame) => {
      if (frame.type === "forms.round.changed" && frame.round_id === roundId) refresh();
    },
    onClose: () => showLive(false),
  });
}

function report(error) {
  showMessage($("page-error"), error.message);
}

function url(tail, params = {}) {
  const search = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== undefined)).toString();
  return `/api/v1/orgs/${state.orgId}/rounds/${roundId}${tail}${search ? `?${search}` : ""}`;
}

function here() {
  return state.trail[state.trail.length - 1];
}

/** Asks for the counts again, at most once a second, however many changes come in. */
function refresh() {
  if (state.refreshing) {
    state.again = true;
    return;
  }
  state.refreshing = (async () => {
    try {
      await shown(await api(url("/dashboard", { department_id: here().id })), { keepMissing: true });
    } catch (error) {
      report(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    state.refreshing = null;
    if (state.again) {
      state.again = false;
      refresh();
    }
  })();
}

async function shown(dashboard, { keepMissing = false } = {}) {
  state.dashboard = dashboard;
  const { round, title, node, children } = dashboard;
  document.title = `${title} · Muster`;
  $("form-title").textContent = title;
  $("round-when").textContent = t(`rounds.state.${round.state}`, { opens: formatDateTime(round.opens_at), closes: formatDateTime(round.closes_at) });
  const c = node.counts;
  $("n-expected").textContent = formatNumber(c.expected);
  $("n-submitted").textContent = formatNumber(c.submitted);
  $("n-missing").textContent = formatNumber(c.missing);
  $("n-abnormal").textContent = formatNumber(c.abnormal);
  $("progress-bar").style.width = `${c.expected ? (100 * c.submitted) / c.expected : 0}%`;
  show($("remind"), round.state === "open" && c.missing > 0);
  show($("export-csv"), dashboard.may_view_answers);
  show($("export-xlsx"), dashboard.may_view_answers);
  drawTrail();
  $("children").replaceChildren(...children.map(childRow));
  show($("children-card"), children.length > 0);
  show($("summary"), true);
  if (!keepMissing) await loadMissing(true);
  else if (c.missing !== state.shownMissing) await loadMissing(true);
}

function childRow(child) {
  const c = child.counts;
  const name = child.department_id === 0 ? t("rounds.dashboard.no_department") : child.name;
  return el("tr", {},
    el("td", {}, el("button", { type: "button", class: "link", onclick: () => enter(child.department_id, name) }, name)),
    el("td", {}, `${formatNumber(c.submitted)} / ${formatNumber(c.expected)}`),
    el("td", { class: c.missing ? "missing" : "" }, formatNumber(c.missing)),
    el("td", { class: c.abnormal ? "abnormal" : "" }, formatNumber(c.abnormal)));
}

function drawTrail() {
  $("trail").replaceChildren(...state.trail.flatMap((step, i) => [
    i ? el("span", { class: "sep" }, "›") : null,
    i === state.trail.length - 1 ? el("span", {}, step.name) : el("button", { type: "button", class: "link", onclick: () => back(i) }, step.name),
  ].filter(Boolean)));
}

async function enter(id, name) {
  state.trail.push({ id, name });
  await shown(await api(url("/dashboard", { department_id: id })));
}

async function back(index) {
  state.trail = state.trail.slice(0, index + 1);
  await shown(await api(url("/dashboard", { department_id: here().id })));
}

async function loadMissing(fresh) {
  if (fresh) state.missingAfter = null;
  const page = await api(url("/respondents", { department_id: here().id, state: "missing", after: state.missingAfter, limit: PAGE }));
  const items = page.items.map((p) => el("li", { class: "person" },
    el("span", { class: "person-name" }, p.name || `#${p.respondent_id}`),
    el("span", { class: "muted" }, p.department || ""),
    p.phone ? el("a", { href: `tel:${p.phone}`, class: "phone" }, p.phone) : null));
  if (fresh) $("missing").replaceChildren(...items);
  else $("missing").append(...items);
  state.missingAfter = page.next_after;
  state.shownMissing = page.counts.missing;
  show($("missing-more"), page.next_after !== null);
  show($("missing-empty"), fresh && !page.items.length);
  show($("missing-card"), true);
}

async function remind() {
  $("remind").disabled = true;
  try {
    await api(url("/reminders"), { method: "POST", body: { department_id: here().id } });
    showMessage($("remind-state"), t("rounds.dashboard.reminding", { count: state.dashboard.node.counts.missing }));
  } finally {
    $("remind").disabled = false;
  }
}

async function exportAs(format) {
  const path = `/api/v1/orgs/${state.orgId}/forms/${state.dashboard.round.form_id}/export?round_id=${roundId}&format=${format}`;
  await download(path, `round-${roundId}.${format}`, savedToken());
}
