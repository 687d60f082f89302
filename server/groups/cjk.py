"""Chinese, Japanese and Korean text for full-text search: overlapping character pairs stand in for words.

Chinese is written without spaces, so both search engines (PostgreSQL's
'simple' parser, SQLite FTS5's unicode61) see a whole sentence as one word
and cannot find a word inside it. Each message therefore also stores the
character bigrams of its CJK runs (``group_messages.cjk_terms``), plus each
run's last character, and both indexes cover body and bigrams:

    今天的健康报告  ->  今天 天的 的健 健康 康报 报告 告

A CJK run in a query becomes the phrase of its bigrams (健康报告 -> the
adjacent terms 健康 康报 报告), so it matches where those characters stand
together; a single character matches as a prefix (健 -> 健*), which finds it
anywhere, since every character of a run starts a bigram or ends the run.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# Han (with extension A, compatibility ideographs and the supplementary planes), kana, Hangul syllables.
CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f]+")


def bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


def index_terms(text: str) -> str:
    """The terms stored beside a message's body: each CJK run's bigrams and its last character."""
    return " ".join(" ".join([*bigrams(run), run[-1]]) for run in CJK_RUN.findall(text))


@dataclass
class QueryTerms:
    """A search query split for the indexes: plain words, CJK phrases (of bigrams), single CJK characters."""

    words: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    characters: list[str] = field(default_factory=list)


def query_terms(q: str) -> QueryTerms:
    terms = QueryTerms()
    for word in q.split():
        terms.words += [w for w in CJK_RUN.split(word) if any(c.isalnum() for c in w)]
        for run in CJK_RUN.findall(word):
            if len(run) == 1:
                terms.characters.append(run)
            else:
                terms.phrases.append(" ".join(bigrams(run)))
    return terms
