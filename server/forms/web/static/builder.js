// The form builder (/forms): the forms the person may build, a form's questions edited beside a
// live preview (form-render.js, as respondents will see it), saved as a new version; XLSForm
// import and export. Who may build is the server's call (server/forms/access.py): "Forms" is in the
// navigation only for them, and the API refuses the others.
//
// The form being edited is plain data in the shape of server/forms/definition.py. Typing changes
// it in place (the preview follows, debounced); adding, removing, moving a question or changing its
// type redraws the list. A save's 400 names the part at fault ("definition.fields.3.relevant"):
// the page shows the message on that question.

import { ApiError, api, query, savedToken } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { formatDateTime, locale, t } from "/static/i18n.js";
import { connectLive } from "/static/live.js";
import { mountShell, showLive } from "/static/shell.js";
import { renderForm } from "/forms/static/form-render.js";

const $ = (id) => document.getElementById(id);
const pageError = $("page-error");
const TYPES = ["text", "number", "temperature", "single_choice", "multiple_choice", "date", "time", "yes_no", "location", "photo", "note"];
const OPS = {
  text: ["eq", "ne", "contains", "answered"],
  number: ["eq", "ne", "lt", "le", "gt", "ge", "answered"],
  temperature: ["ge", "gt", "le", "lt", "eq", "ne", "answered"],
  single_choice: ["eq", "ne", "answered"],
  multiple_choice: ["contains", "answered"],
  date: ["eq", "ne", "lt", "le", "gt", "ge", "answered"],
  time: ["eq", "ne", "lt", "le", "gt", "ge", "answered"],
  yes_no: ["eq", "answered"],
  location: ["answered"],
  photo: ["answered"],
};
const RULES = ["relevant", "constraint", "abnormal"];

let orgId = null;
let editing = null; // { id (null: not saved yet), version, title, archived, fields: [...] }
let nextBefore = null;
let previewTimer = null;

start().catch((error) => showMessage(pageError, error.message));

async function start() {
  const { org } = await mountShell({ active: "forms" });
  if (!org) return;
  orgId = org.id;
  $("new-form").addEventListener("click", () => openDraft());
  $("show-archived").addEventListener("change", () => loadForms(true).catch(report));
  $("forms-more").addEventListener("click", () => loadForms(false).catch(report));
  $("import-file").addEventListener("change", () => importFile().catch(report));
  $("add-field").addEventListener("click", addField);
  $("save").addEventListener("click", () => save().catch(report));
  $("archive").addEventListener("click", () => setArchived().catch(report));
  $("form-title").addEventListener("input", () => { editing.title = $("form-title").value; });
  $("tab-edit").addEventListener("click", () => showTab(false));
  $("tab-preview").addEventListener("click", () => showTab(true));
  $("new-field-type").replaceChildren(...TYPES.map((type) => el("option", { value: type }, t(`forms.type.${type}`))));
  await loadForms(true);
  connectLive({ onReady: () => showLive(true), onEvent: () => {}, onClose: () => showLive(false) });
}

function report(error) {
  showMessage(pageError, error.message);
}

// --- the list of forms -------------------------------------------------------------------------------------

async function loadForms(fresh) {
  if (fresh) nextBefore = null;
  const archived = $("show-archived").checked;
  const page = await api(`/api/v1/orgs/${orgId}/forms${query({ archived, before_id: fresh ? null : nextBefore, limit: 50 })}`);
  const items = page.forms.map((form) => el("li", { class: "form-item" },
    el("button", { type: "button", class: "form-open", dataset: { formId: form.id }, onclick: () => openForm(form.id).catch(report) },
      el("span", { class: "form-title" }, form.title),
      el("span", { class: "muted" }, t("forms.list.version", { version: form.current_version }), " · ", formatDateTime(form.created_at)))));
  if (fresh) $("form-list").replaceChildren(...items);
  else $("form-list").append(...items);
  nextBefore = page.next_before_id;
  show($("forms-more"), nextBefore !== null);
  show($("forms-empty"), $("form-list").children.length === 0);
}

async function openForm(id) {
  const form = await api(`/api/v1/orgs/${orgId}/forms/${id}`);
  openEditor({ id: form.id, version: form.version, title: form.title, archived: form.archived_at !== null, fields: form.definition.fields });
  await loadVersions();
}

function openDraft() {
  openEditor({ id: null, version: null, title: "", archived: false, fields: [newField("temperature", [])] });
}

function openEditor(form) {
  editing = { ...form, fields: form.fields.map(tidy) };
  showMessage(pageError, "");
  show($("editor"), true);
  $("form-title").value = editing.title;
  $("form-version").textContent = editing.version ? t("forms.list.version", { version: editing.version }) : t("forms.editor.unsaved");
  $("save-state").textContent = "";
  $("archive").textContent = t(editing.archived ? "forms.editor.restore" : "forms.editor.archive");
  show($("archive"), editing.id !== null);
  show($("versions-box"), editing.id !== null);
  drawFields();
  $("editor").scrollIntoView({ block: "start" });
}

/** A field as the builder edits it: the keys it uses, nothing null. */
function tidy(field) {
  const out = { name: field.name, type: field.type, label: field.label };
  for (const key of ["hint", "min", "max", "relevant", "constraint", "abnormal"]) if (field[key] !== null && field[key] !== undefined) out[key] = field[key];
  if (field.required) out.required = true;
  if (field.integer) out.integer = true;
  if (field.choices?.length) out.choices = field.choices.map((c) => ({ value: c.value, label: c.label }));
  if (field.max_length && field.max_length !== 1000) out.max_length = field.max_length;
  return out;
}

function newField(type, fields) {
  let n = fields.length + 1;
  while (fields.some((f) => f.name === `q${n}`)) n += 1;
  const field = { name: `q${n}`, type, label: t(`forms.type.${type}`) };
  if (type === "temperature") Object.assign(field, { min: 35, max: 42, abnormal: { op: "ge", value: 37.3 }, required: true });
  if (type === "single_choice" || type === "multiple_choice") {
    field.choices = [1, 2].map((i) => ({ value: `c${i}`, label: t("forms.editor.choice_n", { n: i }) }));
  }
  return field;
}

function addField() {
  editing.fields.push(newField($("new-field-type").value, editing.fields));
  drawFields();
  $("field-list").lastElementChild?.querySelector(".field-label-input")?.focus();
}

// --- the questions ----------------------------------------------------------------------------------------

function drawFields() {
  $("field-list").replaceChildren(...editing.fields.map((field, i) => fieldCard(field, i)));
  schedulePreview(0);
}

function fieldCard(field, i) {
  const card = el("li", { class: "field-card", dataset: { index: i } });
  const changed = () => schedulePreview();
  const move = (by) => {
    const [taken] = editing.fields.splice(i, 1);
    editing.fields.splice(i + by, 0, taken);
    drawFields();
  };
  const typeSelect = el("select", { class: "field-type", "aria-label": t("forms.editor.type"), onchange: () => {
    const fresh = newField(typeSelect.value, []); // the new type's defaults (a temperature's range and abnormal rule)
    const kept = { name: field.name, label: field.label, hint: field.hint, relevant: field.relevant, required: field.required ?? fresh.required };
    for (const key of Object.keys(field)) delete field[key];
    Object.assign(field, tidy({ ...fresh, ...kept }));
    drawFields();
  } }, TYPES.map((type) => el("option", { value: type, selected: type === field.type }, t(`forms.type.${type}`))));
  card.append(
    el("div", { class: "field-head" },
      el("span", { class: "field-number" }, String(i + 1)),
      typeSelect,
      el("span", { class: "spacer" }),
      el("button", { type: "button", class: "icon", "aria-label": t("forms.editor.up"), disabled: i === 0, onclick: () => move(-1) }, "↑"),
      el("button", { type: "button", class: "icon", "aria-label": t("forms.editor.down"), disabled: i === editing.fields.length - 1, onclick: () => move(1) }, "↓"),
      el("button", { type: "button", class: "icon", "aria-label": t("forms.editor.remove"), disabled: editing.fields.length === 1, onclick: () => {
        editing.fields.splice(i, 1);
        drawFields();
      } }, "✕")),
    textInput(field, "label", t("forms.editor.label"), changed, "field-label-input"),
    el("div", { class: "field-row" },
      textInput(field, "name", t("forms.editor.name"), changed, "field-name-input"),
      field.type === "note" ? null : checkbox(field, "required", t("forms.editor.required"), changed)),
    textInput(field, "hint", t("forms.editor.hint"), changed),
  );
  if (field.type === "number" || field.type === "temperature") {
    card.append(el("div", { class: "field-row" },
      numberInput(field, "min", t("forms.editor.min"), changed), numberInput(field, "max", t("forms.editor.max"), changed),
      field.type === "number" ? checkbox(field, "integer", t("forms.editor.integer"), changed) : null));
  }
  if (field.type === "text") card.append(numberInput(field, "max_length", t("forms.editor.max_length"), changed));
  if (field.choices) card.append(choicesEditor(field, changed));
  if (field.type !== "note") {
    card.append(ruleEditor(field, i, "relevant"));
    if (OPS[field.type].length > 1) card.append(ruleEditor(field, i, "constraint"), ruleEditor(field, i, "abnormal"));
  }
  card.append(el("p", { class: "field-error", role: "alert", hidden: true }));
  return card;
}

function textInput(field, key, label, changed, cls = "") {
  const id = `f-${key}-${Math.random().toString(36).slice(2)}`;
  const input = el("input", { id, class: cls, value: field[key] ?? "", oninput: () => {
    const value = input.value.trim();
    if (value) field[key] = key === "name" ? input.value.trim() : input.value;
    else delete field[key];
    changed();
  } });
  return el("div", { class: "field-input" }, el("label", { for: id }, label), input);
}

function numberInput(field, key, label, changed) {
  const id = `f-${key}-${Math.random().toString(36).slice(2)}`;
  const input = el("input", { id, type: "number", step: "any", inputmode: "decimal", value: field[key] ?? "", oninput: () => {
    const value = Number(input.value);
    if (input.value.trim() !== "" && Number.isFinite(value)) field[key] = value;
    else delete field[key];
    changed();
  } });
  return el("div", { class: "field-input" }, el("label", { for: id }, label), input);
}

function checkbox(field, key, label, changed) {
  const box = el("input", { type: "checkbox", checked: !!field[key], onchange: () => {
    if (box.checked) field[key] = true;
    else delete field[key];
    changed();
  } });
  return el("label", { class: "check" }, box, el("span", {}, label));
}

function choicesEditor(field, changed) {
  const list = el("ul", { class: "choice-list" });
  const draw = () => {
    list.replaceChildren(...field.choices.map((choice, j) => el("li", { class: "choice-row" },
      el("input", { value: choice.label, "aria-label": t("forms.editor.choice_label"), oninput: (e) => { choice.label = e.target.value; changed(); } }),
      el("input", { value: choice.value, class: "choice-value", "aria-label": t("forms.editor.choice_value"),
        oninput: (e) => { choice.value = e.target.value.trim(); changed(); } }),
      el("button", { type: "button", class: "icon", "aria-label": t("forms.editor.remove_choice"), disabled: field.choices.length === 1,
        onclick: () => { field.choices.splice(j, 1); draw(); changed(); } }, "✕"))));
  };
  draw();
  const add = el("button", { type: "button", class: "add-choice", onclick: () => {
    let n = field.choices.length + 1;
    while (field.choices.some((c) => c.value === `c${n}`)) n += 1;
    field.choices.push({ value: `c${n}`, label: t("forms.editor.choice_n", { n }) });
    draw();
    changed();
    list.lastElementChild?.querySelector("input")?.focus();
  } }, t("forms.editor.add_choice"));
  return el("div", { class: "choices-editor" }, el("span", { class: "editor-caption" }, t("forms.editor.choices")), list, add);
}

// --- rules: skip logic, what is accepted, what is abnormal -----------------------------------------------------

/** The rows of a rule the editor can show: one test, or all/any of tests; null if it is more (kept, shown as is). */
function editableRows(cond) {
  if (!cond) return { combine: "all", rows: [] };
  if (cond.op) return { combine: "all", rows: [cond] };
  const key = cond.all ? "all" : cond.any ? "any" : null;
  if (key && cond[key].every((c) => c.op && c.op !== "in")) return { combine: key, rows: cond[key] };
  return null;
}

function ruleEditor(field, index, rule) {
  const box = el("div", { class: `rule rule-${rule}`, dataset: { rule } });
  const self = rule !== "relevant";
  const targets = () => [...(self ? [{ name: null, field }] : []), ...editing.fields.slice(0, index).filter((f) => f.type !== "note")
    .map((f) => ({ name: f.name, field: f }))];
  const draw = () => {
    const editable = editableRows(field[rule]);
    const caption = el("span", { class: "editor-caption" }, t(`forms.rule.${rule}`));
    if (editable === null) {
      box.replaceChildren(caption, el("p", { class: "muted" }, t("forms.rule.complex")),
        el("button", { type: "button", onclick: () => { delete field[rule]; draw(); schedulePreview(); } }, t("forms.rule.clear")));
      return;
    }
    const store = () => {
      const rows = editable.rows;
      if (rows.length === 0) delete field[rule];
      else field[rule] = rows.length === 1 ? rows[0] : { [editable.combine]: rows };
      schedulePreview();
    };
    const combine = editable.rows.length > 1 ? el("select", { class: "rule-combine", "aria-label": t("forms.rule.combine"), onchange: (e) => {
      editable.combine = e.target.value;
      store();
    } }, ["all", "any"].map((k) => el("option", { value: k, selected: k === editable.combine }, t(`forms.rule.${k}`)))) : null;
    const available = targets();
    const rows = editable.rows.map((cond, j) => conditionRow(cond, available, () => store(), () => {
      editable.rows.splice(j, 1);
      store();
      draw();
    }));
    const add = available.length ? el("button", { type: "button", class: "add-condition", onclick: () => {
      const target = available[available.length - 1];
      editable.rows.push(defaultCondition(target));
      store();
      draw();
    } }, t(editable.rows.length ? "forms.rule.and" : "forms.rule.add")) : el("span", { class: "muted" }, t("forms.rule.nothing_earlier"));
    box.replaceChildren(...[caption, combine, ...rows, add].filter(Boolean));
  };
  draw();
  return box;
}

function defaultCondition(target) {
  const op = OPS[target.field.type][0];
  const cond = target.name ? { field: target.name, op } : { op };
  const value = defaultValue(target.field, op);
  if (value !== undefined) cond.value = value;
  return cond;
}

function defaultValue(field, op) {
  if (op === "answered") return undefined;
  if (field.type === "yes_no") return true;
  if (field.choices?.length) return field.choices[0].value;
  if (field.type === "temperature") return 37.3;
  if (field.type === "number") return field.min ?? 0;
  return "";
}

function conditionRow(cond, available, store, remove) {
  const target = () => available.find((a) => a.name === (cond.field ?? null)) || available[0];
  const row = el("div", { class: "condition" });
  const draw = () => {
    const { field } = target();
    const fieldSelect = el("select", { class: "condition-field", "aria-label": t("forms.rule.field"), onchange: () => {
      const picked = available[fieldSelect.selectedIndex];
      Object.keys(cond).forEach((k) => delete cond[k]);
      Object.assign(cond, defaultCondition(picked));
      store();
      draw();
    } }, available.map((a) => el("option", { selected: a === target() }, a.name === null ? t("forms.rule.this_answer") : a.field.label || a.name)));
    const opSelect = el("select", { class: "condition-op", "aria-label": t("forms.rule.op"), onchange: () => {
      cond.op = opSelect.value;
      if (cond.op === "answered") delete cond.value;
      else if (cond.value === undefined) cond.value = defaultValue(field, cond.op);
      store();
      draw();
    } }, OPS[field.type].map((op) => el("option", { value: op, selected: op === cond.op }, t(`forms.op.${op}`))));
    const remover = el("button", { type: "button", class: "icon", "aria-label": t("forms.rule.remove"), onclick: remove }, "✕");
    row.replaceChildren(...[fieldSelect, opSelect, cond.op === "answered" ? null : valueInput(field, cond, store), remover].filter(Boolean));
  };
  draw();
  return row;
}

function valueInput(field, cond, store) {
  const label = t("forms.rule.value");
  if (field.type === "yes_no" || field.choices) {
    const options = field.type === "yes_no"
      ? [{ value: true, label: t("forms.render.yes") }, { value: false, label: t("forms.render.no") }]
      : field.choices;
    const select = el("select", { class: "condition-value", "aria-label": label, onchange: () => {
      cond.value = options[select.selectedIndex].value;
      store();
    } }, options.map((o) => el("option", { selected: o.value === cond.value }, o.label)));
    return select;
  }
  const type = { number: "number", temperature: "number", date: "date", time: "time" }[field.type] || "text";
  const input = el("input", { class: "condition-value", type, step: type === "number" ? "any" : null, "aria-label": label, value: cond.value ?? "",
    oninput: () => {
      cond.value = type === "number" ? (input.value.trim() === "" ? null : Number(input.value)) : input.value;
      store();
    } });
  return input;
}

// --- preview ----------------------------------------------------------------------------------------------

function schedulePreview(delay = 150) {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(drawPreview, delay);
}

function drawPreview() {
  if (!editing) return;
  renderForm($("preview-form"), { fields: editing.fields.map(tidy) });
}

function showTab(preview) {
  $("editor").classList.toggle("show-preview", preview);
  $("tab-edit").setAttribute("aria-selected", String(!preview));
  $("tab-preview").setAttribute("aria-selected", String(preview));
}

// --- saving, versions, archive ----------------------------------------------------------------------------

async function save() {
  for (const node of document.querySelectorAll(".field-card .field-error")) node.hidden = true;
  showMessage(pageError, "");
  const definition = { fields: editing.fields.map(tidy) };
  $("save").disabled = true;
  try {
    const form = editing.id === null
      ? await api(`/api/v1/orgs/${orgId}/forms`, { method: "POST", body: { title: editing.title.trim(), definition } })
      : await api(`/api/v1/orgs/${orgId}/forms/${editing.id}`, { method: "PATCH",
        body: { title: editing.title.trim(), definition, base_version: editing.version } });
    const saved = form.version !== editing.version;
    editing.id = form.id;
    editing.version = form.version;
    $("form-version").textContent = t("forms.list.version", { version: form.version });
    $("save-state").textContent = saved ? t("forms.editor.saved_version", { version: form.version }) : t("forms.editor.no_change");
    show($("archive"), true);
    show($("versions-box"), true);
    await Promise.all([loadForms(true), loadVersions()]);
  } catch (error) {
    if (!(error instanceof ApiError) || !showAtField(error)) throw error;
  } finally {
    $("save").disabled = false;
  }
}

/** A 400 naming a part of the definition, shown on its question; false if it names none. */
function showAtField(error) {
  const match = /^definition\.fields\.(\d+)/.exec(error.field || "");
  const card = match && $("field-list").children[Number(match[1])];
  if (!card) return false;
  const slot = card.querySelector(".field-error");
  slot.textContent = error.message;
  slot.hidden = false;
  showTab(false);
  card.scrollIntoView({ block: "center" });
  return true;
}

async function loadVersions() {
  const versions = await api(`/api/v1/orgs/${orgId}/forms/${editing.id}/versions`);
  $("version-list").replaceChildren(...versions.map((v) => el("li", { class: "version" },
    el("span", {}, t("forms.list.version", { version: v.number }), " · ", formatDateTime(v.created_at), " · ",
      t("forms.versions.fields", { count: v.fields })),
    el("button", { type: "button", onclick: () => downloadXlsform(v.number).catch(report) }, t("forms.versions.xlsform")))));
}

async function downloadXlsform(number) {
  const resp = await fetch(`/api/v1/orgs/${orgId}/forms/${editing.id}/versions/${number}/xlsform`,
    { headers: { Authorization: `Bearer ${savedToken()}`, "Accept-Language": locale } });
  if (!resp.ok) throw new Error(t("error.http", { status: resp.status }));
  const link = el("a", { href: URL.createObjectURL(await resp.blob()), download: `form-${editing.id}-v${number}.xlsx` });
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

async function setArchived() {
  const form = await api(`/api/v1/orgs/${orgId}/forms/${editing.id}`, { method: "PATCH", body: { archived: !editing.archived } });
  editing.archived = form.archived_at !== null;
  $("archive").textContent = t(editing.archived ? "forms.editor.restore" : "forms.editor.archive");
  await loadForms(true);
}

// --- XLSForm import -----------------------------------------------------------------------------------------

async function importFile() {
  const file = $("import-file").files[0];
  if (!file) return;
  const body = new FormData();
  body.append("file", file);
  showMessage(pageError, "");
  const resp = await fetch(`/api/v1/orgs/${orgId}/forms/import-xlsform`,
    { method: "POST", body, headers: { Authorization: `Bearer ${savedToken()}`, "Accept-Language": locale, Accept: "application/json" } });
  $("import-file").value = "";
  const data = await resp.json().catch(() => null);
  if (!resp.ok) {
    showImportReport(data?.error?.message || t("error.http", { status: resp.status }), data?.problems || [], true);
    return;
  }
  showImportReport(data.warnings.length ? t("forms.import.warnings", { count: data.warnings.length }) : t("forms.import.done"), data.warnings, false);
  await loadForms(true);
  openEditor({ id: data.id, version: data.version, title: data.title, archived: false, fields: data.definition.fields });
  await loadVersions();
}

function showImportReport(summary, items, refused) {
  const box = $("import-report");
  box.classList.toggle("refused", refused);
  $("import-summary").textContent = summary;
  $("import-items").replaceChildren(...items.map((item) => el("li", {}, item.message)));
  show(box, true);
}
