// Every text a person reads on a page comes from a catalogue, in Simplified Chinese or English.
//
// Catalogues are plain JSON files, one per language: the platform's at
// /static/i18n/{locale}.json, and each page names its own package's folder in
// <html data-catalogues="/groups/static/i18n">. Keys are dotted names
// ("groups.composer.send"); a value is a string with {placeholders}, or
// {"one": ..., "other": ...} for a count. English is loaded too and fills in
// any gap, and a gap is reported on the console, where the page tests fail on it.
//
// The language is the one chosen on the page (the switch in the shell), else
// the person's setting (copied here at sign-in), else the browser's. Importing
// this module waits for the catalogues, then translates the static document:
//   data-i18n="key"                → the element's text
//   data-i18n-placeholder="key", data-i18n-title="key", data-i18n-aria-label="key" → that attribute

const LOCALE_KEY = "muster.locale";
export const LOCALES = ["zh-CN", "en"];

/** "zh-CN" for any Chinese tag, "en" for any English one, else null. */
export function normalise(tag) {
  const language = String(tag || "").toLowerCase().split(/[-_]/)[0];
  return language === "zh" ? "zh-CN" : language === "en" ? "en" : null;
}

function chooseLocale() {
  const saved = normalise(localStorage.getItem(LOCALE_KEY));
  if (saved) return saved;
  for (const tag of navigator.languages || [navigator.language]) {
    const locale = normalise(tag);
    if (locale) return locale;
  }
  return "en";
}

export const locale = chooseLocale();
const texts = new Map(); // key → text in the chosen language
const english = new Map();

async function loadCatalogue(folder, language, into) {
  const response = await fetch(`${folder}/${language}.json`);
  if (!response.ok) throw new Error(`catalogue ${folder}/${language}.json: ${response.status}`);
  for (const [key, value] of Object.entries(await response.json())) into.set(key, value);
}

const folders = ["/static/i18n", ...(document.documentElement.dataset.catalogues || "").split(/\s+/).filter(Boolean)];
await Promise.all(folders.flatMap((folder) => [loadCatalogue(folder, "en", english), locale === "en" ? null : loadCatalogue(folder, locale, texts)]));
if (locale === "en") for (const [key, value] of english) texts.set(key, value);
document.documentElement.lang = locale;

/** The text of `key` with its {placeholders} filled; a `count` param picks the one/other form. */
export function t(key, params = {}) {
  let text = texts.get(key);
  if (text === undefined) {
    console.error(`missing translation: ${key} (${locale})`);
    text = english.get(key) ?? "";
  }
  if (typeof text === "object") {
    text = new Intl.PluralRules(locale).select(Number(params.count)) === "one" ? text.one : text.other;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** Whether the catalogues have `key`: for a key made from data (an audit action), which may be one no text was written for. */
export function hasText(key) {
  return texts.has(key) || english.has(key);
}

const ATTRIBUTES = ["placeholder", "title", "aria-label"];

/** Translates the data-i18n* attributes under `root` (the document at import; call it for templates you clone). */
export function translate(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const attribute of ATTRIBUTES) {
    for (const node of root.querySelectorAll(`[data-i18n-${attribute}]`)) node.setAttribute(attribute, t(node.getAttribute(`data-i18n-${attribute}`)));
  }
}

translate();

/** Switches the language on this device and reloads the page in it. */
export function setLocale(next) {
  localStorage.setItem(LOCALE_KEY, next);
  location.reload();
}

/** Remembers the person's own setting (from /api/v1/me) on this device; true if it changed the page's language. */
export function adoptLocale(personLocale) {
  const wanted = normalise(personLocale);
  if (!wanted || normalise(localStorage.getItem(LOCALE_KEY)) === wanted) return false;
  localStorage.setItem(LOCALE_KEY, wanted);
  return wanted !== locale;
}

let timeZone; // the organisation's (set by the shell); undefined: the device's

export function setTimeZone(zone) {
  timeZone = zone || undefined;
}

/** A moment in the organisation's time zone and the reader's language; `style` is an Intl.DateTimeFormat option set. */
export function formatDateTime(iso, style = { dateStyle: "medium", timeStyle: "short" }) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(locale, { ...style, timeZone }).format(new Date(iso));
}

export const formatTime = (iso) => formatDateTime(iso, { timeStyle: "short" });
export const formatDate = (iso) => formatDateTime(iso, { dateStyle: "medium" });

/** 1234 → "1,234" in the reader's language. */
export const formatNumber = (n) => new Intl.NumberFormat(locale).format(n);
