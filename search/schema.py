"""The index's schema and the documents that fill it.

Text fields are analysed by the single-pass tokenizers of ``analysis``; the
readable title and text are stored separately for display and highlighting.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from .analysis import EnglishTokenizer, FrenchTokenizer, SpellingTokenizer, fold, french_stems, iter_words

META_PATH = "\x00meta"  # one document records the commit the index reflects
TITLE_BOOST = 1.5  # tuned with docsets.FIELD_B on bench/search_quality.py
# What the index's analysis and fields are: an index made by another version is made again and refilled.
ANALYSIS_VERSION = "2"

# Fiche fields (front-matter keys) indexed as fields: how many per page, how long a value.
MAX_FIELDS = 32
MAX_FIELD_VALUE_CHARS = 200
MAX_LIST_VALUES = 20
# Keys the index already holds otherwise, or that are the page's bookkeeping.
NOT_FIELDS = frozenset({"title", "titre", "tags", "licence", "license", "lang", "language", "champs", "dossier"})
FIELD_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,63}\Z")
# The separators of the ``facts`` terms: ``key=Value as written`` (facets), ``key:stem`` (``key:value`` searches).
FACET_MARK = "="
WORD_MARK = ":"
TEMPLATE_KEY = "modele"


def build_schema() -> Schema:
    return Schema(
        path=ID(stored=True, unique=True),
        kind=ID(stored=True),  # page, file or meta
        page=ID(stored=True),  # for a file: the page it is attached to
        folder=ID(stored=True),  # top-level folder, for facets
        folders=KEYWORD(),  # every enclosing folder, for path: filters
        # Positions let phrases be checked (see ``docsets``); English fields only rank.
        # Field boosts are applied when ranking (``index.BOOSTS``), not stored in the postings.
        title=TEXT(analyzer=FrenchTokenizer(), phrase=True),
        body=TEXT(analyzer=FrenchTokenizer(), phrase=True),
        title_en=TEXT(analyzer=EnglishTokenizer(), phrase=False),
        body_en=TEXT(analyzer=EnglishTokenizer(), phrase=False),
        tags=KEYWORD(commas=True, lowercase=True, stored=True, scorable=True),
        licence=ID(stored=True),
        updated=NUMERIC(stored=True, sortable=True, bits=64),
        # Fiche fields: ``key=Value`` and ``key:stem`` terms, and the keys a page has.
        facts=KEYWORD(commas=True, lowercase=False),
        fact_keys=KEYWORD(commas=True, lowercase=True),
        # The words of the page as written (folded), for spelling corrections.
        spell=TEXT(analyzer=SpellingTokenizer(), phrase=False),
        title_text=STORED(),
        text=STORED(),
        commit=STORED(),
    )


@dataclass(frozen=True)
class Document:
    """What the index knows of a page or an attached file."""

    path: str
    title: str
    text: str
    kind: str = "page"
    page: str = ""
    tags: list[str] = field(default_factory=list)
    licence: str = ""
    updated: int = 0
    language: str = "fr"
    # The page's front matter (``fiche_fields`` picks what is indexed) and the targets of its links.
    meta: Mapping[str, Any] = field(default_factory=dict)
    links: str = ""

    def fields(self) -> dict[str, str | int]:
        fiche = fiche_fields(self.meta)
        extra = [" ".join(self.tags), " ".join(value for _key, value in fiche), self.links]
        body = "\n".join([self.text, *(part for part in extra if part)])
        fields: dict[str, str | int] = {
            "path": self.path,
            "kind": self.kind,
            "page": self.page or self.path,
            "folder": self.path.split("/", 1)[0] if "/" in self.path else "",
            "folders": " ".join(self._folders()),
            "title": self.title,
            "body": body,
            "tags": ",".join(tag.replace(",", " ") for tag in self.tags),
            "licence": self.licence,
            "updated": int(self.updated),
            "facts": ",".join(fact_terms(fiche)),
            "fact_keys": ",".join(dict.fromkeys(key for key, _value in fiche)),
            "spell": self.title + "\n" + body,
            "title_text": self.title,
            "text": self.text,
        }
        if self.language == "en":
            fields["title_en"] = self.title
            fields["body_en"] = body
        return fields

    def _folders(self) -> list[str]:
        parts = self.path.split("/")[:-1]
        # Spaces separate keywords; a folder name containing one is kept whole with a NUL.
        return ["/".join(parts[: n + 1]).replace(" ", "\x00") for n in range(len(parts))]


def fiche_fields(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (key, value) pairs of a page's front matter that are searched as fields.

    Every key of a page made from a template (it names it with ``modele``),
    lists giving one pair per item; on other pages, keys with a single
    value (text, number, date, yes/no). Bounded: ``MAX_FIELDS`` keys, values
    cut to ``MAX_FIELD_VALUE_CHARS`` characters.
    """
    fiche = isinstance(meta.get(TEMPLATE_KEY), str)
    pairs: list[tuple[str, str]] = []
    keys = 0
    for raw_key, raw in meta.items():
        if keys >= MAX_FIELDS:
            break
        key = fold(str(raw_key).strip().lower())
        if key in NOT_FIELDS or not FIELD_NAME.match(key):
            continue
        if isinstance(raw, list | tuple):
            if not fiche:
                continue
            values = [_scalar(item) for item in raw[:MAX_LIST_VALUES]]
        else:
            values = [_scalar(raw)]
        kept = [value for value in values if value]
        if kept:
            keys += 1
            pairs += [(key, value) for value in kept]
    return pairs


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return " ".join(value.split())[:MAX_FIELD_VALUE_CHARS].replace(",", " ").strip()
    return ""


def fact_terms(pairs: list[tuple[str, str]]) -> list[str]:
    """The ``facts`` terms of some fields: ``key=Value`` for facets, ``key:stem`` per word for ``key:value``."""
    terms: dict[str, None] = {}
    for key, value in pairs:
        terms[f"{key}{FACET_MARK}{value}"] = None
        for word in iter_words(value):
            for stem in french_stems(word) or (fold(word),):
                terms[f"{key}{WORD_MARK}{stem}"] = None
    return list(terms)
