// The schools' section of the organisation's settings (/schools/settings): import the hierarchy
// (POST .../schools/imports answers with a job at once), then follow the job's progress, polled,
// to its report; and the earlier imports.

import { api } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { formatDateTime, formatNumber, t } from "/static/i18n.js";
import { mountShell } from "/static/shell.js";
import { settingsTabs } from "/orgs/static/sections.js";

const POLL_MS = 500;
const COUNTS = ["units_created", "units_updated", "staff_created", "staff_updated", "staff_invited", "students_created",
  "students_updated", "students_transferred", "students_restored", "guardians_created", "departed"];

const $ = (id) => document.getElementById(id);
const pageError = $("page-error");
const report = (error) => showMessage(pageError, error.message || String(error));
let org = null;

start().catch(report);

async function start() {
  ({ org } = await mountShell({ active: "settings" }));
  if (!org) return;
  if (!["admin", "owner"].includes(org.role)) {
    show($("not-admin"), true);
    return;
  }
  await settingsTabs($("sections"), org.id, "schools");
  show($("settings"), true);
  const jobs = await history();
  const running = jobs.find((job) => job.status === "running");
  if (running) follow(running);
  $("settings").dataset.ready = "true";
}

$("import-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData();
  for (const file of $("import-files").files) data.append("file", file);
  $("import-submit").disabled = true;
  showMessage($("import-error"), "");
  try {
    const job = await api(`/api/v1/orgs/${org.id}/schools/imports`, { method: "POST", body: data });
    $("import-form").reset();
    await follow(job);
  } catch (e) {
    showMessage($("import-error"), e.message);
  } finally {
    $("import-submit").disabled = false;
  }
});

async function follow(job) {
  render(job);
  while (job.status === "running") {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    job = await api(`/api/v1/orgs/${org.id}/schools/imports/${job.id}`);
    render(job);
  }
  await history();
}

function render(job) {
  show($("job"), true);
  $("job").dataset.status = job.status;
  $("job-state").textContent = t(`schools.status.${job.status}`);
  const progress = $("job-progress");
  progress.max = Math.max(job.rows_total, 1);
  progress.value = job.status === "done" ? progress.max : job.rows_done;
  $("job-rows").textContent = t("schools.rows", { done: formatNumber(job.rows_done), total: formatNumber(job.rows_total) });
  showMessage($("job-failure"), job.failure || "");
  $("job-counts").replaceChildren(
    ...COUNTS.filter((key) => job.counts[key]).map((key) => el("li", { class: `count-${key}`, dataset: { count: job.counts[key] } },
      el("strong", {}, formatNumber(job.counts[key])), " ", t(`schools.count.${key}`))),
    ...(job.failed ? [el("li", { class: "count-failed", dataset: { count: job.failed } }, el("strong", {}, formatNumber(job.failed)), " ",
      t("schools.count.failed"))] : []),
  );
  $("job-errors").replaceChildren(...job.errors.map((e) => el("li", { class: "card-row import-error" },
    el("div", { class: "card-main" },
      el("div", { class: "card-title" }, e.row === null ? e.source : t("schools.error.row", { source: e.source, row: e.row }),
        e.field ? el("code", { class: "field" }, e.field) : null),
      el("div", { class: "import-message" }, e.message)))));
  show($("job-departed"), job.departed.length > 0);
  $("departed-list").replaceChildren(...job.departed.map((d) => el("li", {}, `${d.name} (${d.external_id})`)));
}

async function history() {
  const jobs = await api(`/api/v1/orgs/${org.id}/schools/imports`);
  $("history").replaceChildren(...jobs.map((job) => el("li", { class: "card-row", dataset: { status: job.status } },
    el("div", { class: "card-main" },
      el("div", { class: "card-title" }, job.files.join(", ")),
      el("div", { class: "muted" }, formatDateTime(job.created_at), " · ", t(`schools.status.${job.status}`), " · ",
        t("schools.rows", { done: formatNumber(job.rows_done), total: formatNumber(job.rows_total) }))))));
  show($("no-history"), jobs.length === 0);
  return jobs;
}
