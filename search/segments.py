"""What each index segment holds, read once into arrays and kept while the segment exists.

Whoosh segments never change once written, and an edit only adds a small
segment (merging a few small ones now and then), so postings turned into
numpy arrays here stay valid across most index generations: after a save,
only the new segment is read again.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import cachetools
import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.matching import Matcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import SegmentReader, TermNotFound
from whoosh.util.numeric import byte_to_length

CACHE_BYTES = 96 * 1024 * 1024
POSITION_BITS = 24  # positions within a page; pages are far shorter than 16 million words
_EMPTY = (np.zeros(0, np.int32), np.zeros(0, np.float32))
_LENGTHS = np.asarray([byte_to_length(code) for code in range(256)], np.float32)
T = TypeVar("T")


def segment_key(reader: SegmentReader) -> str:
    key: str = reader.segment().segment_id()
    return key


class SegmentCache:
    """Per-segment postings (ids and frequencies), field lengths and dates, shared by threads."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        # (value, its size in bytes) by key, least recently used out first once ``max_bytes`` are held.
        # The values differ in type by the key's first element ("p" postings, "b" bitmap…).
        self._entries: cachetools.LRUCache[tuple[str, ...], tuple[Any, int]] = cachetools.LRUCache(
            maxsize=max_bytes, getsizeof=lambda entry: entry[1]
        )

    def _cached(self, key: tuple[str, ...], compute: Callable[[], T], size: Callable[[T], int]) -> T:
        """The value kept under ``key``, computed (and counted as ``size`` bytes) on first use."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                kept: T = found[0]  # what ``compute`` returned for this key
                return kept
        value = compute()
        cost = size(value) + 100
        with self._lock:
            if key not in self._entries and cost <= self.max_bytes:
                self._entries[key] = (value, cost)
        return value

    def postings(self, reader: SegmentReader, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(segment-local doc numbers, term frequencies), deleted documents included."""
        return self._cached(
            ("p", segment_key(reader), fieldname, text),
            lambda: _read_postings(reader, fieldname, text),
            lambda pair: pair[0].nbytes + pair[1].nbytes,
        )

    def bitmap(self, reader: SegmentReader, fieldname: str, text: str) -> int:
        """The documents of this segment holding the term, as an integer bitmap."""
        return self._cached(
            ("b", segment_key(reader), fieldname, text),
            lambda: ids_to_bitmap(self.postings(reader, fieldname, text)[0], reader.doc_count_all()),
            lambda bitmap: bitmap.bit_length() // 8,
        )

    def positions(self, reader: SegmentReader, fieldname: str, text: str) -> np.ndarray:
        """Where the term stands: sorted keys ``docnum << POSITION_BITS | position``."""
        return self._cached(
            ("k", segment_key(reader), fieldname, text), lambda: _read_positions(reader, fieldname, text), _nbytes
        )

    def lengths(self, reader: SegmentReader, fieldname: str) -> np.ndarray:
        """Each document's length in ``fieldname`` (in terms), for BM25."""
        return self._cached(("l", segment_key(reader), fieldname), lambda: _read_lengths(reader, fieldname), _nbytes)

    def numbers(self, reader: SegmentReader, fieldname: str) -> np.ndarray:
        """A sortable numeric column (the page dates) as an array."""
        return self._cached(("n", segment_key(reader), fieldname), lambda: _read_numbers(reader, fieldname), _nbytes)


def _nbytes(array: np.ndarray) -> int:
    return array.nbytes


def _read_numbers(reader: SegmentReader, fieldname: str) -> np.ndarray:
    count = reader.doc_count_all()
    if not reader.has_column(fieldname):
        return np.zeros(count, np.int64)
    column = reader.column_reader(fieldname)
    return np.fromiter((column[docnum] or 0 for docnum in range(count)), np.int64, count)


def _postings_of(reader: SegmentReader, fieldname: str, text: str, *, positions: bool = False) -> Matcher | None:
    """The term's raw matcher, deleted documents included (they are masked per generation), or None."""
    field = reader.schema[fieldname] if fieldname in reader.schema else None
    if field is None or (positions and not field.format.supports("positions")):
        return None
    try:
        matcher = reader.postings(fieldname, text)
    except TermNotFound:
        return None
    if isinstance(matcher, FilterMatcher):
        # The filter, when built, already stepped its child past the deleted documents heading the list;
        # going back keeps them, so the document count (and the idf) is Whoosh's own.
        matcher = matcher.child
        matcher.reset()
    return matcher


def _read_postings(reader: SegmentReader, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    matcher = _postings_of(reader, fieldname, text)
    if matcher is None:
        return _EMPTY
    ids: list[int] = []
    weights: list[float] = []
    if isinstance(matcher, W3LeafMatcher):
        # Private but stable (the package is frozen): whole blocks at once
        # instead of a Python call per posting.
        while not matcher._atend:
            if matcher._ids is None:
                matcher._read_ids()
            if matcher._weights is None:
                matcher._read_weights()
            ids.extend(matcher._ids)
            weights.extend(matcher._weights)
            matcher._next_block()
    else:
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()
    return np.asarray(ids, np.int32), np.asarray(weights, np.float32)


def _read_lengths(reader: SegmentReader, fieldname: str) -> np.ndarray:
    """Field lengths of every document, from the raw length column when it can be read whole."""
    count = reader.doc_count_all()
    try:
        # Private but stable (the package is frozen): one byte per document,
        # mapped to lengths with Whoosh's own table.
        column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        if column is None:
            return np.zeros(count, np.float32)
        raw = np.frombuffer(column._dbfile.get(column._basepos, column._count), np.uint8)
        codes = np.zeros(count, np.uint8)
        codes[: len(raw)] = raw[:count]
        return _LENGTHS[codes]
    except AttributeError:
        return np.fromiter((reader.doc_field_length(d, fieldname, 0) for d in range(count)), np.float32, count)


def _read_positions(reader: SegmentReader, fieldname: str, text: str) -> np.ndarray:
    """Every (document, position) of a term as sorted keys, decoded a block at a time."""
    matcher = _postings_of(reader, fieldname, text, positions=True)
    if matcher is None:
        return np.zeros(0, np.int64)
    ids: list[int] = []
    counts: list[int] = []
    deltas: list[int] = []
    if isinstance(matcher, W3LeafMatcher):
        # Whoosh stores each posting's positions as a pickled list of deltas
        # after a 4-byte count; unpickling is C, the sums are numpy.
        while not matcher._atend:
            if matcher._ids is None:
                matcher._read_ids()
            if matcher._values is None:
                matcher._read_values()
            for docnum, value in zip(matcher._ids, matcher._values, strict=True):
                steps = pickle.loads(value[4:] if value.endswith(b".") else value[4:] + b".")
                ids.append(docnum)
                counts.append(len(steps))
                deltas.extend(steps)
            matcher._next_block()
    else:
        decode = reader.schema[fieldname].format.decode_positions
        while matcher.is_active():
            places: list[int] = decode(matcher.value())
            ids.append(matcher.id())
            counts.append(len(places))
            deltas.extend([places[0]] + [b - a for a, b in zip(places, places[1:], strict=False)])
            matcher.next()
    if not ids:
        return np.zeros(0, np.int64)
    steps_array = np.asarray(deltas, np.int64)
    lengths = np.asarray(counts, np.int64)
    starts = np.cumsum(lengths) - lengths
    running = np.cumsum(steps_array)
    # positions restart at each posting: subtract the running total before it
    positions = running - np.repeat(running[starts] - steps_array[starts], lengths)
    docs = np.repeat(np.asarray(ids, np.int64), lengths)
    keys: np.ndarray = (docs << POSITION_BITS) | positions  # numpy types fancy indexing as Any
    return keys


def ids_to_bitmap(ids: np.ndarray, size: int) -> int:
    flags = np.zeros(size, np.bool_)
    flags[ids] = True
    return int.from_bytes(np.packbits(flags, bitorder="little").tobytes(), "little")


def bitmap_to_flags(bitmap: int, size: int) -> np.ndarray:
    data = bitmap.to_bytes((size + 7) // 8 + 1, "little")
    return np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")[:size].astype(np.bool_)
