// A form definition (server/forms/definition.py) rendered as a mobile form: the builder's live
// preview and the page a respondent fills in (the rounds' fill page) use this one module.
//
//   import { renderForm, collectAnswers, showFieldError } from "/forms/static/form-render.js";
//   renderForm(container, definition, { answers, onChange, uploadPhoto });
//   const answers = collectAnswers();          // typed answers of the fields shown, as the API takes them
//   showFieldError(error.field, error.message) // a 400 of the server names the field
//
// Skip logic runs live, with the server's semantics (server/forms/answers.py): a field is shown when
// its `relevant` condition holds for the answers above it, and the answers of hidden fields are
// neither collected nor seen by later conditions. Answers are typed as the server wants them:
// numbers, true/false, choice values (a list in the choices' order), "YYYY-MM-DD", "HH:MM",
// {lat, lon, accuracy}, a photo's file id. `onChange(answers)` follows every change (to keep a
// draft). A photo needs `uploadPhoto(file) → Promise<file id>` (the fill page uploads it with tus to
// POST /api/v1/orgs/{org_id}/form-photos); without it (the preview) a photo is only shown. A photo
// already answered is shown if `photoSource(file id) → Promise<image URL>` is given (the fill page's
// thumbnail, read with the device's token).
// The page must name "/forms/static/i18n" in <html data-catalogues>.

import { el } from "/static/dom.js";
import { t } from "/static/i18n.js";

let current = null; // the form rendered last: { definition, container, rows: Map(name → row), options }

/** Renders `definition` into `container` (replacing what was there); returns { collectAnswers, showFieldError }. */
export function renderForm(container, definition, { answers = {}, onChange = null, uploadPhoto = null, photoSource = null } = {}) {
  const rows = new Map();
  const state = { definition, container, rows, options: { onChange, uploadPhoto, photoSource } };
  current = state;
  const form = el("div", { class: "fill-form" });
  for (const field of definition.fields) {
    const row = fieldRow(field, state);
    rows.set(field.name, row);
    form.append(row.node);
    if (answers[field.name] !== undefined && answers[field.name] !== null) row.set(answers[field.name]);
  }
  container.replaceChildren(form);
  refresh(state);
  return { collectAnswers: () => collect(state), showFieldError: (name, message) => showError(state, name, message) };
}

/** The typed answers of the fields shown in the form rendered last. */
export function collectAnswers() {
  return current ? collect(current) : {};
}

/** Shows a message under a field (a 400's `field`); an unknown field shows nothing and returns false. */
export function showFieldError(name, message) {
  return current ? showError(current, name, message) : false;
}

/** Client-side checks before sending (the server checks again): required and ranges. Returns {field, message} or null. */
export function firstProblem() {
  if (!current) return null;
  const values = collect(current);
  for (const field of current.definition.fields) {
    const row = current.rows.get(field.name);
    if (row.node.hidden || field.type === "note") continue;
    const value = values[field.name];
    if (row.invalid) return { field: field.name, message: row.invalid };
    if (value === undefined) {
      if (field.required) return { field: field.name, message: t("forms.render.required") };
      continue;
    }
    if (typeof value === "number") {
      if (field.integer && !Number.isInteger(value)) return { field: field.name, message: t("forms.render.whole") };
      const low = field.min ?? null;
      const high = field.max ?? null;
      if ((low !== null && value < low) || (high !== null && value > high)) {
        const message = low !== null && high !== null ? t("forms.render.between", { min: low, max: high })
          : low !== null ? t("forms.render.at_least", { min: low }) : t("forms.render.at_most", { max: high });
        return { field: field.name, message };
      }
    }
  }
  return null;
}

// --- skip logic and the answers --------------------------------------------------------------------------------

/** Whether a condition holds for the answers so far (`field` null means the field `self`), as server/forms/answers.py. */
export function holds(cond, values, self) {
  if (cond.all) return cond.all.every((c) => holds(c, values, self));
  if (cond.any) return cond.any.some((c) => holds(c, values, self));
  if (cond.none) return !cond.none.some((c) => holds(c, values, self));
  const name = cond.field || self;
  if (!(name in values)) return false;
  const value = values[name];
  switch (cond.op) {
    case "answered": return true;
    case "eq": return value === cond.value;
    case "ne": return value !== cond.value;
    case "lt": return value < cond.value;
    case "le": return value <= cond.value;
    case "gt": return value > cond.value;
    case "ge": return value >= cond.value;
    case "in": return Array.isArray(cond.value) && cond.value.includes(value);
    case "contains": return Array.isArray(value) ? value.includes(cond.value) : String(value).includes(cond.value);
    default: return false;
  }
}

function collect(state) {
  const values = {};
  for (const field of state.definition.fields) {
    const row = state.rows.get(field.name);
    if (row.node.hidden) continue;
    const value = row.get();
    if (value !== undefined) values[field.name] = value;
  }
  return values;
}

/** Shows and hides fields top to bottom: a hidden field's answer is not seen by the conditions below it. */
function refresh(state) {
  const values = {};
  for (const field of state.definition.fields) {
    const row = state.rows.get(field.name);
    const shown = !field.relevant || holds(field.relevant, values, field.name);
    row.node.hidden = !shown;
    const value = shown ? row.get() : undefined;
    if (value !== undefined) values[field.name] = value;
    row.node.classList.toggle("abnormal", value !== undefined && !!field.abnormal && holds(field.abnormal, values, field.name));
  }
}

function changed(state, row) {
  row.error.hidden = true;
  refresh(state);
  state.options.onChange?.(collect(state));
}

function showError(state, name, message) {
  const row = state.rows.get(name);
  if (!row) return false;
  row.error.textContent = message;
  row.error.hidden = false;
  row.node.scrollIntoView?.({ block: "center", behavior: "smooth" });
  row.node.querySelector("input, textarea, button")?.focus({ preventScroll: true });
  return true;
}

// --- one field ---------------------------------------------------------------------------------------------

function fieldRow(field, state) {
  const id = `fill-${field.name}`;
  const error = el("p", { class: "field-error", role: "alert", hidden: true });
  const hint = field.hint ? el("p", { class: "field-hint muted", id: `${id}-hint` }, field.hint) : null;
  const row = { node: null, error, invalid: null, get: () => undefined, set: () => {} };
  const onInput = () => changed(state, row);
  let control;
  if (field.type === "note") {
    row.node = el("div", { class: "fill-field fill-note", dataset: { field: field.name } }, el("p", {}, field.label), hint);
    return row;
  }
  const title = el("span", { class: "fill-label" }, field.label, field.required ? el("span", { class: "required", "aria-hidden": "true" }, " *") : null);
  switch (field.type) {
    case "single_choice":
    case "multiple_choice":
    case "yes_no":
      control = choices(field, id, row, onInput);
      row.node = el("fieldset", { class: "fill-field", dataset: { field: field.name, type: field.type } },
        el("legend", {}, title), hint, control, flag(field), error);
      return row;
    case "location":
      control = location(row, onInput);
      break;
    case "photo":
      control = photo(row, onInput, state);
      break;
    default:
      control = input(field, id, row, onInput);
  }
  row.node = el("div", { class: "fill-field", dataset: { field: field.name, type: field.type } },
    el("label", { for: id }, title), hint, control, flag(field), error);
  return row;
}

/** Shown (by the .abnormal class) when the answer makes the abnormal rule hold: the builder sees its rule work. */
function flag(field) {
  return field.abnormal ? el("p", { class: "abnormal-flag" }, t("forms.render.abnormal")) : null;
}

function input(field, id, row, onInput) {
  const number = field.type === "number" || field.type === "temperature";
  const long = field.type === "text" && (field.max_length ?? 1000) > 200;
  const props = { id, name: field.name, oninput: onInput, "aria-describedby": field.hint ? `${id}-hint` : null };
  let node;
  if (long) {
    node = el("textarea", { ...props, rows: 3, maxlength: field.max_length ?? 1000 });
  } else if (number) {
    node = el("input", { ...props, type: "number", inputmode: field.integer ? "numeric" : "decimal", step: field.integer ? "1" : "any",
      min: field.min ?? null, max: field.max ?? null });
  } else {
    const type = { date: "date", time: "time" }[field.type] || "text";
    node = el("input", { ...props, type, maxlength: type === "text" ? field.max_length ?? 1000 : null });
  }
  row.get = () => {
    const text = node.value.trim();
    if (text === "") return undefined;
    if (!number) return text;
    const value = Number(text);
    return Number.isFinite(value) ? value : undefined;
  };
  row.set = (value) => { node.value = String(value); };
  if (field.type === "temperature") return el("div", { class: "with-unit" }, node, el("span", { class: "unit" }, "°C"));
  return node;
}

function choices(field, id, row, onInput) {
  const many = field.type === "multiple_choice";
  const options = field.type === "yes_no"
    ? [{ value: true, label: t("forms.render.yes") }, { value: false, label: t("forms.render.no") }]
    : field.choices;
  const boxes = options.map((choice, i) => {
    const box = el("input", { type: many ? "checkbox" : "radio", name: id, id: `${id}-${i}`, onchange: onInput });
    return { box, choice, node: el("label", { class: "choice", for: `${id}-${i}` }, box, el("span", {}, choice.label)) };
  });
  row.get = () => {
    const picked = boxes.filter((b) => b.box.checked).map((b) => b.choice.value);
    if (many) return picked.length ? picked : undefined;
    return picked.length ? picked[0] : undefined;
  };
  row.set = (value) => {
    const wanted = many ? value : [value];
    for (const b of boxes) b.box.checked = wanted.includes(b.choice.value);
  };
  const clear = many ? null : el("button", { type: "button", class: "link-button clear-choice", onclick: () => { row.set(many ? [] : undefined); onInput(); } },
    t("forms.render.clear"));
  return el("div", { class: `choices${field.type === "yes_no" ? " yes-no" : ""}` }, boxes.map((b) => b.node), clear);
}

function location(row, onInput) {
  let place;
  const shown = el("span", { class: "muted" }, t("forms.render.no_location"));
  const button = el("button", { type: "button", onclick: () => {
    if (!navigator.geolocation) {
      row.invalid = t("forms.render.location_unavailable");
      shown.textContent = row.invalid;
      return;
    }
    shown.textContent = t("forms.render.locating");
    navigator.geolocation.getCurrentPosition((position) => {
      const { latitude, longitude, accuracy } = position.coords;
      place = { lat: latitude, lon: longitude, accuracy: Math.round(accuracy * 10) / 10 };
      row.invalid = null;
      shown.textContent = t("forms.render.location", { lat: latitude.toFixed(5), lon: longitude.toFixed(5), accuracy: Math.round(accuracy) });
      onInput();
    }, () => {
      shown.textContent = t("forms.render.location_unavailable");
    }, { enableHighAccuracy: true, timeout: 20000 });
  } }, t("forms.render.locate"));
  row.get = () => place;
  row.set = (value) => {
    place = value;
    shown.textContent = t("forms.render.location", { lat: value.lat, lon: value.lon, accuracy: value.accuracy ?? "?" });
  };
  return el("div", { class: "location" }, button, shown);
}

function photo(row, onInput, state) {
  let fileId;
  const shown = el("span", { class: "muted" });
  const picker = el("input", { type: "file", accept: "image/*", capture: "environment", onchange: async () => {
    const file = picker.files[0];
    if (!file) return;
    fileId = undefined;
    if (!state.options.uploadPhoto) {
      shown.textContent = t("forms.render.photo_preview", { name: file.name });
      return;
    }
    shown.textContent = t("forms.render.uploading");
    row.invalid = t("forms.render.uploading");
    try {
      fileId = await state.options.uploadPhoto(file);
      row.invalid = null;
      shown.textContent = t("forms.render.photo_ready", { name: file.name });
    } catch (error) {
      row.invalid = error.message;
      shown.textContent = error.message;
    }
    onInput();
  } });
  row.get = () => fileId;
  const kept = el("img", { class: "photo-kept", alt: t("forms.render.photo_kept"), hidden: true });
  row.set = (value) => {
    fileId = value;
    shown.textContent = t("forms.render.photo_kept");
    kept.hidden = true;
    if (state.options.photoSource) {
      state.options.photoSource(value).then((url) => {
        kept.src = url;
        kept.hidden = false;
      }, () => {}); // the words say a photo is there; its picture is a bonus
    }
  };
  return el("div", { class: "photo" }, picker, shown, kept);
}
