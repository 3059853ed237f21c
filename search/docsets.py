"""Matching and ranking for one index generation, without a Python loop per document.

Whoosh walks matchers in Python, a few microseconds per document: 20–60 ms
when a query matches most of 10,000 pages, which the wiki's vocabulary makes
common. Here each term's documents become one Python integer used as a
bitmap, so AND, OR and NOT are ``&``, ``|`` and ``& ~`` and a count is
``bit_count()``, all exact; and ranking is BM25 computed with numpy over the
postings arrays of ``segments``. Whoosh still stores, updates and locks the
index; this module only reads it faster.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice

import cachetools
import numpy as np
from whoosh import query as q
from whoosh.reading import IndexReader

from .segments import POSITION_BITS, SegmentCache, bitmap_to_flags, ids_to_bitmap

Tiebreak = Callable[[int], str]  # a document's number to the key that orders it among equals (its path)

K1 = 1.2
B = 0.75
# Length normalisation per field (BM25F): how much a long page's matches count less than a short one's.
# Tuned on the judged queries of bench/search_quality.py (nDCG@10 0.892 at 0.75/0.75, 0.905 here): a
# lighter penalty on long bodies, a heavier one on long titles (a short title that is the query wins).
FIELD_B = {"title": 0.9, "body": 0.5}
MAX_SCORING_PREFIX_TERMS = 64  # matching uses every term a prefix starts; ranking the first ones
CACHE_TERMS = 2048


@dataclass(frozen=True)
class Scored:
    docnum: int
    score: float


class View:
    """One generation of the index: its segments, their offsets, its live documents."""

    def __init__(self, reader: IndexReader, segments: SegmentCache) -> None:
        self.generation: int = reader.generation()
        self.size: int = reader.doc_count_all()
        self.segments = segments
        self._lock = threading.Lock()
        self._bitmaps: cachetools.LRUCache[tuple[str, str, str], int] = cachetools.LRUCache(CACHE_TERMS)
        live = (1 << self.size) - 1
        if reader.has_deletions():
            data = bytearray((self.size + 7) // 8 + 1)
            for segment, offset in reader.leaf_readers():
                for docnum in segment.deleted_docs_set:
                    docnum += offset
                    data[docnum >> 3] |= 1 << (docnum & 7)
            live &= ~int.from_bytes(data, "little")
        self.live: int = live

    def exclude(self, bitmap: int) -> None:
        self.live &= ~bitmap

    # -- exact matching ----------------------------------------------------

    def term(self, reader: IndexReader, fieldname: str, text: str) -> int:
        return self._cached(("term", fieldname, text), lambda: self._union(reader, fieldname, [text]))

    def prefix(self, reader: IndexReader, fieldname: str, prefix: str) -> int:
        """Every document holding any term that starts with ``prefix``: exact, however many terms."""
        return self._cached(
            ("prefix", fieldname, prefix), lambda: self._union(reader, fieldname, self.prefix_terms(reader, fieldname, prefix))
        )

    def prefix_terms(self, reader: IndexReader, fieldname: str, prefix: str, limit: int | None = None) -> list[str]:
        return [
            term.decode("utf-8") if isinstance(term, bytes) else term
            for term in islice(reader.expand_prefix(fieldname, prefix), limit)
        ]

    def _union(self, reader: IndexReader, fieldname: str, texts: list[str]) -> int:
        result = 0
        for segment, offset in reader.leaf_readers():
            bits = 0
            for text in texts:
                bits |= self.segments.bitmap(segment, fieldname, text)
            result |= bits << offset
        return result

    def _cached(self, key: tuple[str, str, str], compute: Callable[[], int]) -> int:
        """A live-documents bitmap, kept (least recently used first out) for this generation."""
        with self._lock:
            cached = self._bitmaps.get(key)
            if cached is not None:
                return cached
        value = compute() & self.live
        with self._lock:
            self._bitmaps[key] = value
        return value

    def evaluate(self, reader: IndexReader, query: q.Query) -> int:
        """The exact set of live documents a query built by ``search.query`` matches."""
        if isinstance(query, q.Term):
            return self.term(reader, query.fieldname, query.text)
        if isinstance(query, q.Prefix):
            return self.prefix(reader, query.fieldname, query.text)
        if isinstance(query, q.AndNot):
            return self.evaluate(reader, query.a) & ~self.evaluate(reader, query.b) & self.live
        if isinstance(query, q.And):
            result = self.live
            for sub in query.subqueries:
                result &= self.evaluate(reader, sub)
                if not result:
                    break
            return result
        if isinstance(query, q.Or):
            result = 0
            for sub in query.subqueries:
                result |= self.evaluate(reader, sub)
            return result
        if isinstance(query, q.Phrase):
            return self.phrase(reader, query.fieldname, list(query.words))
        if isinstance(query, q.Every):
            return self.live
        raise TypeError(f"cannot evaluate {type(query).__name__}")

    def phrase(self, reader: IndexReader, fieldname: str, words: list[str]) -> int:
        """Documents where ``words`` stand next to each other, in order (kept for this generation)."""
        return self._cached(("phrase", fieldname, "\x00".join(words)), lambda: self._phrase(reader, fieldname, words))

    def _phrase(self, reader: IndexReader, fieldname: str, words: list[str]) -> int:
        """Documents where ``words`` stand next to each other, in order.

        Each word's positions are keys ``docnum << 24 | position``; shifting
        a word's keys by one and intersecting them with the next word's keeps
        exactly the places where the second follows the first.
        """
        result = 0
        for segment, offset in reader.leaf_readers():
            keys = self.segments.positions(segment, fieldname, words[0])
            for word in words[1:]:
                if not len(keys):
                    break
                keys = np.intersect1d(keys + 1, self.segments.positions(segment, fieldname, word), assume_unique=True)
            if len(keys):
                docs = np.unique(keys >> POSITION_BITS).astype(np.int32)
                result |= ids_to_bitmap(docs, segment.doc_count_all()) << offset
        return result & self.live

    def flags(self, bitmap: int) -> np.ndarray:
        """A bitmap as one boolean per document."""
        return bitmap_to_flags(bitmap, self.size)

    def idf(self, bitmap: int) -> float:
        """How rare the documents of ``bitmap`` are among the live ones (BM25's idf)."""
        total = max(1, self.live.bit_count())
        frequency = bitmap.bit_count()
        return math.log(1 + (total - frequency + 0.5) / (frequency + 0.5))

    # -- ranking -----------------------------------------------------------

    def rank(
        self,
        reader: IndexReader,
        scoring: q.Query | None,
        matching: int,
        count: int,
        boosts: dict[str, float],
        *,
        tiebreak: Tiebreak | None = None,
        skip: int = 0,
        bonus: np.ndarray | None = None,
    ) -> list[Scored]:
        """The ``count`` best documents of ``matching`` by BM25 over ``scoring``'s terms (see ``_best`` for ties).

        ``bonus`` (one value per document) is added to the scores.
        """
        allowed = bitmap_to_flags(matching, self.size)
        scores = np.zeros(self.size, np.float32) if bonus is None else bonus.astype(np.float32)
        total_docs = max(1, self.live.bit_count())
        for fieldname, text in self._scoring_terms(reader, scoring):
            self._add_term(reader, scores, fieldname, text, total_docs, boosts.get(fieldname, 1.0))
        candidates = np.flatnonzero(allowed)
        return self._best(candidates, scores[candidates], count, tiebreak=tiebreak, skip=skip)

    def by_number(
        self, reader: IndexReader, fieldname: str, matching: int, count: int, *, tiebreak: Tiebreak | None = None, skip: int = 0
    ) -> list[Scored]:
        """The ``count`` documents of ``matching`` with the highest ``fieldname`` (newest first)."""
        values = np.zeros(self.size, np.float64)
        for segment, offset in reader.leaf_readers():
            numbers = self.segments.numbers(segment, fieldname)
            values[offset : offset + len(numbers)] = numbers
        candidates = np.flatnonzero(bitmap_to_flags(matching, self.size))
        return self._best(candidates, values[candidates], count, as_score=False, tiebreak=tiebreak, skip=skip)

    @staticmethod
    def _best(
        candidates: np.ndarray,
        values: np.ndarray,
        count: int,
        as_score: bool = True,
        tiebreak: Tiebreak | None = None,
        skip: int = 0,
    ) -> list[Scored]:
        """The first ``count`` candidates by decreasing value; equal values in ``tiebreak`` order, else by number.

        Every candidate equal to the last one kept is weighed, not whichever
        few a partial sort left: otherwise which tied documents end a page
        depends on how many were asked for, and paging by ``offset`` shows
        some twice and others never. Only ties reaching past the first
        ``skip`` places (the pages before this one) need ``tiebreak``.
        """
        if len(candidates) > count:
            threshold = np.partition(values, len(values) - count)[len(values) - count]
            keep = np.flatnonzero(values >= threshold)
        else:
            keep = np.arange(len(candidates))
        order = keep[np.lexsort((candidates[keep], -values[keep]))]
        if tiebreak is not None:
            order = _ties_in_order(order, candidates, values, tiebreak, skip, count)
        return [Scored(int(candidates[i]), float(values[i]) if as_score else 0.0) for i in order[:count]]

    def _scoring_terms(self, reader: IndexReader, scoring: q.Query | None) -> list[tuple[str, str]]:
        terms: list[tuple[str, str]] = []
        if scoring is None:
            return terms
        stack = [scoring]
        while stack:
            node = stack.pop()
            if isinstance(node, q.Term):
                terms.append((node.fieldname, node.text))
            elif isinstance(node, q.Prefix):
                terms += [
                    (node.fieldname, t) for t in self.prefix_terms(reader, node.fieldname, node.text, MAX_SCORING_PREFIX_TERMS)
                ]
            elif isinstance(node, q.CompoundQuery):
                stack.extend(node.subqueries)
        return list(dict.fromkeys(terms))

    def _add_term(
        self, reader: IndexReader, scores: np.ndarray, fieldname: str, text: str, total_docs: int, boost: float
    ) -> None:
        parts = []
        frequency = 0
        for segment, offset in reader.leaf_readers():
            ids, tfs = self.segments.postings(segment, fieldname, text)
            if len(ids):
                parts.append((segment, offset, ids, tfs))
                frequency += len(ids)
        if not frequency:
            return
        idf = math.log(1 + (total_docs - frequency + 0.5) / (frequency + 0.5))
        average = (reader.field_length(fieldname) / max(1, reader.doc_count())) or 1.0
        b = FIELD_B.get(fieldname, B)
        for segment, offset, ids, tfs in parts:
            lengths = self.segments.lengths(segment, fieldname)[ids]
            weights = idf * boost * tfs * (K1 + 1) / (tfs + K1 * (1 - b + b * lengths / average))
            scores[ids + offset] += weights.astype(np.float32)


def _ties_in_order(
    order: np.ndarray, candidates: np.ndarray, values: np.ndarray, tiebreak: Tiebreak, skip: int, count: int
) -> np.ndarray:
    """``order`` (by decreasing value) with each run of equal values that overlaps places ``skip``..``count`` sorted by
    ``tiebreak``; runs wholly before or after those places keep their members there whatever their inner order."""
    sorted_values = values[order]
    starts = np.concatenate(([0], np.flatnonzero(sorted_values[1:] != sorted_values[:-1]) + 1))
    ends = np.append(starts[1:], len(order))
    wanted = (ends - starts > 1) & (ends > skip) & (starts < count)
    order = order.copy()
    for start, end in zip(starts[wanted].tolist(), ends[wanted].tolist(), strict=True):
        order[start:end] = sorted(order[start:end].tolist(), key=lambda i: tiebreak(int(candidates[i])))
    return order
