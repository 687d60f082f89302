"""How a name sorts and is found by its pinyin: 张伟 sorts as "zhang wei" and is found by "zhangwei", "zhang" and "zw".

Computed once when a member's name is set (``Membership.display_name``; the
import writes them with its rows), so the directory sorts and searches with
plain indexed columns on either database, with no pinyin at query time:

* the sort key is the readings, toneless, one word per character or Latin word,
  lower case, joined by spaces: "li na" < "wang fang" < "zhang wei". Compared
  byte by byte (PostgreSQL's "C" collation, SQLite's default), so the space
  sorts before any letter and "li na" comes before "lin";
* the search key is the readings run together, a space, then their initials:
  "zhangwei zw". A query of letters is looked for inside it.

Names are written surname first, and some surnames are read differently from
the same character elsewhere (曾 is "zeng" as a surname, "ceng" in 曾经): where
pypinyin lists the surname reading among a leading character's readings, it
is used. The rest is read a character at a time, without pypinyin's phrases
(words of running text, 44 MB in memory; a given name is no phrase).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

# A name is read a character at a time (with the surnames below): pypinyin's dictionary of phrases is for running
# text, and loading it costs every process ~44 MB. pypinyin reads this when first imported.
os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
from pypinyin import Style, lazy_pinyin, pinyin  # noqa: E402

SORT_KEY_LENGTH = 400
SEARCH_KEY_LENGTH = 600

# Surnames whose reading differs from the character's usual one; compound surnames first.
_COMPOUND_SURNAMES = {"长孙": ("zhang", "sun"), "尉迟": ("yu", "chi"), "单于": ("chan", "yu"), "万俟": ("mo", "qi"), "澹台": ("tan", "tai")}
_SURNAMES = {
    "曾": "zeng", "单": "shan", "解": "xie", "仇": "qiu", "朴": "piao", "区": "ou", "查": "zha", "乐": "yue", "覃": "qin",
    "盖": "ge", "缪": "miao", "翟": "zhai", "召": "shao", "种": "chong", "员": "yun", "宿": "su", "繁": "po", "句": "gou",
    "秘": "bi", "黑": "he", "柏": "bai", "燕": "yan", "那": "na", "华": "hua", "重": "chong", "过": "guo", "折": "she",
}
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class NameKeys:
    sort: str
    search: str


def _surname_readings(name: str) -> tuple[list[str], str]:
    """The readings of a leading surname pypinyin knows in that reading, and the rest of the name."""
    compound = _COMPOUND_SURNAMES.get(name[:2])
    if compound is not None and all(r in _readings(c) for c, r in zip(name[:2], compound)):
        return list(compound), name[2:]
    reading = _SURNAMES.get(name[:1])
    if reading is not None and reading in _readings(name[0]):
        return [reading], name[1:]
    return [], name


def _readings(character: str) -> list[str]:
    return pinyin(character, style=Style.NORMAL, heteronym=True)[0]


def _words(name: str) -> list[str]:
    """One lower-case toneless word per Chinese character (ü as v, as people type it) or run of other letters and digits."""
    words, rest = _surname_readings(name) if _CJK.match(name) else ([], name)
    for part in lazy_pinyin(rest, style=Style.NORMAL):  # a syllable per character; other text as it is
        words += _WORD.findall(part)
    return [w.lower() for w in words]


def name_keys(name: str) -> NameKeys:
    words = _words(name)
    sort = " ".join(words)[:SORT_KEY_LENGTH]
    search = ("".join(words) + " " + "".join(w[0] for w in words))[:SEARCH_KEY_LENGTH]
    return NameKeys(sort=sort, search=search)


def search_form(query: str) -> str | None:
    """A directory query as it is looked for in search keys: letters and digits only, lower case; None if there are none."""
    compact = "".join(_WORD.findall(query.lower()))
    return compact if compact and compact.isascii() else None
