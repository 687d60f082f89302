// The navigation shell on every signed-in page: the organisation, the places to go,
// and the person's menu (language, account, sign out).
//
//   <header id="shell"></header>            (first thing in <body>)
//   const { me, org, orgs } = await mountShell({ active: "groups" });
//
// The places come from GET /api/v1/navigation (each capability registers its own,
// admins also get the organisation's settings), labelled by the server in the
// page's language. On a phone the places become a tab bar at the bottom of the screen.
// `org` is the organisation last used on any page (else the first); null, and said
// so on the page, if the person is in none. A guest (invited by link to one group or
// meeting) gets the bar without places or organisation: `org` is then null and the
// page knows from its own link where the guest belongs. A page whose link names an organisation
// (`mountShell({ active, orgId })`, from its `?org=`) gets that one if the person is in it. Someone an
// organisation admits as an outsider (a school's guardian, an external contact: GET /api/v1/me/outsider-orgs)
// gets it with `outsider: true` and the places open to outsiders, each addressed with `?org=`; a person in
// no organisation lands there (`/home`). The page then calls only the routes open to outsiders. An address
// naming an organisation that neither has nor admits them gets the bar without places and `org` as `{ id }`.

import { api, query, savedToken, signOut } from "./api.js";
import { el } from "./dom.js";
import { LOCALES, adoptLocale, locale, setLocale, setTimeZone, t } from "./i18n.js";

const ORG_KEY = "muster.org";
const LANGUAGE_NAMES = { "zh-CN": "中文", en: "English" };

export async function mountShell({ active, orgId = null }) {
  if (!savedToken()) {
    location.replace(`/?next=${encodeURIComponent(location.pathname + location.search)}`);
    return new Promise(() => {}); // the page is going away
  }
  const me = await api("/api/v1/me");
  if (adoptLocale(me.locale)) {
    location.reload(); // the person chose another language on another device
    return new Promise(() => {});
  }
  const header = document.getElementById("shell");
  header.classList.add("shell");
  if (me.kind === "guest") {
    header.replaceChildren(el("div", { class: "shell-bar" }, el("span", { class: "brand" }, t("shell.brand")), el("span", { class: "spacer" }), liveState(), personMenu(me)));
    return { me, org: null, orgs: [] };
  }
  const [orgs, outside] = await Promise.all([api("/api/v1/orgs"), api("/api/v1/me/outsider-orgs")]);
  const admitting = outside.map((o) => ({ ...o, outsider: true }));
  if (orgId && !orgs.some((o) => o.id === orgId) && !admitting.some((o) => o.id === orgId)) {
    header.replaceChildren(el("div", { class: "shell-bar" }, el("span", { class: "brand" }, t("shell.brand")), el("span", { class: "spacer" }), liveState(), personMenu(me)));
    return { me, org: { id: orgId }, orgs };
  }
  const remembered = orgId || Number(localStorage.getItem(ORG_KEY));
  const all = [...orgs, ...admitting];
  const org = all.find((o) => o.id === remembered) || all[0] || null;
  if (org) {
    localStorage.setItem(ORG_KEY, String(org.id));
    setTimeZone(org.time_zone);
  }
  const places = await api(`/api/v1/navigation${query({ org_id: org?.id })}`);

  header.replaceChildren(
    el("div", { class: "shell-bar" },
      el("a", { class: "brand", href: org?.outsider ? `/home?org=${org.id}` : "/home" }, t("shell.brand")),
      orgChooser(all, org),
      el("span", { class: "spacer" }),
      liveState(),
      personMenu(me)),
    el("nav", { class: "app-nav", "aria-label": t("shell.places") },
      places.map((place) => el("a", {
        href: place.href,
        class: "app-nav-link",
        dataset: { place: place.key },
        "aria-current": place.key === active ? "page" : null,
      }, el("span", { class: "app-nav-label" }, place.label), place.badge ? el("span", { class: "badge" }, String(place.badge)) : null))),
  );
  document.body.classList.add("with-shell");
  if (!org) {
    header.after(el("div", { class: "card empty no-org" }, el("h2", {}, t("shell.no_org.title")), el("p", { class: "muted" }, t("shell.no_org.body"))));
  }
  return { me, org, orgs };
}

const liveState = () => el("span", { id: "live-state", class: "live-state muted", "aria-live": "polite" });

function orgChooser(orgs, org) {
  if (orgs.length < 2) return el("span", { id: "org-name", class: "org-name" }, org ? org.name : "");
  const select = el("select", {
    id: "org-select",
    class: "org-select",
    "aria-label": t("shell.organisation"),
    onchange: () => {
      localStorage.setItem(ORG_KEY, select.value);
      const chosen = orgs.find((o) => String(o.id) === select.value);
      // an outsider's pages take the organisation from their address; a member's page from the one remembered
      if (chosen.outsider) location.assign(`/home?org=${chosen.id}`);
      else if (new URLSearchParams(location.search).has("org")) location.assign("/home");
      else location.reload();
    },
  }, orgs.map((o) => el("option", { value: o.id, selected: o.id === org.id }, o.name)));
  return select;
}

/** The language switch; signed in, the choice is also saved as the person's setting (texts the server sends follow it). */
export function languageSelect({ signedIn = true } = {}) {
  const select = el("select", {
    class: "language-select",
    "aria-label": t("shell.language"),
    onchange: async () => {
      if (signedIn) await api("/api/v1/me", { method: "PATCH", body: { locale: select.value } }).catch(() => {});
      setLocale(select.value);
    },
  }, LOCALES.map((code) => el("option", { value: code, selected: code === locale }, LANGUAGE_NAMES[code])));
  return select;
}

function personMenu(me) {
  return el("details", { class: "person-menu" },
    el("summary", { id: "me-name", class: "person-name" }, me.name),
    el("div", { class: "person-menu-body card" },
      el("label", { class: "language" }, el("span", {}, t("shell.language")), languageSelect()),
      me.kind === "guest" ? null : el("a", { href: "/account" }, t("shell.account")),
      el("button", {
        type: "button",
        id: "sign-out",
        class: "sign-out",
        onclick: async () => {
          await signOut();
          location.assign("/");
        },
      }, t("shell.sign_out"))));
}

/** Shows whether the live connection is up, in the shell's corner (pages that use live.js call it from their callbacks). */
export function showLive(connected) {
  const state = document.getElementById("live-state");
  if (state) state.textContent = connected ? "" : t("shell.connecting");
}
