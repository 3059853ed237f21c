"""What each index segment holds, read once into arrays and kept while the segment exists.

Whoosh segments never change once written, and an edit only adds a small
segment (merging a few small ones now and then), so postings turned into
numpy arrays here stay valid across most index generations: after a save,
only the new segment is read again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import SegmentReader, TermNotFound

CACHE_BYTES = 96 * 1024 * 1024
_EMPTY = (np.zeros(0, np.int32), np.zeros(0, np.float32))


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

    def lengths(self, reader: SegmentReader, fieldname: str) -> np.ndarray:
        """Each document's length in ``fieldname`` (in terms), for BM25."""
        key = ("l", segment_key(reader), fieldname)
        found = self._get(key)
        if found is not None:
            return found[0]
        count = reader.doc_count_all()
        values = np.fromiter(
            (reader.doc_field_length(docnum, fieldname, 0) for docnum in range(count)), np.float32, count
        )
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


def ids_to_bitmap(ids: np.ndarray, size: int) -> int:
    flags = np.zeros(size, np.bool_)
    flags[ids] = True
    return int.from_bytes(np.packbits(flags, bitorder="little").tobytes(), "little")


def bitmap_to_flags(bitmap: int, size: int) -> np.ndarray:
    data = bitmap.to_bytes((size + 7) // 8 + 1, "little")
    return np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")[:size].astype(np.bool_)
