// @mentions in the composer: typing "@" and a few letters offers the group's members (and @all to admins), found
// on the server by name, pinyin or initials, so every member of a group of 10,000 can be named; picking one writes
// "@Name " and remembers who it is, so the message carries their id.

import { api, query } from "/static/api.js";
import { el, show } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { $, groupPath, isAdmin, state } from "./state.js";
import { newestOnly } from "./typing.js";

const ALL = "all";
const picked = new Map(); // "@Name" -> user id, for the message being written
let choices = [];
let active = 0;

const box = () => $("message-body");
const list = () => $("mention-list");

/** The word after "@" just before the caret, or null. */
function typedMention() {
  const before = box().value.slice(0, box().selectionStart);
  const match = /(^|\s)@([^\s@]*)$/.exec(before);
  return match ? { query: match[2], start: before.length - match[2].length - 1 } : null;
}

const SHOWN = 8;
const search = newestOnly((q) => api(groupPath("/members") + query({ q, limit: SHOWN + 1 })));

async function update() {
  const typed = typedMention();
  if (!typed) return close();
  const q = typed.query;
  let members = state.members; // "@" alone: the first members
  if (q) {
    const page = await search(q).catch(() => null);
    const now = typedMention();
    if (!page || !now || now.query !== q) return; // superseded, or the @ is gone
    members = page.members;
  }
  choices = members.filter((m) => m.user_id !== state.me).slice(0, SHOWN);
  if (isAdmin() && ALL.startsWith(q.toLowerCase())) choices.unshift({ user_id: null, name: ALL });
  active = 0;
  render();
}

function render() {
  list().replaceChildren(
    ...choices.map((c, i) =>
      el(
        "li",
        { role: "option", class: i === active ? "mention-choice active" : "mention-choice", "aria-selected": String(i === active), onmousedown: (e) => (e.preventDefault(), choose(c)) },
        c.user_id === null ? t("groups.mentions.all") : c.name,
      ),
    ),
  );
  show(list(), choices.length > 0);
}

function close() {
  choices = [];
  show(list(), false);
}

function choose(choice) {
  const typed = typedMention();
  if (!typed) return close();
  const text = box().value;
  const token = `@${choice.name}`;
  box().value = `${text.slice(0, typed.start)}${token} ${text.slice(box().selectionStart)}`;
  const caret = typed.start + token.length + 1;
  box().setSelectionRange(caret, caret);
  if (choice.user_id !== null) picked.set(token, choice.user_id);
  close();
  box().dispatchEvent(new Event("input")); // the draft keeps it
}

/** What `body` mentions: the ids of people picked whose "@Name" is still in it, and whether it says @all. */
export function mentionsIn(body) {
  const mentions = [...picked].filter(([token]) => body.includes(token)).map(([, id]) => id);
  return { mentions: [...new Set(mentions)], mention_all: /(^|\s)@all(\s|$)/.test(body) };
}

export function forgetMentions() {
  picked.clear();
  close();
}

export function setUpMentions() {
  box().addEventListener("input", update);
  box().addEventListener("blur", close);
  box().addEventListener("keydown", (event) => {
    if (list().hidden || !choices.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      active = (active + (event.key === "ArrowDown" ? 1 : choices.length - 1)) % choices.length;
      render();
    } else if (event.key === "Enter" || event.key === "Tab") {
      choose(choices[active]);
    } else if (event.key === "Escape") {
      close();
    } else return;
    event.preventDefault();
  });
}
