"""The search syntax of the wiki, read leniently into Whoosh queries.

Words are ANDed; ``"a phrase"``, ``prefix*``, ``-excluded``, ``tag:x``,
``path:folder/`` and ``a OR b`` have their meaning; anything else — an
unbalanced quote, a lone ``-`` or ``*``, an unknown ``field:`` — is read as
plain words, so a query can be useless but never an error.

Phrases are checked on word positions with numpy (``docsets``): checking
them in Python for thousands of candidate pages is what made phrase queries
the slowest ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from whoosh import query as q

from .analysis import english_terms, folded_words, stems_by_position

MAX_QUERY_CHARS = 1000
MAX_CLAUSES = 32
MIN_PREFIX = 2

_TOKEN = re.compile(r'(-?)(?:(tag|path):)?(?:"([^"]*)"|(\S+))', re.IGNORECASE)


@dataclass
class Part:
    """One piece of the user's query, kept to rebuild a corrected query string."""

    text: str
    kind: str  # word, phrase, prefix, filter, operator
    negated: bool = False


@dataclass
class ParsedQuery:
    """``query`` says exactly which documents match; ``scoring`` only ranks them."""

    query: q.Query | None
    scoring: q.Query | None = None
    highlight: set[str] = field(default_factory=set)
    prefixes: list[str] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)

    @property
    def words(self) -> list[str]:
        return [part.text for part in self.parts if part.kind == "word" and not part.negated]


@dataclass
class _Clause:
    query: q.Query
    scoring: list[q.Query]


def _terms_query(stems: tuple[str, ...], english: list[str]) -> list[q.Query]:
    subqueries: list[q.Query] = [q.Term(name, stem) for stem in stems for name in ("title", "body")]
    subqueries += [q.Term(name, word) for word in english for name in ("title_en", "body_en")]
    return subqueries


def _text(text: str, highlight: set[str]) -> _Clause | None:
    """A word or a quoted phrase: its words' French stems, next to each other when there are several.

    A single word may also be an English one; the English stems of several
    words (``l'association`` gives ``l`` and ``associ``) are no alternative.
    """
    groups = stems_by_position(text)
    if not groups:
        return None  # only French stop words or elisions: nothing meaningful to search for
    for group in groups:
        highlight.update(group)
    if len(groups) == 1:
        english = english_terms(text)
        terms = _terms_query(groups[0], english if len(english) == 1 else [])
        return _Clause(q.Or(terms), terms)
    scoring: list[q.Query] = []
    parts: list[q.Query] = []
    for group in groups:
        terms = _terms_query(group, [])
        scoring += terms
        parts.append(q.Or(terms))
    # The first stem of each word stands at every position where the word does.
    firsts = [group[0] for group in groups]
    parts.append(q.Or([q.Phrase("title", firsts), q.Phrase("body", firsts)]))
    return _Clause(q.And(parts), scoring)


def _prefix(text: str, prefixes: list[str]) -> _Clause | None:
    base = text.rstrip("*")
    folded = folded_words(base)
    if len(folded) != 1 or len(folded[0]) < MIN_PREFIX:
        return None
    candidates = {folded[0]}
    groups = stems_by_position(base)
    if len(groups) == 1:
        candidates |= {stem for stem in groups[0] if len(stem) >= MIN_PREFIX}
    prefixes.extend(sorted(candidates))
    terms: list[q.Query] = [q.Prefix(name, prefix) for prefix in sorted(candidates) for name in ("title", "body")]
    return _Clause(q.Or(terms), terms)


def _filter(name: str, value: str) -> _Clause | None:
    value = value.strip()
    if not value:
        return None
    if name == "tag":
        return _Clause(q.Term("tags", value.lower()), [])
    folder = value.strip("/")
    if not folder:
        return None
    return _Clause(q.Or([q.Term("path", folder), q.Term("folders", folder.replace(" ", "\x00"))]), [])


def parse_query(text: str) -> ParsedQuery:
    """Read what a visitor typed; never raises."""
    text = (text or "")[:MAX_QUERY_CHARS]
    if text.count('"') % 2:
        last = text.rfind('"')
        text = text[:last] + " " + text[last + 1 :]
    parsed = ParsedQuery(None)
    required: list[q.Query] = []
    excluded: list[q.Query] = []
    scoring: list[q.Query] = []
    pending_or = False
    for match in _TOKEN.finditer(text):
        if len(required) + len(excluded) >= MAX_CLAUSES:
            break
        negated = match.group(1) == "-"
        field_name = (match.group(2) or "").lower()
        phrase, word = match.group(3), match.group(4)
        if word == "OR" and not negated and not field_name:
            pending_or = bool(required)
            parsed.parts.append(Part("OR", "operator"))
            continue
        highlight = parsed.highlight if not negated else set()
        clause: _Clause | None
        if field_name:
            clause = _filter(field_name, phrase if phrase is not None else word)
            parsed.parts.append(Part(match.group(0).lstrip("-"), "filter", negated))
        elif phrase is not None:
            clause = _text(phrase, highlight)
            parsed.parts.append(Part(phrase, "phrase", negated))
        elif word.endswith("*"):
            clause = _prefix(word, parsed.prefixes if not negated else []) or _text(word, highlight)
            parsed.parts.append(Part(word, "prefix", negated))
        else:
            clause = _text(word, highlight)
            parsed.parts.append(Part(word, "word", negated))
        if clause is None:
            continue
        if negated:
            excluded.append(clause.query)
            continue
        scoring += clause.scoring
        if pending_or and required:
            required.append(q.Or([required.pop(), clause.query]))
        else:
            required.append(clause.query)
        pending_or = False
    if not required and not excluded:
        return parsed
    positive: q.Query = q.And(required) if required else q.Every()
    parsed.query = q.AndNot(positive, q.Or(excluded)) if excluded else positive
    parsed.scoring = q.Or(scoring) if scoring else None
    return parsed


def rebuild(parts: list[Part], replacements: dict[str, str]) -> str:
    """The query string with some words replaced (for "did you mean")."""
    out = []
    for part in parts:
        text = replacements.get(part.text, part.text) if part.kind == "word" else part.text
        if part.kind == "phrase":
            text = f'"{text}"'
        out.append(("-" if part.negated else "") + text)
    return " ".join(out)
