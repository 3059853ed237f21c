"""Spelling corrections within two edits, looked up in a bounded structure, never by scanning the vocabulary.

Each segment's vocabulary (the ``spell`` field: the folded words of its
pages) gets a symmetric-deletion table on first need: every word, and every
word less one letter, points to the word. A typed word is looked up as it
is, less one letter and less two: at most about ``n²/2`` dictionary reads
for a word of ``n`` letters, whatever the size of the vocabulary. A match
means the two words are within two edits (insertions, deletions, one
substitution or transposition plus one more edit); each candidate is
checked with a real edit distance and weighed by how many pages use it.

Segments never change, so a table is built once per segment (in well
under a second for the largest) and dropped with it; it holds at most
``MAX_WORDS`` words, the most frequent when a segment has more.
"""

from __future__ import annotations

import heapq
import math
import threading
from collections.abc import Iterable

from whoosh.reading import IndexReader, SegmentReader

from .analysis import SPELL_MAX_CHARS, SPELL_MIN_CHARS
from .segments import segment_key

FIELD = "spell"
MAX_WORDS = 60_000
MAX_DISTANCE = 2
# Each edit costs as much as this factor of page frequency: a word two edits away must be used
# on e⁴ (about 55) times more pages than one a single edit away to be preferred.
EDIT_COST = 4.0


class _Table:
    """One segment's deletion table."""

    def __init__(self, words: Iterable[tuple[str, int]]) -> None:
        self.entries: dict[str, list[str]] = {}
        for word, _frequency in words:
            for key in {word, *_deletions(word)}:
                self.entries.setdefault(key, []).append(word)


class Speller:
    """The deletion tables of the live segments, shared by the threads of a process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tables: dict[str, _Table] = {}

    def keep_only(self, segments: set[str]) -> None:
        with self._lock:
            for key in [key for key in self._tables if key not in segments]:
                del self._tables[key]

    def _table(self, segment: SegmentReader) -> _Table:
        key = segment_key(segment)
        with self._lock:
            table = self._tables.get(key)
        if table is None:
            table = _Table(_vocabulary(segment))
            with self._lock:
                self._tables[key] = table
        return table

    def candidates(self, reader: IndexReader, word: str) -> list[tuple[str, int]]:
        """Indexed words within two edits of ``word`` (itself excluded), with their distance."""
        if not SPELL_MIN_CHARS <= len(word) <= SPELL_MAX_CHARS:
            return []
        keys = {word, *_deletions(word)}
        keys |= {twice for once in list(keys) for twice in _deletions(once)}
        found: set[str] = set()
        for segment, _offset in reader.leaf_readers():
            entries = self._table(segment).entries
            for key in keys:
                found.update(entries.get(key, ()))
        found.discard(word)
        out = []
        for candidate in found:
            distance = edit_distance(word, candidate, MAX_DISTANCE)
            if distance <= MAX_DISTANCE:
                out.append((candidate, distance))
        return out

    def best(self, reader: IndexReader, word: str, *, at_least: int = 1) -> str | None:
        """The likeliest word meant by ``word``: near in edits, used on many pages (``at_least`` of them)."""
        best: tuple[float, str] | None = None
        for candidate, distance in self.candidates(reader, word):
            frequency = reader.doc_frequency(FIELD, candidate)
            if frequency < at_least:
                continue
            weight = math.log(1 + frequency) - EDIT_COST * distance
            if best is None or (weight, candidate) > best:
                best = (weight, candidate)
        return best[1] if best else None


def _vocabulary(segment: SegmentReader) -> list[tuple[str, int]]:
    """The segment's spelling words with their page counts, the ``MAX_WORDS`` most frequent."""
    words: list[tuple[str, int]] = []
    if FIELD not in segment.schema:
        return words
    for term, info in segment.iter_field(FIELD):
        text = term.decode("utf-8") if isinstance(term, bytes) else term
        words.append((text, info.doc_frequency()))
    if len(words) > MAX_WORDS:
        words = heapq.nlargest(MAX_WORDS, words, key=lambda item: item[1])
    return words


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (adjacent transpositions count one), or ``limit + 1`` once past ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]
