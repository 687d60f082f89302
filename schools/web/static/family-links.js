// A class's family invitation links (/schools/family-links, ?class=<id> to pick one): its head teacher (or a
// manager of the class) makes one card per child, with the child's name, the link and its QR code, to print
// on A4 (six to a page) or send. The links come in the answer of POST .../family-links only, so the cards
// live on this page until it is left; making them again withdraws the unused ones (schools/family_links.py).

import { api } from "/static/api.js";
import { el, show, showMessage } from "/static/dom.js";
import { formatDateTime, t } from "/static/i18n.js";
import { mountShell } from "/static/shell.js";

const $ = (id) => document.getElementById(id);
const DAYS = [7, 14, 30];
const DEFAULT_DAYS = 14;
let org = null;

start().catch((error) => showMessage($("page-error"), error.message));

async function start() {
  ({ org } = await mountShell({ active: "family-links" }));
  if (!org) return;
  const classes = await myClasses();
  show($("no-class"), classes.length === 0);
  show($("links-form"), classes.length > 0);
  $("links-class").replaceChildren(...classes.map((c) => el("option", { value: c.id }, c.label)));
  $("links-days").replaceChildren(...DAYS.map((days) => el("option", { value: days, selected: days === DEFAULT_DAYS }, t("schools.links.days_option", { count: days }))));
  $("links").dataset.ready = "true";
}

/** The classes whose head teacher the person is, and the one the address names (a manager's), labelled as a family reads them. */
async function myClasses() {
  const me = await api(`/api/v1/orgs/${org.id}/schools/me`);
  const ids = me.roles.filter((r) => r.role === "head_teacher").map((r) => r.unit.id);
  const wanted = Number(new URLSearchParams(location.search).get("class"));
  if (wanted && !ids.includes(wanted)) ids.unshift(wanted);
  const units = await Promise.all(ids.map((id) => api(`/api/v1/orgs/${org.id}/schools/units/${id}`)));
  return units.filter((u) => u.kind === "class" && !u.archived).map((u) => ({ id: u.id, label: placeOf(u.trail) }));
}

/** "North No. 1 Primary School · Grade 1 · Class 2": the school and what is under it. */
function placeOf(trail) {
  const school = trail.findIndex((u) => u.kind === "school");
  return trail.slice(Math.max(school, 0)).map((u) => u.name).join(" · ");
}

$("links-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  showMessage($("links-error"), "");
  $("links-submit").disabled = true;
  try {
    const body = { expires_in_s: Number($("links-days").value) * 86400 };
    const sheet = await api(`/api/v1/orgs/${org.id}/schools/units/${$("links-class").value}/family-links`, { method: "POST", body });
    render(sheet);
  } catch (error) {
    showMessage($("links-error"), error.message);
  } finally {
    $("links-submit").disabled = false;
  }
});

$("sheet-print").addEventListener("click", () => window.print());

function render(sheet) {
  $("sheet-made").textContent = t("schools.links.made", { count: sheet.links.length, class_name: sheet.class_name });
  $("cards").replaceChildren(...sheet.links.map((link) => card(sheet, link)));
  show($("sheet"), true);
  $("sheet").dataset.count = String(sheet.links.length);
}

function card(sheet, link) {
  return el("li", { class: "family-card", dataset: { student: link.student_id, link: link.link_id } },
    el("div", { class: "family-card-place" }, `${sheet.school} · ${sheet.class_name}`),
    el("div", { class: "family-card-child" }, link.name),
    el("div", { class: "family-card-body" },
      el("img", { class: "family-card-qr", src: link.qr, alt: t("schools.links.qr_alt", { name: link.name }) }),
      el("div", { class: "family-card-text" },
        el("p", { class: "family-card-how" }, t("schools.links.how")),
        el("a", { class: "family-card-url", href: link.url }, link.url),
        el("p", { class: "family-card-expires muted" }, t("schools.links.expires", { when: formatDateTime(link.expires_at) })))),
    sheet.phone_sign_in_url
      ? el("p", { class: "family-card-phone muted" }, t("schools.links.phone"), " ",
        el("span", { class: "family-card-phone-url" }, sheet.phone_sign_in_url))
      : null);
}
