"""Index segments merged without holding the write lock, and documents found by path without opening every segment.

A save used to spend most of its time in the index on two things. Whoosh
finds the documents a save replaces through a reader of every segment,
opened afresh for each writer (10-20 ms with a dozen segments). And it merges
segments inside a writer, holding the index's write lock throughout: a merge
of a few hundred documents made a save wait 100-300 ms, in that save or behind
the maintenance thread's writer.

Both can be done apart from the writer, because a segment's files never
change once written; only the set of its deleted documents does, and that set
lives in the table of contents, which a writer reads afresh:

- ``PathLookup`` finds the documents of a path: in a segment this process
  wrote or merged, from a map of its paths; in any other, through a reader
  kept open from the first time a writer needed it. Whether each document
  is deleted is asked of the writer's own segments, never of the reader.
- ``build_in_child`` has a child process write the merges the segments call
  for into a staging directory whose name starts with a dot, which Whoosh's
  clean-up of unused files skips, with no lock held. Merging is pure Python:
  in a thread of the server it would hold the interpreter lock for hundreds
  of milliseconds, and every request of the process would wait in turn.
  ``install`` then holds the write lock for a moment: when every merged
  segment is still live, the new one replaces them, the documents deleted
  meanwhile deleted in it too; otherwise the work is thrown away.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from whoosh.codec.base import Segment
from whoosh.fields import Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.reading import SegmentReader
from whoosh.writing import SegmentWriter

log = logging.getLogger(__name__)

STAGING_PREFIX = ".merge-"
# The child merges at a lower priority than the server's requests.
CHILD_NICENESS = 5


class PathLookup:
    """Readers of the live segments, kept open to find a path's documents for the writers of this process.

    A segment this process wrote, or one a merge just put in place, is known
    by a map of its paths, so that a save opens no reader and reads no
    postings for it. Only writers use this, each holding the index's write
    lock; the lock here keeps threads apart all the same.
    """

    def __init__(self) -> None:
        self._readers: dict[str, SegmentReader] = {}
        self._paths: dict[str, dict[str, list[int]]] = {}
        # The stored fields of one document of a segment this process wrote (the meta document).
        self._stored: dict[str, tuple[int, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def remember(self, segment_id: str, paths: list[str], last: dict[str, Any] | None = None) -> None:
        """A segment just written or merged held ``paths`` (document 0, 1…), the last one with the stored fields ``last``."""
        known: dict[str, list[int]] = {}
        for docnum, path in enumerate(paths):
            known.setdefault(path, []).append(docnum)
        with self._lock:
            self._paths[segment_id] = known
            if last is not None:
                self._stored[segment_id] = (len(paths) - 1, last)

    def documents(self, storage: FileStorage, schema: Schema, segment: Segment, path: str) -> list[int]:
        """The segment's document numbers for ``path`` (deleted ones may be left out, or not)."""
        from .segments import _postings_of  # not at the top: the merging child loads this module alone

        with self._lock:
            known = self._paths.get(segment.segment_id())
            if known is not None:
                return known.get(path, [])
            matcher = _postings_of(self._reader(storage, schema, segment), "path", path)
            return list(matcher.all_ids()) if matcher is not None else []

    def stored(self, storage: FileStorage, schema: Schema, segment: Segment, docnum: int) -> dict[str, Any]:
        with self._lock:
            remembered = self._stored.get(segment.segment_id())
            if remembered is not None and remembered[0] == docnum:
                return dict(remembered[1])
            return dict(self._reader(storage, schema, segment).stored_fields(docnum))

    def _reader(self, storage: FileStorage, schema: Schema, segment: Segment) -> SegmentReader:
        key = segment.segment_id()
        reader = self._readers.get(key)
        if reader is None:
            reader = self._readers[key] = SegmentReader(storage, schema, segment)
        return reader

    def keep_only(self, live: set[str]) -> None:
        """Forget the segments that merges or a rebuild removed, closing their readers (their files are deleted)."""
        with self._lock:
            for key in [key for key in self._readers if key not in live]:
                _close(self._readers.pop(key))
            for known in (self._paths, self._stored):
                for key in [key for key in known if key not in live]:
                    del known[key]

    def close(self) -> None:
        self.keep_only(set())


def live_documents(writer: SegmentWriter, lookup: PathLookup, path: str) -> list[tuple[Segment, int]]:
    """(segment, document number) of the live documents of ``path``, as the writer's segments say."""
    found = []
    for segment in writer.segments:
        for docnum in lookup.documents(writer.storage, writer.schema, segment, path):
            if not segment.is_deleted(docnum):
                found.append((segment, docnum))
    return found


def delete_path(writer: SegmentWriter, lookup: PathLookup, path: str) -> None:
    """What ``update_document`` does before adding, without opening a reader of every segment."""
    for segment, docnum in live_documents(writer, lookup, path):
        segment.delete_document(docnum)


def tiers(segments: list[Segment], factor: int, max_docs: int) -> list[list[Segment]]:
    """Groups of segments worth merging: ``factor`` or more of the same size (base ``factor``), ``max_docs`` at most."""
    by_tier: dict[int, list[Segment]] = {}
    for segment in segments:
        live = segment.doc_count()
        if live:
            by_tier.setdefault(int(math.log(live, factor)), []).append(segment)
    return [
        members
        for _tier, members in sorted(by_tier.items())
        if len(members) >= factor and sum(segment.doc_count() for segment in members) <= max_docs
    ]


@dataclass
class Merged:
    """A merge built in ``staging``: the new segment and, for each merged one, what it held then."""

    segment: Segment
    staging: Path
    # (segment id, document count, documents deleted when it was read), in the order they were merged.
    sources: list[tuple[str, int, frozenset[int]]]
    # The path of each document of the new segment, by number.
    paths: list[str]

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def build(storage: FileStorage, root: Path, schema: Schema, group: list[Segment], *, index_name: str, limitmb: int) -> Merged:
    """Merge ``group`` (segments of a table of contents just read) into a new segment under ``root``, holding no lock.

    The segments are read with the deletions they had then; ``install``
    applies those made since. A segment removed meanwhile by another merge or
    a rebuild raises ``FileNotFoundError`` here or makes ``install`` refuse.
    """
    staging = root / str(len(list(root.iterdir())))
    staging.mkdir()
    staged = FileStorage(str(staging), supports_mmap=False)
    writer = staged.create_index(schema, index_name).writer(_lk=False, limitmb=limitmb)
    sources = []
    paths: list[str] = []
    try:
        for segment in group:
            deleted = frozenset(segment.deleted_docs())
            reader = SegmentReader(storage, schema, segment)
            try:
                # ``add_reader`` copies the live documents in this order, numbering them on.
                paths += [fields.get("path", "") for _docnum, fields in reader.iter_docs()]
                writer.add_reader(reader)
            finally:
                reader.close()
            sources.append((segment.segment_id(), segment.doc_count_all(), deleted))
        new = writer._finalize_segment()
    except BaseException:
        writer.cancel()
        raise
    writer._finish()
    return Merged(new, staging, sources, paths)


def build_in_child(
    directory: Path, root: Path, *, index_name: str, above: int, factor: int, max_docs: int, limitmb: int, seconds: float
) -> list[Merged]:
    """The merges the index's segments call for, built under ``root`` by a child process (none if it failed)."""
    package = Path(__file__).resolve().parent
    arguments = [str(directory), str(root), index_name, str(above), str(factor), str(max_docs), str(limitmb)]
    try:
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, str(package), *arguments],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        log.warning("merging search index segments took over %.0f s; left for later", seconds)
        return []
    if child.returncode != 0:
        message = child.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {child.returncode}"]
        log.warning("could not merge search index segments: %s", message[0])
        return []
    return [Merged(segment, Path(staging), sources, paths) for staging, segment, sources, paths in pickle.loads(child.stdout)]


# The child imports this module and the analysis the index's schema names, not the whole
# ``search`` package (numpy, the query code): its start-up is paid at every merge.
_CHILD = (
    "import importlib, sys, types; package = types.ModuleType('search'); package.__path__ = [sys.argv[1]];"
    " sys.modules['search'] = package; importlib.import_module('search.merges')._child(sys.argv[2:])"
)


def _child(arguments: list[str]) -> None:
    """Entry point of the merging child: build the merges the live segments call for, describe them on stdout."""
    directory, root, index_name = Path(arguments[0]), Path(arguments[1]), arguments[2]
    above, factor, max_docs, limitmb = (int(value) for value in arguments[3:7])
    os.nice(CHILD_NICENESS)
    storage = FileStorage(str(directory), supports_mmap=False)
    for attempt in range(5):
        try:  # the newest table of contents may be replaced between finding and opening it
            toc = storage.open_index(index_name)._read_toc()
            break
        except FileNotFoundError:
            if attempt == 4:
                raise
    built = []
    if len(toc.segments) > above:
        for group in tiers(toc.segments, factor, max_docs):
            try:
                built.append(build(storage, root, toc.schema, group, index_name=index_name, limitmb=limitmb))
            except FileNotFoundError:
                break  # merged or cleared by another process meanwhile: what is built still may go in
    described = [(str(merged.staging), merged.segment, merged.sources, merged.paths) for merged in built]
    sys.stdout.buffer.write(pickle.dumps(described))
    sys.stdout.buffer.flush()


def install(writer: SegmentWriter, merges: list[Merged], directory: Path) -> list[Merged] | None:
    """Put the merges whose segments are all still live in their place, drop the segments left empty, and commit.

    Returns the merges put in place, or None when there was nothing to do
    (it is then the caller's to cancel the writer). ``writer`` holds the write
    lock and has read the table of contents as it is now. A merge that lost
    a segment (merged or cleared meanwhile) is left out.

    Saves leave a segment whose documents they all replaced in the table of
    contents: dropping it there would throw away a merge being built from
    it, for a segment of no cost. It goes here, or in the next merge.
    """
    current = {segment.segment_id(): segment for segment in writer.segments}
    usable = [merged for merged in merges if all(source in current for source, _count, _deleted in merged.sources)]
    claimed: set[str] = set()
    chosen = []
    for merged in usable:  # two merges of the same segment cannot both go in
        names = {source for source, _count, _deleted in merged.sources}
        if not names & claimed:
            claimed |= names
            chosen.append(merged)
    if not chosen and all(segment.doc_count() for segment in writer.segments):
        return None
    replacing: dict[str, Segment] = {}
    for merged in chosen:
        _carry_deletions(merged, current)
        replacing[merged.sources[0][0]] = merged.segment
    kept: list[Segment] = []
    for segment in writer.segments:
        name = segment.segment_id()
        if name in replacing:
            segment = replacing[name]
        elif name in claimed:
            continue
        if segment.doc_count():
            kept.append(segment)
    for merged in chosen:
        prefix = merged.segment.segment_id() + "."
        for name in os.listdir(merged.staging):
            if name.startswith(prefix):
                os.replace(merged.staging / name, directory / name)
    writer._close_segment()
    writer._commit_toc(kept)
    writer._finish()
    return chosen


def _carry_deletions(merged: Merged, current: dict[str, Segment]) -> None:
    """Delete in the new segment the documents deleted in its sources since they were read."""
    base = 0
    for source, count, deleted in merged.sources:
        gone = set(current[source].deleted_docs()) - deleted
        if gone:
            number = {docnum: base + rank for rank, docnum in enumerate(d for d in range(count) if d not in deleted)}
            for docnum in gone:
                merged.segment.delete_document(number[docnum])
        base += count - len(deleted)
    if not base == len(merged.paths) == merged.segment.doc_count_all():
        raise AssertionError(
            f"merged {base} documents ({len(merged.paths)} paths) into a segment of {merged.segment.doc_count_all()}"
        )


def _close(reader: SegmentReader) -> None:
    try:
        reader.close()
    except Exception:  # noqa: BLE001 - its files may be gone already
        pass
