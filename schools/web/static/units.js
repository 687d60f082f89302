// The hierarchy as its staff see it (/schools/units, the "Schools" place): the units they reach, a level at a time, each
// with its classes, children on the roll and staff (GET .../schools/units, read-only); and for those who manage a unit
// (its administrators, district and bureau staff, organisation admins), the school year's rollover: started as a job
// (POST .../units/{id}/rollover answers at once), its progress polled, then what it did; a rollover already running
// when the page opens (GET .../schools/rollovers) is followed the same way.

import { api, query } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { formatNumber, t } from "/static/i18n.js";
import { mountShell } from "/static/shell.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 500;
const PAGE = 100;
const MANAGING = new Set(["bureau_staff", "district_staff", "school_admin"]);
const LEVELS = 12;
const REPORTED = ["schools", "promoted", "graduated_classes", "graduated_students", "transferred", "grades_made"];
const LISTED = ["already", "unlevelled", "blocked"]; // ids: said as a count
const report = (error) => showMessage($("page-error"), error.message || String(error));
let orgId = null;

start().catch(report);

async function start() {
  const { org } = await mountShell({ active: "schools" });
  if (!org || org.outsider) return;
  orgId = org.id;
  const [me, tops] = await Promise.all([api(orgUrl("/schools/me")), showTree()]);
  const managed = me.everything ? tops.units : me.roles.filter((r) => MANAGING.has(r.role)).map((r) => r.unit);
  if (managed.length) setUpRollover(managed);
  $("units-page").dataset.ready = "true";
  if (managed.length) await followRunning();
}

/** The tops of what the caller reaches, closed; returns their page. */
async function showTree() {
  const tops = await unitPage(null, 0);
  $("tree").replaceChildren(...tops.units.map(unitItem), ...moreButton(null, tops.next_after_id, $("tree")));
  show($("no-units"), tops.units.length === 0);
  return tops;
}

const orgUrl = (tail) => `/api/v1/orgs/${orgId}${tail}`;
const unitPage = (parentId, afterId) => api(orgUrl(`/schools/units${query({ parent_id: parentId, after_id: afterId || null, limit: PAGE })}`));

function unitItem(unit) {
  const counts = t("schools.units.counts", {
    classes: formatNumber(unit.counts.classes), students: formatNumber(unit.counts.students), staff: formatNumber(unit.counts.staff),
  });
  const item = el("li", { class: "unit-row", dataset: { unit: unit.id, kind: unit.kind } });
  const line = el("div", { class: "unit-line" },
    el("span", { class: "unit-name" }, unit.name),
    el("span", { class: "muted unit-kind" }, t(`schools.kind.${unit.kind}`)),
    el("span", { class: "muted unit-counts" }, counts));
  item.append(line);
  if (unit.kind !== "class" && unit.counts.classes > 0) {
    const open = el("button", { type: "button", class: "unit-open", "aria-expanded": "false" }, t("schools.units.open"));
    open.addEventListener("click", () => toggle(item, open, unit.id).catch(report));
    line.prepend(open);
  }
  return item;
}

async function toggle(item, button, unitId) {
  const shown = item.querySelector(":scope > .unit-tree");
  if (shown) {
    shown.remove();
    button.setAttribute("aria-expanded", "false");
    button.textContent = t("schools.units.open");
    return;
  }
  button.disabled = true;
  try {
    const page = await unitPage(unitId, 0);
    const list = el("ul", { class: "unit-tree" });
    list.append(...page.units.map(unitItem), ...moreButton(unitId, page.next_after_id, list));
    item.append(list);
    button.setAttribute("aria-expanded", "true");
    button.textContent = t("schools.units.close");
  } finally {
    button.disabled = false;
  }
}

/** A "more" item at the end of a level longer than a page: it loads the next page in its place. */
function moreButton(parentId, afterId, list) {
  if (!afterId) return [];
  const button = el("button", { type: "button", class: "unit-more" }, t("schools.units.more"));
  const item = el("li", {}, button);
  button.addEventListener("click", async () => {
    try {
      const page = await unitPage(parentId, afterId);
      item.remove();
      list.append(...page.units.map(unitItem), ...moreButton(parentId, page.next_after_id, list));
    } catch (error) {
      report(error);
    }
  });
  return [item];
}

// --- the rollover ----------------------------------------------------------------------------------------------

function setUpRollover(units) {
  $("rollover-unit").replaceChildren(...units.map((u) => el("option", { value: u.id }, `${u.name} · ${t(`schools.kind.${u.kind}`)}`)));
  for (let level = 1; level <= LEVELS; level++) $("rollover-final").append(el("option", { value: level }, t("schools.rollover.level", { level })));
  const now = new Date();
  const first = now.getMonth() >= 8 ? now.getFullYear() : now.getFullYear() - 1; // a year starts in September
  $("rollover-label").value = `${first}-${first + 1}`;
  $("rollover-form").addEventListener("submit", (event) => {
    event.preventDefault();
    startRollover().catch((error) => showMessage($("rollover-error"), error.message));
  });
  show($("rollover"), true);
}

async function startRollover() {
  showMessage($("rollover-error"), "");
  if (!$("rollover-sure").checked) {
    showMessage($("rollover-error"), t("schools.rollover.not_sure"));
    return;
  }
  $("rollover-submit").disabled = true;
  try {
    const finalLevel = $("rollover-final").value ? Number($("rollover-final").value) : null;
    const body = { label: $("rollover-label").value.trim(), final_level: finalLevel };
    await follow(await api(orgUrl(`/schools/units/${$("rollover-unit").value}/rollover`), { method: "POST", body }));
  } finally {
    $("rollover-submit").disabled = false;
  }
}

/** A rollover still running when the page opens (started before a reload, or by a colleague): follow it too. */
async function followRunning() {
  const running = (await api(orgUrl("/schools/rollovers"))).find((job) => job.status === "running");
  if (!running) return;
  $("rollover-label").value = running.label;
  if ($("rollover-unit").querySelector(`option[value="${running.unit_id}"]`)) $("rollover-unit").value = running.unit_id;
  $("rollover-submit").disabled = true;
  try {
    await follow(running);
  } finally {
    $("rollover-submit").disabled = false;
  }
}

/** Show a job and poll it until it ends, then the tree again (classes moved up and graduated). */
async function follow(job) {
  renderJob(job);
  while (job.status === "running") {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    job = await api(orgUrl(`/schools/rollovers/${job.id}`));
    renderJob(job);
  }
  await showTree();
}

function renderJob(job) {
  const done = job.schools + job.already.length;
  $("rollover-status").textContent = [t(`schools.rollover.status.${job.status}`),
    t("schools.rollover.progress", { done: formatNumber(done), total: formatNumber(job.schools_total) })].join(" · ");
  $("rollover-progress").max = Math.max(job.schools_total, 1);
  $("rollover-progress").value = done;
  showMessage($("rollover-failure"), job.failure || "");
  const ended = job.status !== "running";
  $("rollover-report").replaceChildren(...(ended ? [
    ...REPORTED.map((key) => countItem(key, job[key])),
    ...LISTED.filter((key) => job[key].length).map((key) => countItem(key, job[key].length)),
  ] : []));
  $("rollover-job").dataset.status = job.status;
  show($("rollover-job"), true);
}

const countItem = (key, n) => el("li", { dataset: { count: key } }, el("strong", {}, formatNumber(n)), " ", t(`schools.rollover.count.${key}`));
