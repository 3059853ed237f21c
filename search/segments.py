"""What each index segment holds, read once into arrays and kept while the segment exists.

Whoosh segments never change once written, and an edit only adds a small
segment (merging a few small ones now and then), so postings turned into
numpy arrays here stay valid across most index generations: after a save,
only the new segment is read again.
"""

from __future__ import annotations

import pickle
import threading
from collections import OrderedDict

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import SegmentReader, TermNotFound
from whoosh.util.numeric import byte_to_length

CACHE_BYTES = 96 * 1024 * 1024
POSITION_BITS = 24  # positions within a page; pages are far shorter than 16 million words
_EMPTY = (np.zeros(0, np.int32), np.zeros(0, np.float32))
_LENGTHS = np.asarray([byte_to_length(code) for code in range(256)], np.float32)


def segment_key(reader: SegmentReader) -> str:
    return reader.segment().segment_id()


class SegmentCache:
    """Per-segment postings (ids and frequencies), field lengths and dates, shared by threads."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, tuple] = OrderedDict()
        self._bytes = 0

    def _get(self, key: tuple):  # type: ignore[no-untyped-def]
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def _put(self, key: tuple, value: tuple, size: int) -> None:
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = value
            self._bytes += size
            while self._bytes > self.max_bytes and len(self._entries) > 1:
                _old_key, old = self._entries.popitem(last=False)
                self._bytes -= old[-1]

    def postings(self, reader: SegmentReader, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(segment-local doc numbers, term frequencies), deleted documents included."""
        key = ("p", segment_key(reader), fieldname, text)
        found = self._get(key)
        if found is not None:
            return found[0], found[1]
        ids, weights = _read_postings(reader, fieldname, text)
        self._put(key, (ids, weights, ids.nbytes + weights.nbytes + 200), ids.nbytes + weights.nbytes + 200)
        return ids, weights

    def bitmap(self, reader: SegmentReader, fieldname: str, text: str) -> int:
        """The documents of this segment holding the term, as an integer bitmap."""
        key = ("b", segment_key(reader), fieldname, text)
        found = self._get(key)
        if found is not None:
            return found[0]
        ids, _weights = self.postings(reader, fieldname, text)
        bitmap = ids_to_bitmap(ids, reader.doc_count_all())
        self._put(key, (bitmap, bitmap.bit_length() // 8 + 100), bitmap.bit_length() // 8 + 100)
        return bitmap

    def positions(self, reader: SegmentReader, fieldname: str, text: str) -> np.ndarray:
        """Where the term stands: sorted keys ``docnum << POSITION_BITS | position``."""
        key = ("k", segment_key(reader), fieldname, text)
        found = self._get(key)
        if found is not None:
            return found[0]
        keys = _read_positions(reader, fieldname, text)
        self._put(key, (keys, keys.nbytes + 100), keys.nbytes + 100)
        return keys

    def lengths(self, reader: SegmentReader, fieldname: str) -> np.ndarray:
        """Each document's length in ``fieldname`` (in terms), for BM25."""
        key = ("l", segment_key(reader), fieldname)
        found = self._get(key)
        if found is not None:
            return found[0]
        values = _read_lengths(reader, fieldname)
        self._put(key, (values, values.nbytes + 100), values.nbytes + 100)
        return values

    def numbers(self, reader: SegmentReader, fieldname: str) -> np.ndarray:
        """A sortable numeric column (the page dates) as an array."""
        key = ("n", segment_key(reader), fieldname)
        found = self._get(key)
        if found is not None:
            return found[0]
        count = reader.doc_count_all()
        if reader.has_column(fieldname):
            column = reader.column_reader(fieldname)
            values = np.fromiter((column[docnum] or 0 for docnum in range(count)), np.int64, count)
        else:
            values = np.zeros(count, np.int64)
        self._put(key, (values, values.nbytes + 100), values.nbytes + 100)
        return values


def _read_postings(reader: SegmentReader, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    if fieldname not in reader.schema:
        return _EMPTY
    try:
        matcher = reader.postings(fieldname, text)
    except TermNotFound:
        return _EMPTY
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child  # deleted documents are masked later, per generation
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
    if fieldname not in reader.schema or not reader.schema[fieldname].format.supports("positions"):
        return np.zeros(0, np.int64)
    try:
        matcher = reader.postings(fieldname, text)
    except TermNotFound:
        return np.zeros(0, np.int64)
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
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
            positions = decode(matcher.value())
            ids.append(matcher.id())
            counts.append(len(positions))
            deltas.extend([positions[0]] + [b - a for a, b in zip(positions, positions[1:], strict=False)])
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
    return (docs << POSITION_BITS) | positions


def ids_to_bitmap(ids: np.ndarray, size: int) -> int:
    flags = np.zeros(size, np.bool_)
    flags[ids] = True
    return int.from_bytes(np.packbits(flags, bitorder="little").tobytes(), "little")


def bitmap_to_flags(bitmap: int, size: int) -> np.ndarray:
    data = bitmap.to_bytes((size + 7) // 8 + 1, "little")
    return np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")[:size].astype(np.bool_)
