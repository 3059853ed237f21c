"""The search syntax of the wiki, read leniently into Whoosh queries.

Words are ANDed; ``"a phrase"``, ``prefix*``, ``-excluded``, ``tag:x``,
``path:folder/``, ``field:value`` (a fiche field some page has) and
``a OR b`` have their meaning; anything else — an unbalanced quote, a lone
``-`` or ``*``, an unknown ``field:`` — is read as plain words, so a query
can be useless but never an error.

Compounds meet whichever way they are written: two words next to each other
in a query also match the two written as one (``tiers lieux`` finds
``tierslieux``), and a hyphenated word or a phrase also matches its parts
written as one (``co-construction`` finds ``coconstruction``; the index
gives hyphenated words the stems of their parts joined, see ``analysis``).

Phrases are checked on word positions with numpy (``docsets``): checking
them in Python for thousands of candidate pages is what made phrase queries
the slowest ones.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass, field

from whoosh import query as q

from .analysis import compound_stems, english_terms, fold, folded_words, french_stems, iter_words, stems_by_position
from .schema import WORD_MARK

MAX_QUERY_CHARS = 1000
MAX_CLAUSES = 32
MIN_PREFIX = 2
MAX_COMPOUND_WORD = 12  # longer words are not tried joined to the next one
# Words people put in questions, which say little of what the answer is about: they weigh little
# when pages lacking some words are ranked (folded; what the analysis keeps of them).
QUESTION_WORDS = frozenset(
    {
        "quel",
        "quelle",
        "quels",
        "quelles",
        "lequel",
        "laquelle",
        "lesquels",
        "lesquelles",
        "comment",
        "combien",
        "pourquoi",
        "quand",
        "quoi",
        "qui",
        "ou",
        "faut",
        "faire",
        "fait",
        "peut",
        "peux",
        "puis",
        "doit",
        "dois",
        "existe",
        "possible",
        "besoin",
        "exemple",
    }
)

_TOKEN = re.compile(r'(-?)(?:([A-Za-z_][\w-]{0,63}):(?=[^\s/]))?(?:"([^"]*)"|(\S+))')


@dataclass
class Part:
    """One piece of the user's query, kept to rebuild a corrected query string."""

    text: str
    kind: str  # word, phrase, prefix, filter, operator
    negated: bool = False


@dataclass
class Optional:
    """A word (or phrase, or prefix) of the query, for ranking pages that lack some of the words."""

    query: q.Query
    question: bool = False


@dataclass
class ParsedQuery:
    """``query`` says exactly which documents match; ``scoring`` only ranks them.

    ``optional`` (the words), ``filters`` (``tag:``, ``path:``, fields) and
    ``excluded`` let the search look for pages with most of the words when
    few have them all; ``adjacent`` holds the phrases of words next to each
    other in the query, for the proximity boost.
    """

    query: q.Query | None
    scoring: q.Query | None = None
    highlight: set[str] = field(default_factory=set)
    prefixes: list[str] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    optional: list[Optional] = field(default_factory=list)
    filters: list[q.Query] = field(default_factory=list)
    excluded: list[q.Query] = field(default_factory=list)
    adjacent: list[list[str]] = field(default_factory=list)
    alternatives: bool = False  # the query uses OR

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
    joined = compound_stems(list(iter_words(text)))
    if joined:
        highlight.update(joined)
        together = _terms_query(joined, [])
        return _Clause(q.Or([q.And(parts), *together]), scoring + together)
    return _Clause(q.And(parts), scoring)


def _compound(first: str, second: str, clause: q.Query, highlight: set[str]) -> tuple[q.Query, list[q.Query]] | None:
    """Two words next to each other, also matched written as one: ``tiers lieux`` finds ``tierslieux``."""
    if len(second) > MAX_COMPOUND_WORD or fold(second) in QUESTION_WORDS:
        return None
    joined = compound_stems([first, second])
    if not joined:
        return None
    highlight.update(joined)
    together = _terms_query(joined, [])
    return q.Or([clause, *together]), together


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


def _field(name: str, value: str) -> _Clause | None:
    """``field:value``: pages whose fiche field holds every word of the value."""
    words = []
    for word in iter_words(value):
        stems = french_stems(word) or (fold(word),)
        words.append(q.Or([q.Term("facts", f"{name}{WORD_MARK}{stem}") for stem in stems]))
    if not words:
        return None
    return _Clause(words[0] if len(words) == 1 else q.And(words), [])


def _filter(name: str, value: str) -> _Clause | None:
    value = value.strip()
    if not value:
        return None
    if name not in ("tag", "path"):
        return _field(name, value)
    if name == "tag":
        return _Clause(q.Term("tags", value.lower()), [])
    folder = value.strip("/")
    if not folder:
        return None
    return _Clause(q.Or([q.Term("path", folder), q.Term("folders", folder.replace(" ", "\x00"))]), [])


def parse_query(text: str, fields: Container[str] = frozenset()) -> ParsedQuery:
    """Read what a visitor typed; never raises. ``fields`` are the fiche fields some page has."""
    text = (text or "")[:MAX_QUERY_CHARS]
    if text.count('"') % 2:
        last = text.rfind('"')
        text = text[:last] + " " + text[last + 1 :]
    parsed = ParsedQuery(None)
    required: list[q.Query] = []
    excluded: list[q.Query] = []
    scoring: list[q.Query] = []
    question_scoring: list[q.Query] = []
    pending_or = False
    previous_word: str | None = None  # the plain word just before, for compounds and proximity
    run: list[str] = []  # plain words next to each other
    for match in _TOKEN.finditer(text):
        if len(parsed.optional) + len(parsed.filters) + len(excluded) >= MAX_CLAUSES:
            break
        negated = match.group(1) == "-"
        field_name = fold((match.group(2) or "").lower())
        phrase, word = match.group(3), match.group(4)
        if field_name and field_name not in ("tag", "path") and field_name not in fields:
            # Not a field any page has: plain words, colon and all.
            phrase, word, field_name = None, match.group(0).lstrip("-"), ""
        if word == "OR" and not negated and not field_name:
            pending_or = bool(required)
            parsed.alternatives = True
            parsed.parts.append(Part("OR", "operator"))
            previous_word = None
            continue
        highlight = parsed.highlight if not negated else set()
        clause: _Clause | None
        plain = False
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
            plain = not negated
        if clause is None:
            previous_word = None  # a stop word stands between: no compound across it
            continue
        if negated:
            excluded.append(clause.query)
            previous_word = None
            continue
        question = plain and all(fold(w) in QUESTION_WORDS for w in iter_words(word))
        if field_name:
            parsed.filters.append(clause.query)
        else:
            parsed.optional.append(Optional(clause.query, question))
        if question:
            question_scoring += clause.scoring  # ranks only a query made of question words
        else:
            scoring += clause.scoring
        query = clause.query
        _track_adjacent(parsed, run, word if plain and not pending_or else None)
        joined = False
        if plain and previous_word is not None and not pending_or and required and not question:
            paired = _compound(previous_word, word, q.And([required[-1], query]), highlight)
            if paired is not None:
                required.pop()
                query, together = paired
                scoring += together
                joined = True  # a word joins one compound at most
        if pending_or and required:
            required.append(q.Or([required.pop(), query]))
        else:
            required.append(query)
        compoundable = (
            plain and not joined and not question and not pending_or and "-" not in word and len(word) <= MAX_COMPOUND_WORD
        )
        previous_word = word if compoundable else None
        pending_or = False
    _track_adjacent(parsed, run, None)
    parsed.excluded = excluded
    if not required and not excluded:
        return parsed
    positive: q.Query = q.And(required) if required else q.Every()
    parsed.query = q.AndNot(positive, q.Or(excluded)) if excluded else positive
    scoring = scoring or question_scoring
    parsed.scoring = q.Or(scoring) if scoring else None
    return parsed


def _track_adjacent(parsed: ParsedQuery, run: list[str], word: str | None) -> None:
    """Collect runs of plain words next to each other (their first stems), for the proximity boost."""
    stems = stems_by_position(word) if word else []
    if word and not stems:
        return  # a stop word: the index keeps no position for it either
    if len(stems) == 1:
        run.append(stems[0][0])
        return
    if len(run) > 1:
        parsed.adjacent.append(list(run))
    run.clear()


def rebuild(parts: list[Part], replacements: dict[str, str]) -> str:
    """The query string with some words replaced (for "did you mean")."""
    out = []
    for part in parts:
        text = replacements.get(part.text, part.text) if part.kind == "word" else part.text
        if part.kind == "phrase":
            text = f'"{text}"'
        out.append(("-" if part.negated else "") + text)
    return " ".join(out)
