"""How text becomes index terms: French first, English for pages that say so.

The French chain lowercases, drops stop words and elided articles (``l'``,
``d'``, ``qu'``…), strips plurals *before* the Snowball stemmer — Snowball
alone keeps ``loyer``/``loyers`` and ``élu``/``élus`` apart — folds accents
and keeps numbers. Hyphenated words (``tiers-lieux``) become two tokens, the
last one also carrying the stems of the whole word written as one
(``tierslieux``); the query side reads them as a phrase or as that word.

Two tables correct Snowball, both small and meant to be extended with care:
``PROTECTED`` words are indexed as themselves (``association`` is not
``associés``, a ``commune`` not the ``communs``); ``LEMMAS`` maps folded
words to the word whose stem they take, for irregular plurals (``baux`` →
``bail``) and noun/verb families (``construction`` → ``construire``). A
change to either (or to anything else here) must bump
``schema.ANALYSIS_VERSION``, so that indexes made before are rebuilt;
``tests/search/test_what_people_type.py`` holds the cases they settle.

All of it runs in one Python loop per text (the tokenizers at the end of
this module), several times faster than a chain of Whoosh filters; queries
and highlighting call the same functions, so they can never disagree with
the index. Whoosh pickles the schema, tokenizers included, into the index:
they must stay importable here under these names.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

from whoosh.analysis import Token, Tokenizer
from whoosh.lang import stemmer_for_language, stopwords_for_language
from whoosh.support.charset import accent_map

ELISIONS = frozenset({"l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu"})
FR_STOP = frozenset(stopwords_for_language("fr")) | {"les"} | ELISIONS
FR_STOP_ALL = FR_STOP | {word.translate(accent_map) for word in FR_STOP}
EN_STOP = frozenset(stopwords_for_language("en"))
# Words and numbers (1,5 or 2.0 stay whole); apostrophes and hyphens separate tokens.
TOKEN = re.compile(r"\w+(?:[.,]\d+)*")

# Hyphens (ASCII and the Unicode ones) that join the parts of a compound word.
HYPHENS = frozenset("-\u2010\u2011")
MAX_COMPOUND_PARTS = 4
MAX_COMPOUND_CHARS = 40

# Nouns Snowball mistakes for verbs in -er: it stems "loyer" (rent) to "loi"
# (law), which in a wiki about leases and statutes would merge the two. And
# words Snowball merges with others people keep apart: an ``association`` is
# not its ``associés`` (partners), a ``commune`` (town) not the ``communs``.
# Each is indexed as itself (accents folded, plural stripped).
PROTECTED = frozenset(
    {
        "loyer",
        "foyer",
        "noyer",
        "métayer",
        "clavier",
        "atelier",
        "grenier",
        "quartier",
        "association",
        "associé",
        "commune",
    }
)

# A small French lemma table: folded words (singular, or the plural itself when
# irregular) → the word whose stem they share. Irregular plurals that stripping
# one letter gets wrong (``baux`` → ``bail``, ``travaux`` → ``travail``), and
# noun/verb families Snowball keeps apart (``construction`` / ``construire``,
# ``gestion`` / ``gérer``). Keys and values are folded (no accents).
LEMMAS: dict[str, str] = {
    # irregular plurals
    "baux": "bail",
    "travaux": "travail",
    "vitraux": "vitrail",
    "coraux": "corail",
    "emaux": "email",
    "soupiraux": "soupirail",
    "vantaux": "vantail",
    "cieux": "ciel",
    "yeux": "oeil",
    "aieux": "aieul",
    # the protected words' own forms
    "associee": "associe",
    "associatif": "association",
    "associative": "association",
    "communal": "commune",
    "communale": "commune",
    # noun / verb families
    "construction": "construire",
    "constructif": "construire",
    "constructive": "construire",
    "coconstruction": "coconstruire",
    "reconstruction": "reconstruire",
    "production": "produire",
    "producteur": "produire",
    "productrice": "produire",
    "reduction": "reduire",
    "traduction": "traduire",
    "introduction": "introduire",
    "inscription": "inscrire",
    "souscription": "souscrire",
    "gestion": "gerer",
    "gestionnaire": "gerer",
    "creation": "creer",
    "createur": "creer",
    "creatrice": "creer",
    "decision": "decider",
    "adhesion": "adherer",
    "adherent": "adherer",
    "adherente": "adherer",
    "acquisition": "acquerir",
    "election": "elire",
    "location": "louer",
    "locataire": "louer",
    "bailleur": "bail",
    "subventionner": "subvention",
    "subventionne": "subvention",
    "subventionnee": "subvention",
    "cotisation": "cotiser",
    "benevolat": "benevole",
    "mutualisation": "mutualiser",
    "animation": "animer",
    "animateur": "animer",
    "animatrice": "animer",
    "mediation": "mediateur",
    "financeur": "financer",
    "financement": "financer",
}

PROTECTED_FOLDED = frozenset(word.translate(accent_map) for word in PROTECTED)
_french_stemmer = stemmer_for_language("fr")
_english_stemmer = stemmer_for_language("en")
_cache_fr: dict[str, tuple[str, ...]] = {}
_cache_en: dict[str, str] = {}
_CACHE_LIMIT = 300_000
# Longer "words" (a run of letters pasted into a page) are stemmed each time they come, not kept:
# a few pages of them would otherwise hold megabytes in the caches for good.
_CACHED_WORD_CHARS = 64


def fold(word: str) -> str:
    return word.translate(accent_map)


def strip_plural(word: str) -> str:
    """``-aux`` → ``-al`` (not ``-eaux``), else one final ``s`` or ``x`` dropped (not ``-ss``)."""
    if len(word) > 4 and word.endswith("aux") and not word.endswith("eaux"):
        return word[:-3] + "al"
    if len(word) > 3 and word[-1] in "sx" and word[-2] != "s" and not word[-2].isdigit():
        return word[:-1]
    return word


def french_stems(word: str) -> tuple[str, ...]:
    """The stems of one lowercase word, or () for a stop word.

    Stemming the folded word makes ``négociée`` and ``negociee`` identical,
    but Snowball reads ``partagee`` differently from ``partagée``; stemming
    first and folding after gets ``partagée`` → ``partag`` like
    ``partager``. Both are kept when they differ, and queries ask for either.
    """
    cached = _cache_fr.get(word)
    if cached is not None:
        return cached
    if word in FR_STOP_ALL or fold(word) in FR_STOP_ALL:
        stems: tuple[str, ...] = ()
    elif word[0].isdigit():
        stems = (word,)
    else:
        folded = fold(word)
        singular = LEMMAS.get(folded) or strip_plural(word)
        folded_singular = fold(singular)
        singular = LEMMAS.get(folded_singular, singular)
        if singular in PROTECTED or fold(singular) in PROTECTED_FOLDED:
            stems = (fold(singular),)
            _cache_fr[word] = stems  # a protected word is short
            return stems
        first = _french_stemmer(fold(singular))
        second = fold(_french_stemmer(singular))
        stems = (first,) if first == second else (first, second)
    if len(_cache_fr) < _CACHE_LIMIT and len(word) <= _CACHED_WORD_CHARS:
        _cache_fr[word] = stems
    return stems


def english_stem(word: str) -> str | None:
    cached = _cache_en.get(word)
    if cached is not None:
        return cached or None
    stem = "" if word in EN_STOP else fold(_english_stemmer(word))
    if len(_cache_en) < _CACHE_LIMIT and len(word) <= _CACHED_WORD_CHARS:
        _cache_en[word] = stem
    return stem or None


def french_positions(text: str) -> Iterator[tuple[str, ...]]:
    """The stems of each meaningful word, in order: what the index stores and a query looks for.

    Words joined by hyphens (``co-construction``, ``tiers-lieux``, ``e-mails``)
    stand at their own positions, so the phrase ``"tiers lieux"`` finds them,
    and the last one also carries the stems of the whole run written as one
    word (``coconstruction``, ``tierslieux``, ``emails``): whichever way a page
    or a query writes a compound, the two meet.
    """
    run: list[str] = []
    previous_end = -2
    for match in TOKEN.finditer(text):
        word = match.group().lower()
        start = match.start()
        if start == previous_end + 1 and text[previous_end] in HYPHENS and len(run) < MAX_COMPOUND_PARTS:
            run.append(word)
        else:
            run = [word]
        previous_end = match.end()
        stems = french_stems(word)
        if len(run) > 1 and stems:
            joined = "".join(run)
            if len(joined) <= MAX_COMPOUND_CHARS:
                extra = tuple(stem for stem in french_stems(joined) if stem not in stems)
                stems = stems + extra
        if stems:
            yield stems


def compound_stems(words: list[str]) -> tuple[str, ...]:
    """The stems of ``words`` written as one word (``tiers lieux`` → the stems of ``tierslieux``)."""
    joined = "".join(word.lower() for word in words)
    if len(words) < 2 or len(joined) > MAX_COMPOUND_CHARS or not joined.isalnum():
        return ()
    return french_stems(joined)


def stems_by_position(text: str) -> list[tuple[str, ...]]:
    return list(french_positions(text))


def english_terms(text: str) -> list[str]:
    terms = []
    for match in TOKEN.finditer(text):
        stem = english_stem(match.group().lower())
        if stem:
            terms.append(stem)
    return terms


def folded_words(text: str) -> list[str]:
    return [fold(match.group().lower()) for match in TOKEN.finditer(text)]


def iter_words(text: str) -> Iterator[str]:
    """Each word of ``text``, lowercase."""
    for match in TOKEN.finditer(text):
        yield match.group().lower()


# Words that spelling corrections may propose: letters only, of this many characters.
SPELL_MIN_CHARS = 3
SPELL_MAX_CHARS = 30


def spelling_words(text: str) -> Iterator[str]:
    """The distinct words of ``text`` a correction may propose: folded, letters only, no stop words."""
    seen: set[str] = set()
    for match in TOKEN.finditer(text):
        word = fold(match.group().lower())
        if word in seen or not SPELL_MIN_CHARS <= len(word) <= SPELL_MAX_CHARS or not word.isalpha():
            continue
        seen.add(word)
        if word not in FR_STOP_ALL:
            yield word


def iter_tokens(text: str) -> Iterator[tuple[int, int, tuple[str, ...], str]]:
    """(start, end, stems, folded word) for each word, lazily: for highlighting."""
    for match in TOKEN.finditer(text):
        word = match.group().lower()
        yield match.start(), match.end(), french_stems(word), fold(word)


class _SinglePass(Tokenizer, ABC):  # type: ignore[misc]  # Whoosh ships no types: its Tokenizer is Any
    """A Whoosh tokenizer that does the whole analysis in one loop.

    ``positions()`` yields, for each word, the terms that stand at its
    position: stem variants share a position, so phrases work with either.
    """

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    @abstractmethod
    def positions(self, text: str) -> Iterator[tuple[str, ...]]:
        """The terms standing at each position of ``text``."""

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for position, terms in enumerate(self.positions(value), start_pos):
            for term in terms:
                token.text = term
                token.boost = 1.0
                token.stopped = False
                if positions:
                    token.pos = position
                yield token


class FrenchTokenizer(_SinglePass):
    """Stems of French text, variants included."""

    def positions(self, text: str) -> Iterator[tuple[str, ...]]:
        return french_positions(text)


class EnglishTokenizer(_SinglePass):
    def positions(self, text: str) -> Iterator[tuple[str, ...]]:
        for term in english_terms(text):
            yield (term,)


class SpellingTokenizer(_SinglePass):
    """The distinct words of a text as written (folded): the vocabulary of spelling corrections."""

    def positions(self, text: str) -> Iterator[tuple[str, ...]]:
        for word in spelling_words(text):
            yield (word,)
