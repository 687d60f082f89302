// A member import (POST .../imports, the file as multipart) and its report: rows
// created, updated, invited and not imported, each problem by row and column, in
// the reader's language (the server translates them).

import { api } from "/static/api.js";
import { el, show as showNode, showMessage } from "/static/dom.js";
import { formatNumber, t } from "/static/i18n.js";

const form = document.getElementById("import-form");
const file = document.getElementById("import-file");
const submit = document.getElementById("import-submit");
const status = document.getElementById("import-status");
const error = document.getElementById("import-error");
const report = document.getElementById("import-report");
const counts = document.getElementById("import-counts");
const errors = document.getElementById("import-errors");
let ctx = null;

const COUNTS = ["created", "updated", "invited", "failed"];

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData();
  data.append("file", file.files[0]);
  submit.disabled = true;
  status.textContent = t("admin.import.running");
  showMessage(error, "");
  try {
    render(await api(`/api/v1/orgs/${ctx.org.id}/imports`, { method: "POST", body: data }));
    form.reset();
  } catch (e) {
    showMessage(error, e.message);
  } finally {
    submit.disabled = false;
    status.textContent = "";
  }
});

function render(result) {
  counts.replaceChildren(...COUNTS.map((key) => el("li", { class: `count-${key}`, dataset: { count: result[key] } },
    el("strong", {}, formatNumber(result[key])), " ", t(`admin.import.count.${key}`, { count: result[key] }))));
  errors.replaceChildren(...result.errors.map((e) => el("li", { class: "card-row import-error" },
    el("div", { class: "card-main" },
      el("div", { class: "card-title" }, e.row === null ? t("admin.import.whole_file") : t("admin.import.row", { row: e.row }),
        e.field ? el("code", { class: "field" }, e.field) : null),
      el("div", { class: "import-message" }, e.message)))));
  showNode(report, true);
}

export async function show(context) {
  ctx = context;
}
