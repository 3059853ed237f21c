"""The Whoosh index: derived from git, shared by every server process, never trusted blindly.

Safe pattern for several processes (measured before this was written): one
writer at a time through Whoosh's file lock, waiting rather than failing;
every update is planned *under* that lock from what git says now (the plan
callback), so two processes finishing in any order still leave the newest
text indexed; the commit the index reflects is stored in the index itself,
in the same Whoosh commit as the documents, so it can never disagree with
them. Readers refresh their searcher per query and always see a complete
generation. A missing or unreadable index is created again and filled from
git.

The index is never trusted blindly while serving either: files are read, not
memory-mapped (a segment truncated under a memory map kills the process with
SIGBUS), and the size and CRC of every segment file are recorded when it is
written. When reading fails, those checksums tell damage (the index is thrown
away and ``IndexUnavailable`` raised: the caller refills it from git) from a
bug (the error is raised as it is).
"""

from __future__ import annotations

import bisect
import errno
import fcntl
import gc
import json
import logging
import math
import os
import re
import shutil
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from whoosh import index as whoosh_index
from whoosh import query as q
from whoosh.codec.base import Segment
from whoosh.codec.whoosh3 import W3Codec
from whoosh.filedb.filestore import FileStorage
from whoosh.reading import IndexReader
from whoosh.searching import Searcher
from whoosh.writing import CLEAR, IndexWriter, LockError, SegmentWriter

from .analysis import TOKEN, fold, french_stems
from .docsets import View
from .merges import STAGING_PREFIX, PathLookup, build_in_child, delete_path, install, live_documents, tiers
from .query import QUESTION_WORDS, ParsedQuery, parse_query, rebuild
from .schema import ANALYSIS_VERSION, FACET_MARK, META_PATH, TITLE_BOOST, Document, build_schema
from .segments import SegmentCache, ids_to_bitmap, segment_key
from .snippets import snippet
from .spelling import Speller

log = logging.getLogger(__name__)
T = TypeVar("T")
# Whoosh calls a merge policy with the writer and the existing segments; it returns those to keep as they are.
MergePolicy = Callable[[SegmentWriter, list[Segment]], list[Segment]]
# What the last check of the files saw: the table of contents' stamp, and each segment file's name, size and time.
_FilesSeen = tuple[tuple[int, int, int, int] | None, tuple[tuple[str, int, int], ...]]

MAX_LIMIT = 100
BOOSTS = {"title": TITLE_BOOST, "title_en": TITLE_BOOST}
WRITER_TIMEOUT = 60.0
# How often a writer waiting for the index's lock tries again. Whoosh's default, 0.1 s, made
# a save that found the lock taken for a millisecond (another save, a merge put in place)
# wait a tenth of a second.
LOCK_POLL_SECONDS = 0.002
UPDATE_MEMORY_MB = 32
MERGE_FACTOR = 4
# A save merges nothing: it adds its segment, and leaves in place even those whose
# documents it replaced (see ``merges.install``). ``maintain()`` (a background thread
# of each server process, woken once more than MAINTAIN_ABOVE segments are live)
# merges them, holding the write lock only for a moment. Past MAX_SEGMENTS (no
# maintenance thread: a command, a test) a save merges small ones itself; where a
# maintenance thread merges, a save lets up to MAX_SEGMENTS_MAINTAINED pile up
# meanwhile (a search costs about 0.03 ms more per small segment, a save nothing
# more), then merges at most NEWEST_MERGE_DOCS documents, the newest.
MAX_SEGMENTS = 15
MAX_SEGMENTS_MAINTAINED = 64
NEWEST_MERGE_DOCS = 8
VALVE_MERGE_DOCS = 1024
MAINTAIN_ABOVE = 6
MAINTENANCE_MERGE_DOCS = 4096
# While saves keep coming, merges of at most this many documents (under a second of a
# child's work): a bigger one would keep the small ones waiting, and segments piling up.
BURST_MERGE_DOCS = 128
# How long one maintenance call keeps merging while saves keep adding segments,
# and how long it waits for a next one before letting the maintenance loop go on.
MAINTAIN_SECONDS = 30.0
MAINTAIN_IDLE_SECONDS = 0.5
MAINTAIN_POLL_SECONDS = 0.05
# How long a merge already built waits for the write lock to be put in place.
INSTALL_WAIT_SECONDS = 5.0
# The longest a merging child may take (4,096 documents take half a minute), and the age
# past which a staging directory was left by a killed process.
MERGE_SECONDS = 300.0
STALE_STAGING_SECONDS = 3600.0
# A rebuild without this much memory per process spills its postings to disk
# and runs several times slower (measured: 10,000 pages, 69 s at 512 MB).
REBUILD_MEMORY_MB = 1024
INDEX_NAME = "MAIN"
WRITE_LOCK = f"{INDEX_NAME}_WRITELOCK"
CHECKSUMS = "checksums.json"
# The version of the analysis (``schema.ANALYSIS_VERSION``) that made the index: another one means a rebuild.
ANALYSIS_FILE = "analysis-version"
_TOC = re.compile(rf"^_{INDEX_NAME}_([0-9]+)\.toc$")
_SEGMENT_FILE = re.compile(rf"^({INDEX_NAME}_[0-9a-z]+)\.[A-Za-z0-9_.]+$")


@dataclass
class Plan:
    """What an update will do, decided under the writer lock.

    ``upserts`` may be a generator: a rebuild then streams documents to the
    writer while they are being read from git.
    """

    commit: str | None
    upserts: Iterable[Document] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    rebuild: bool = False

    def changes_nothing(self, indexed: str | None) -> bool:
        """True when the index already reflects ``commit`` and nothing is to be written."""
        return (
            self.commit == indexed
            and not self.rebuild
            and not self.deletes
            and isinstance(self.upserts, list)
            and not self.upserts
        )


Planner = Callable[[str | None], Plan]


@dataclass(frozen=True)
class Hit:
    path: str
    title: str
    kind: str
    page: str
    snippet: str
    score: float
    updated: int
    tags: list[str]


@dataclass
class SearchResults:
    query: str
    total: int
    hits: list[Hit]
    offset: int
    limit: int
    suggestion: str | None = None
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    # The query run instead of the typed one, which found nothing (a spelling correction), or None.
    corrected: str | None = None
    # "any" when pages lacking some of the words are included (few had them all), else None.
    fallback: str | None = None
    # The fiche fields with few values, each with the results' counts per value: [(field, [(value, count)…])…].
    field_facets: list[tuple[str, list[tuple[str, int]]]] = field(default_factory=list)


class IndexBusy(Exception):
    """Another process held the index for too long; the update will be caught up later."""


class IndexUnavailable(Exception):
    """The index was missing or damaged and has been started again empty: it must be refilled from git."""


class SearchIndex:
    """One index directory, used by one process (any number of threads)."""

    def __init__(self, directory: str | Path, *, writer_timeout: float = WRITER_TIMEOUT) -> None:
        self.directory = Path(directory)
        self.writer_timeout = writer_timeout
        self._lock = threading.Lock()
        self._open_lock = threading.Lock()
        self._ix: whoosh_index.FileIndex | None = None
        self._local = threading.local()
        self._searchers: list[Searcher] = []
        self._segments = SegmentCache()
        self._current_view: tuple[tuple[int, tuple[str, ...]], View] | None = None
        self._paths = _SegmentPaths()
        self._verified: _FilesSeen | None = None
        self._lookup = PathLookup()
        # Called after a save left more than MAINTAIN_ABOVE segments: a server's maintenance thread then merges them.
        self.merge_wanted: Callable[[], None] = lambda: None
        self._saved = threading.Event()
        self._last_save = 0.0
        self._has_segments: tuple[tuple[int, int, int, int] | None, bool] | None = None
        self._max_segments = MAX_SEGMENTS
        self._speller = Speller()
        self._fields_known: tuple[tuple[int, tuple[str, ...]], dict[str, int]] | None = None

    # -- opening -----------------------------------------------------------

    def _storage(self) -> FileStorage:
        # Read, never memory-mapped: a file truncated under a memory map kills the process (SIGBUS).
        return FileStorage(str(self.directory), supports_mmap=False)

    def _index(self) -> whoosh_index.FileIndex:
        ix = self._ix
        if ix is not None:
            return ix
        with self._open_lock:
            if self._ix is None:
                self._ix = self._open_or_create()
            return self._ix

    def _open_or_create(self) -> whoosh_index.FileIndex:
        self.directory.mkdir(parents=True, exist_ok=True)
        # Every server process may find the index missing or damaged at once: one
        # recreates it while the others wait, then they open what it made.
        with _exclusive(self.directory.with_name(self.directory.name + ".open.lock")):
            if any(self.directory.glob("*.toc")):
                with warnings.catch_warnings():
                    # Whoosh leaves a damaged index's files open when it fails to read them.
                    warnings.simplefilter("ignore", ResourceWarning)
                    ix = self._try_open()
                    gc.collect()
                if ix is not None:
                    return ix
            return self._recreate()

    def _try_open(self) -> whoosh_index.FileIndex | None:
        try:
            ix = self._storage().open_index(INDEX_NAME)
            with ix.searcher() as searcher:
                searcher.doc_count()
            intact = self._intact(ix)
        except Exception as error:  # noqa: BLE001 - whatever is broken, the index is rebuilt from git
            log.warning("search index unreadable (%s); rebuilding it", type(error).__name__)
            return None
        if not intact:
            log.warning("search index files changed since they were written; rebuilding it")
            return None
        if set(ix.schema.names()) != set(build_schema().names()) or self._analysis_version() != ANALYSIS_VERSION:
            log.warning("search index made by another version of the analysis; rebuilding it")
            return None
        return ix

    def _analysis_version(self) -> str | None:
        try:
            return (self.directory / ANALYSIS_FILE).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None

    def _recreate(self) -> whoosh_index.FileIndex:
        """An empty index in place of whatever is there, made while no writer runs."""
        storage = self._storage()
        lock = storage.lock(WRITE_LOCK)
        deadline = time.monotonic() + self.writer_timeout
        while not lock.acquire(blocking=False):
            if time.monotonic() > deadline:
                raise IndexBusy(str(self.directory))
            time.sleep(0.05)
        try:
            # Another process may have judged the same files damaged and made the index
            # again while we waited for the lock: keep what it made.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                healthy = self._try_open()
            if healthy is not None:
                return healthy
            for child in self.directory.iterdir():
                if child.name == WRITE_LOCK:
                    continue  # held right now: removing it would let another writer in
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
            ix = storage.create_index(build_schema(), INDEX_NAME)
            (self.directory / ANALYSIS_FILE).write_text(ANALYSIS_VERSION + "\n", encoding="ascii")
        finally:
            lock.release()
        return ix

    def close(self) -> None:
        with self._lock:
            for searcher in self._searchers:
                try:
                    searcher.close()
                except Exception:  # noqa: BLE001 - files of a damaged or deleted index
                    pass
            self._searchers.clear()
            self._local = threading.local()
            self._ix = None
            self._current_view = None
        self._lookup.close()

    def _searcher(self) -> Searcher:
        """This thread's searcher, opened again whenever the index on disk changed.

        Not ``Searcher.refresh()``: it reuses the readers of segments whose
        id did not change, deletions included, so an updated page's old
        version would still be found. Nor ``up_to_date()``: an index made
        again from scratch may reach the generation number of the old one.
        """
        stamp = _toc_stamp(self.directory)
        local = self._local
        searcher = getattr(local, "searcher", None)
        if searcher is not None and stamp is not None and stamp == local.stamp:
            return searcher
        fresh = self._index().searcher()
        with self._lock:
            if searcher is not None:
                searcher.close()
                if searcher in self._searchers:
                    self._searchers.remove(searcher)
            self._searchers.append(fresh)
        local.searcher, local.stamp, local.meta = fresh, stamp, None
        return fresh

    # -- damage ------------------------------------------------------------

    def _reading(self, operation: Callable[[], T]) -> T:
        """Run a read; if it fails, once more on fresh files, unless the files turn out to be damaged."""
        for attempt in (1, 2):
            try:
                return operation()
            except (IndexBusy, IndexUnavailable):
                raise
            except Exception as error:  # noqa: BLE001 - judged below: damage, or raised as it is
                self._judge(error)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _judge(self, error: Exception) -> None:
        """After a failed read or write: raise IndexUnavailable if the index is damaged (it is then closed)."""
        if _storage_full(error):
            return
        if self._intact():
            self._forget_searcher()  # files replaced under it, perhaps: the next try opens them again
            return
        log.warning("search index damaged (%s: %s); it is made again and refilled from git", type(error).__name__, error)
        self.close()
        raise IndexUnavailable(str(self.directory)) from error

    def verify(self) -> bool:
        """Check the files against their checksums (again only if they changed); if damaged, close the index.

        A garbled file does not always make a read fail: it may only give
        wrong answers. The servers' maintenance calls this now and then; a
        damaged index is then made again at its next use and refilled.
        """
        if self._intact():
            return True
        log.warning("search index files changed since they were written; it is made again and refilled from git")
        self.close()
        return False

    def _forget_searcher(self) -> None:
        searcher = getattr(self._local, "searcher", None)
        if searcher is None:
            return
        self._local.searcher = None
        with self._lock:
            if searcher in self._searchers:
                self._searchers.remove(searcher)
        try:
            searcher.close()
        except Exception:  # noqa: BLE001 - its files may be gone
            pass

    def _intact(self, ix: whoosh_index.FileIndex | None = None) -> bool:
        """True when the table of contents reads and every live segment file is as it was written.

        Another process may commit while we look, deleting the segments its
        merge replaced: a verdict of damage stands only if the table of
        contents did not change meanwhile. An index that keeps changing under
        our eyes has a live writer, which is no sign of damage.
        """
        for _attempt in range(3):
            stamp = _toc_stamp(self.directory)
            if self._intact_now(ix):
                return True
            if _toc_stamp(self.directory) == stamp:
                return False
            ix = None  # a newer generation: judge that one
        return True

    def _intact_now(self, ix: whoosh_index.FileIndex | None = None) -> bool:
        """The check itself; the checksums are computed again only when a file's size or time changed."""
        try:
            segments = (ix or self._storage().open_index(INDEX_NAME))._segments()
        except Exception:  # noqa: BLE001 - missing or garbage: damaged
            segments = None
        if segments is None:
            _collect_quietly()
            return False
        live = {segment.segment_id() for segment in segments}
        try:
            files = _segment_files(self.directory, live)
        except FileNotFoundError:
            return False
        recorded = _read_checksums(self.directory)
        names = {name for _segment, name, _status in files}
        missing = [
            name for name in recorded if (match := _SEGMENT_FILE.match(name)) and match.group(1) in live and name not in names
        ]
        if missing or {segment for segment, _name, _status in files} != live:
            return False  # a file of a live segment is gone
        key: _FilesSeen = (
            _toc_stamp(self.directory),
            tuple((name, status.st_size, status.st_mtime_ns) for _s, name, status in files),
        )
        if key == self._verified:
            return True
        unknown = False
        for _segment, name, status in files:
            known = recorded.get(name)
            if known is None:
                unknown = True
                continue
            try:
                same = known == [status.st_size, _crc(self.directory / name)]
            except FileNotFoundError:
                return True  # replaced by a newer generation while we looked: nothing to judge
            if not same:
                return False
        if unknown:
            self._record_checksums()
        self._verified = key
        return True

    def _record_checksums(self, live: list[str] | None = None) -> None:
        """Note the size and CRC of the live segment files not noted yet (segments never change).

        ``live`` names the live segments, as the writer that just committed
        left them; by default they are read from the table of contents.
        """
        try:
            with _exclusive(self.directory / (CHECKSUMS + ".lock")):
                if live is None:
                    live = [segment.segment_id() for segment in _live_segments(self._storage().open_index(INDEX_NAME))]
                recorded = _read_checksums(self.directory)
                noted = {}
                wanted = set(live)
                for name in os.listdir(self.directory):  # only the files not noted yet are read
                    match = _SEGMENT_FILE.match(name)
                    if match is None or match.group(1) not in wanted:
                        continue
                    known = recorded.get(name)
                    if known is None:
                        try:
                            known = [os.stat(self.directory / name).st_size, _crc(self.directory / name)]
                        except FileNotFoundError:
                            continue
                    noted[name] = known
                if noted != recorded:
                    temporary = self.directory / f".{CHECKSUMS}.{os.getpid()}.{threading.get_ident()}"
                    temporary.write_text(json.dumps(noted, sort_keys=True), encoding="ascii")
                    os.replace(temporary, self.directory / CHECKSUMS)
        except Exception as error:  # noqa: BLE001 - noted later: unknown files are noted on first check
            log.warning("could not note the search index checksums (%s: %s)", type(error).__name__, error)

    # -- state -------------------------------------------------------------

    def _meta(self) -> dict[str, Any] | None:
        """The meta document (the commit the index reflects) of this thread's searcher; None if never filled."""
        searcher = self._searcher()
        local = self._local
        meta: dict[str, Any] | None = getattr(local, "meta", None)
        if meta is None:
            meta = local.meta = searcher.document(path=META_PATH) or {}
        return meta or None

    def indexed_commit(self) -> str | None:
        """The commit the index reflects (None: empty or never filled)."""
        return self._reading(lambda: (self._meta() or {}).get("commit") or None)

    def is_filled(self) -> bool:
        """False while a new (lost, damaged, never built) index waits to be filled from git."""
        return self._reading(lambda: self._meta() is not None)

    def has_segments(self) -> bool:
        """``is_filled`` as the table of contents tells it, without opening a searcher.

        A filled index always holds its meta document, so a segment; one made
        again empty has none until its refill is committed.
        """
        stamp = _toc_stamp(self.directory)
        known = self._has_segments
        if stamp is not None and known is not None and known[0] == stamp:
            return known[1]
        found = self._reading(lambda: bool(_live_segments(self._index())))
        self._has_segments = (stamp, found)
        return found

    def segment_count(self) -> int:
        return self._reading(lambda: len(_live_segments(self._index())))

    def document_paths(self) -> dict[str, str]:
        """Every indexed path with its kind (the meta document left out)."""
        return self._reading(
            lambda: {
                fields["path"]: fields["kind"]
                for fields in self._searcher().all_stored_fields()
                if fields.get("path") != META_PATH
            }
        )

    # -- writing -----------------------------------------------------------

    def update(self, planner: Planner, *, procs: int = 1, wait_seconds: float | None = None) -> Plan:
        """Apply what ``planner`` decides, given the commit the index reflects now.

        ``procs`` > 1 spreads a full rebuild over that many processes (each
        writing its own segment); only callers that may fork should ask.
        A damaged index raises ``IndexUnavailable`` (and is made again empty
        at the next use); a full disk raises its ``OSError``; another writer
        holding the index for longer than ``wait_seconds`` raises ``IndexBusy``.
        """
        ix = self._index()
        writer = self._guarded(lambda: self._save_writer(ix, wait_seconds))
        try:
            first = writer
            self._lookup.keep_only({segment.segment_id() for segment in first.segments})
            last = self._guarded(lambda: _indexed_commit(first, self._lookup))
            plan = planner(last)
            if plan.changes_nothing(last):
                # Another process got there first (every server process catches up
                # after a save): a commit now would only add a segment.
                writer.cancel()
                return plan
            if plan.rebuild:
                # The lock is let go for a moment; a rebuild indexes main as it is, so any
                # update made in between is redone or caught up by the next one.
                writer.cancel()
                writer = None
                if procs > 1:
                    options = {"procs": procs, "multisegment": True, "limitmb": REBUILD_MEMORY_MB // procs}
                else:
                    options = {"limitmb": REBUILD_MEMORY_MB}
                writer = self._guarded(lambda: self._writer(ix, wait_seconds, **options))
            writing = writer
            live = self._guarded(lambda: _apply(writing, plan, self._lookup, self._max_segments))
        except BaseException:
            if writer is not None and not writer.is_closed:
                writer.cancel()
            raise
        self._record_checksums(live)
        if live:
            self._has_segments = (_toc_stamp(self.directory), True)
        self._last_save = time.monotonic()
        self._saved.set()
        if live is not None and len(live) > MAINTAIN_ABOVE:
            self.merge_wanted()
        return plan

    def _guarded(self, operation: Callable[[], T]) -> T:
        try:
            return operation()
        except (IndexBusy, IndexUnavailable, LockError):
            raise
        except Exception as error:  # noqa: BLE001 - judged: damage becomes IndexUnavailable, the rest is raised
            self._judge(error)
            raise

    def _save_writer(self, ix: whoosh_index.FileIndex, wait_seconds: float | None = None) -> SegmentWriter:
        """The writer of an update: a segment of a page or two, merged (and compressed) later by maintenance."""
        try:
            return _SaveWriter(
                ix,
                timeout=self.writer_timeout if wait_seconds is None else wait_seconds,
                delay=LOCK_POLL_SECONDS,
                limitmb=UPDATE_MEMORY_MB,
                codec=W3Codec(compression=0),  # a quarter of the segment's cost, for a few kilobytes more
            )
        except LockError:
            raise IndexBusy(str(self.directory)) from None

    def _writer(self, ix: whoosh_index.FileIndex, wait_seconds: float | None = None, **options: Any) -> IndexWriter:
        try:
            return ix.writer(timeout=self.writer_timeout if wait_seconds is None else wait_seconds, **options)
        except LockError:
            raise IndexBusy(str(self.directory)) from None

    def maintain(self, seconds: float = MAINTAIN_SECONDS) -> bool:
        """Merge segments while more than MAINTAIN_ABOVE are live; True if it merged.

        Servers call this from a background thread. A merge is built with no
        lock held and put in place under the write lock for a moment
        (``merges``), so a save never waits for one. While saves keep adding
        segments it goes on merging, for ``seconds`` at most; one process of
        the wiki merges at a time.
        """
        self._max_segments = MAX_SEGMENTS_MAINTAINED  # called, so called again: saves may leave merging to it
        merged = False
        with _exclusive_or_skip(self.directory.with_name(self.directory.name + ".merge.lock")) as mine:
            if not mine:
                return False
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                self._saved.clear()
                if self._merge_once():
                    merged = True
                    continue
                # Nothing to merge yet. Saves come in bursts: while one goes on, so does merging.
                if time.monotonic() - self._last_save > MAINTAIN_IDLE_SECONDS:
                    break
                self._saved.wait(MAINTAIN_POLL_SECONDS)
        return merged

    def _merge_once(self) -> bool:
        """Have the merges the live segments call for built, then put them in place; True if any went in."""
        ix = self._index()
        segments = self._guarded(lambda: _live_segments(ix))
        if len(segments) <= MAINTAIN_ABOVE:
            return False
        saving = time.monotonic() - self._last_save < MAINTAIN_IDLE_SECONDS
        max_docs = BURST_MERGE_DOCS if saving else MAINTENANCE_MERGE_DOCS
        groups = tiers(segments, MERGE_FACTOR, max_docs)
        emptied = not all(segment.doc_count() for segment in segments)
        if not groups and not emptied:
            return False
        _remove_stale_staging(self.directory)
        root = self.directory / f"{STAGING_PREFIX}{os.getpid()}-{threading.get_ident()}"
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir()
        try:
            built = []
            if groups:
                built = build_in_child(
                    self.directory,
                    root,
                    index_name=INDEX_NAME,
                    above=MAINTAIN_ABOVE,
                    factor=MERGE_FACTOR,
                    max_docs=max_docs,
                    limitmb=UPDATE_MEMORY_MB,
                    seconds=MERGE_SECONDS,
                )
            if not built and not emptied:
                return False
            try:
                writer = self._guarded(lambda: ix.writer(timeout=INSTALL_WAIT_SECONDS, delay=LOCK_POLL_SECONDS))
            except LockError:
                return False
            try:
                installed = self._guarded(lambda: install(writer, built, self.directory))
            finally:
                if not writer.is_closed:
                    writer.cancel()
        finally:
            shutil.rmtree(root, ignore_errors=True)
        if installed is None:
            return False
        for merged in installed:
            self._lookup.remember(merged.segment.segment_id(), merged.paths)
        self._record_checksums()
        return True

    # -- searching ---------------------------------------------------------

    def search(
        self,
        text: str,
        *,
        limit: int = 20,
        offset: int = 0,
        order: str = "relevance",
        facets: bool = False,
        suggest: bool = True,
        fallback: bool = True,
        proximity: bool = True,
    ) -> SearchResults:
        """Run what a visitor typed; malformed input is read as plain words, never an error.

        The set of matching pages (hence the total and the facets) is exact,
        computed with bitmaps; ranking is BM25 over that set (see ``docsets``),
        plus a boost for pages where words next to each other in the query
        stand together (``proximity``). When fewer than ``FEW_RESULTS`` pages
        have every word, pages with most of them follow (``fallback``: the
        answer says ``fallback="any"``); when none has them and some words
        look misspelt, the corrected query is run (``corrected``), and
        offered (``suggestion``) when the typed one finds little.
        A damaged index raises ``IndexUnavailable``.
        """
        limit = max(1, min(MAX_LIMIT, int(limit)))
        offset = max(0, int(offset))
        if not parse_query(text).parts:
            return SearchResults(text, 0, [], offset, limit)
        options = _Options(limit, offset, order, facets, suggest, fallback, proximity)
        return self._reading(lambda: self._search(text, options))

    def _search(self, text: str, options: _Options) -> SearchResults:
        results = SearchResults(text, 0, [], options.offset, options.limit)
        searcher = self._searcher()
        reader = searcher.reader()
        if not reader.doc_count_all():
            return results
        view = self._view(reader)
        fields = self._field_keys(reader)
        parsed = parse_query(text, fields)
        if parsed.query is None:
            return results
        matching, bonus, fallback, strict = self._matching(reader, view, parsed, options)
        if options.suggest and parsed.words and strict < FEW_RESULTS:
            suggestion = self._suggest(searcher, parsed, strict)
            if suggestion is not None:
                corrected = parse_query(suggestion, fields)
                found, found_bonus, found_fallback, found_strict = (0, None, False, 0)
                if corrected.query is not None:
                    found, found_bonus, found_fallback, found_strict = self._matching(reader, view, corrected, options)
                # Applied when the typed words, all together, found nothing and the corrected ones find something.
                if found and (not matching or (not strict and found_strict)):
                    parsed, matching, bonus, fallback = corrected, found, found_bonus, found_fallback
                    results.corrected = suggestion
                elif found_strict > strict:
                    results.suggestion = suggestion
        results.total = matching.bit_count()
        results.fallback = "any" if fallback else None
        if results.total and options.offset < results.total:
            self._fill(results, searcher, reader, view, parsed, matching, bonus, options)
        if results.total and options.facets:
            results.facets = self._facets(reader, view, matching)
            results.field_facets = self._field_facets(reader, view, matching, fields)
        return results

    def _matching(
        self, reader: IndexReader, view: View, parsed: ParsedQuery, options: _Options
    ) -> tuple[int, np.ndarray | None, bool, int]:
        """The pages a query finds, a bonus per page for ranking, whether pages lacking some words were let in,
        and how many pages have every word.

        Pages with every word come first; when they are fewer than
        ``FEW_RESULTS``, pages with at least half of the words (question words
        apart) follow, ranked by the words they have, each weighing its idf
        (question words a fraction of it) — more than any text score.
        """
        assert parsed.query is not None
        content = [item for item in parsed.optional if not item.question]
        if content and len(content) < len(parsed.optional) and not parsed.alternatives:
            # Question words (quel, comment…) are not required: a page answering need not repeat the question.
            required: q.Query = q.And([item.query for item in content] + parsed.filters)
            matching = view.evaluate(reader, q.AndNot(required, q.Or(parsed.excluded)) if parsed.excluded else required)
        else:
            matching = view.evaluate(reader, parsed.query)
        strict = matching.bit_count()
        bonus: np.ndarray | None = None
        fallback = False
        if (
            options.fallback
            and matching.bit_count() < FALLBACK_BELOW
            and len(parsed.optional) >= 2
            and content
            and not parsed.alternatives
            and options.order != "date"
        ):
            allowed = view.live
            for query in parsed.filters:
                allowed &= view.evaluate(reader, query)
            for query in parsed.excluded:
                allowed &= ~view.evaluate(reader, query)
            bitmaps = [view.evaluate(reader, item.query) & allowed for item in parsed.optional]
            counts = np.zeros(view.size, np.int16)
            coverage = np.zeros(view.size, np.float32)
            for item, bitmap in zip(parsed.optional, bitmaps, strict=True):
                flags = view.flags(bitmap)
                if item.question:  # a little more than nothing: ranked with the text, not with the words
                    coverage += flags * np.float32(view.idf(bitmap) * QUESTION_WEIGHT / COVERAGE_SCALE)
                else:
                    coverage += flags * np.float32(view.idf(bitmap))
                    counts += flags
            # At least half of the meaningful words; fewer while that still finds few pages.
            extra = 0
            for needed in range(math.ceil(len(content) / 2), 0, -1):
                wide = np.flatnonzero(counts >= needed)
                extra = ids_to_bitmap(wide, view.size) & ~matching & allowed if len(wide) else 0
                if (matching | extra).bit_count() >= FALLBACK_BELOW:
                    break
            if extra:
                fallback = True
                matching |= extra
                bonus = coverage * np.float32(COVERAGE_SCALE)
        if options.proximity and parsed.adjacent and options.order != "date":
            bonus = self._proximity(reader, view, parsed, matching, bonus)
        return matching, bonus, fallback, strict

    def _proximity(
        self, reader: IndexReader, view: View, parsed: ParsedQuery, matching: int, bonus: np.ndarray | None
    ) -> np.ndarray | None:
        """A boost for pages where two words next to each other in the query stand together too."""
        pairs = [(run[i], run[i + 1]) for run in parsed.adjacent for i in range(len(run) - 1)][:MAX_PROXIMITY_PAIRS]
        for first, second in pairs:
            together = 0
            for fieldname in ("title", "body"):
                together |= view.phrase(reader, fieldname, [first, second])
            together &= matching
            if not together:
                continue
            weight = (view.idf(view.term(reader, "body", first)) + view.idf(view.term(reader, "body", second))) / 2
            if bonus is None:
                bonus = np.zeros(view.size, np.float32)
            bonus += view.flags(together) * np.float32(PROXIMITY_BOOST * weight)
        return bonus

    def _fill(
        self,
        results: SearchResults,
        searcher: Searcher,
        reader: IndexReader,
        view: View,
        parsed: ParsedQuery,
        matching: int,
        bonus: np.ndarray | None,
        options: _Options,
    ) -> None:
        offset, limit = options.offset, options.limit
        # Equal scores (or dates) follow the path, so that pages 1, 2, 3… together are the whole list.
        tiebreak = self._paths.lookup(reader)
        if options.order == "date" or (parsed.scoring is None and bonus is None):
            best = view.by_number(reader, "updated", matching, offset + limit, tiebreak=tiebreak, skip=offset)
        else:
            best = view.rank(
                reader, parsed.scoring, matching, offset + limit, BOOSTS, tiebreak=tiebreak, skip=offset, bonus=bonus
            )
        for scored in best[offset:]:
            fields = searcher.stored_fields(scored.docnum)
            results.hits.append(
                Hit(
                    path=fields["path"],
                    title=fields.get("title_text", ""),
                    kind=fields.get("kind", "page"),
                    page=fields.get("page", ""),
                    snippet=snippet(fields.get("text", ""), parsed.highlight, parsed.prefixes),
                    score=round(scored.score, 4),
                    updated=int(fields.get("updated", 0) or 0),
                    tags=[tag for tag in (fields.get("tags") or "").split(",") if tag],
                )
            )

    def _view(self, reader: IndexReader) -> View:
        """The matching and ranking view of this generation (made once per generation).

        Known by its segments as well as its number: an index made again from
        scratch reuses generation numbers.
        """
        key = (reader.generation(), tuple(segment_key(leaf) for leaf, _offset in reader.leaf_readers()))
        with self._lock:
            if self._current_view is not None and self._current_view[0] == key:
                return self._current_view[1]
        view = View(reader, self._segments)
        view.exclude(view.term(reader, "kind", "meta"))
        live = {segment_key(leaf) for leaf, _offset in reader.leaf_readers()}
        self._paths.keep_only(live)
        self._speller.keep_only(live)
        with self._lock:
            self._current_view = (key, view)
            self._fields_known = None
        return view

    def _field_keys(self, reader: IndexReader) -> dict[str, int]:
        """The fiche fields some page has, with how many pages have each (for this generation)."""
        key = reader.generation(), tuple(segment_key(leaf) for leaf, _offset in reader.leaf_readers())
        known = self._fields_known
        if known is not None and known[0] == key:
            return known[1]
        counts: dict[str, int] = {}
        for term in islice(reader.lexicon("fact_keys"), MAX_FIELD_KEYS):
            name = term.decode("utf-8") if isinstance(term, bytes) else term
            counts[name] = reader.doc_frequency("fact_keys", name)
        self._fields_known = (key, counts)
        return counts

    def _facets(self, reader: IndexReader, view: View, matching: int) -> dict[str, list[tuple[str, int]]]:
        counts: dict[str, list[tuple[str, int]]] = {}
        for name in ("tags", "folder"):
            found = []
            for term in reader.lexicon(name):
                value = term.decode("utf-8") if isinstance(term, bytes) else term
                if value:
                    count = (view.term(reader, name, value) & matching).bit_count()
                    if count:
                        found.append((value, count))
            counts[name] = sorted(found, key=lambda item: (-item[1], item[0]))[:20]
        return counts

    def _field_facets(
        self, reader: IndexReader, view: View, matching: int, fields: dict[str, int]
    ) -> list[tuple[str, list[tuple[str, int]]]]:
        """Counts of the results per value of the fiche fields with few values (commune, type…), bounded.

        Fields with more than ``MAX_FACET_VALUES`` values in the whole index
        (addresses, surfaces) are no facet; at most ``MAX_FIELD_FACETS``
        fields are shown, those most results have.
        """
        found: list[tuple[int, str, list[tuple[str, int]]]] = []
        common = sorted(fields, key=lambda name: (-fields[name], name))[:MAX_FACET_FIELDS_SCANNED]
        for name in common:
            if not (view.term(reader, "fact_keys", name) & matching):
                continue
            values = self._facet_values(reader, view, name)
            if values is None:
                continue
            counted = []
            for value, term in values:
                count = (view.term(reader, "facts", term) & matching).bit_count()
                if count:
                    counted.append((value, count))
            if counted:
                counted.sort(key=lambda item: (-item[1], item[0]))
                found.append((sum(count for _value, count in counted), name, counted[:MAX_FACET_VALUES_SHOWN]))
        found.sort(key=lambda item: (-item[0], item[1]))
        return [(name, counted) for _total, name, counted in found[:MAX_FIELD_FACETS]]

    def _facet_values(self, reader: IndexReader, view: View, name: str) -> list[tuple[str, str]] | None:
        """(value, term) of a field's values, or None when it has too many to be a facet."""
        prefix = name + FACET_MARK
        terms = view.prefix_terms(reader, "facts", prefix, MAX_FACET_VALUES + 1)
        if len(terms) > MAX_FACET_VALUES:
            return None
        return [(term[len(prefix) :], term) for term in terms]

    def _suggest(self, searcher: Searcher, parsed: ParsedQuery, total: int) -> str | None:
        """A corrected query when some words look misspelt: the likeliest words pages use, as they spell them.

        The caller runs it, and applies or offers it when it finds more.

        A word no page has is replaced by the nearest frequent word within
        two edits (``spelling``); when the query found a few pages, a word
        few pages have may also be, by one much more common.
        Any number of words: each costs a few hundred dictionary reads.
        """
        reader = searcher.reader()
        replacements: dict[str, str] = {}
        for word in parsed.words:
            lowered = word.lower()
            if fold(lowered) in QUESTION_WORDS:
                continue
            stems = french_stems(lowered)
            folded = fold(lowered)
            if not stems or not folded.isalpha() or len(folded) < 3:
                continue
            frequency = max(searcher.doc_frequency("body", stem) for stem in stems)
            if frequency == 0:
                found = self._speller.best(reader, folded)
            elif total and frequency <= RARE_WORD_PAGES:
                found = self._speller.best(reader, folded, at_least=max(RARE_WORD_PAGES, frequency * MUCH_MORE_COMMON))
            else:
                continue
            if found:
                replacements[word] = _spelling_of(searcher, found) or found
        if not replacements:
            return None
        return rebuild(parsed.parts, replacements)


@dataclass(frozen=True)
class _Options:
    limit: int
    offset: int
    order: str
    facets: bool
    suggest: bool
    fallback: bool
    proximity: bool


# Fewer pages than this with every word: a correction may be offered.
FEW_RESULTS = 5
# Fewer pages than this with every word: pages with most of the words follow (tuned on bench/search_quality.py).
FALLBACK_BELOW = 10
# A question word (quel, comment, combien…) weighs this fraction of its idf when words are counted.
QUESTION_WEIGHT = 0.15
# How much the words a page has count (times their idf) against its text score, when pages lacking some are let in:
# mostly more (tuned on bench/search_quality.py: 100 ranked long pages having every common word first).
COVERAGE_SCALE = 3.0
# The proximity boost: this fraction of the two words' mean idf, for each pair of query words found together.
PROXIMITY_BOOST = 1.0
MAX_PROXIMITY_PAIRS = 4
# A known word on at most this many pages may still be a typo for one used on MUCH_MORE_COMMON times as many.
RARE_WORD_PAGES = 2
MUCH_MORE_COMMON = 20
# Fiche fields: how many keys are read, which are facets (few values), how many are shown.
MAX_FIELD_KEYS = 500
MAX_FACET_FIELDS_SCANNED = 12
MAX_FACET_VALUES = 40
MAX_FACET_VALUES_SHOWN = 10
MAX_FIELD_FACETS = 4


def _spelling_of(searcher: Searcher, word: str) -> str | None:
    """How a page writes a (folded) word: accents and all, lowercase."""
    for docnum in searcher.postings("spell", word).all_ids():
        fields = searcher.stored_fields(docnum)
        for text in (fields.get("title_text", ""), fields.get("text", "")):
            for match in TOKEN.finditer(text[:MAX_SPELLING_SCAN]):
                if fold(match.group().lower()) == word:
                    return match.group().lower()
        break
    return None


MAX_SPELLING_SCAN = 200_000


class _SegmentPaths:
    """The paths of documents, by segment, read on first need and kept while their segment exists.

    Paths order documents of equal score; a stored-fields read per document
    costs tens of microseconds, so a tie among thousands of pages is read
    once per segment (segments never change), not once per request.
    """

    def __init__(self) -> None:
        self._by_segment: dict[str, dict[int, str]] = {}

    def keep_only(self, segments: set[str]) -> None:
        """Forget segments that merges or a rebuild removed."""
        for key in [key for key in list(self._by_segment) if key not in segments]:
            self._by_segment.pop(key, None)

    def lookup(self, reader: IndexReader) -> Callable[[int], str]:
        """A document number of ``reader`` to its path."""
        leaves = [(leaf, offset, self._by_segment.setdefault(segment_key(leaf), {})) for leaf, offset in reader.leaf_readers()]
        starts = [offset for _leaf, offset, _known in leaves]

        def path_of(docnum: int) -> str:
            leaf, offset, known = leaves[bisect.bisect_right(starts, docnum) - 1]
            path = known.get(docnum - offset)
            if path is None:
                path = known[docnum - offset] = leaf.stored_fields(docnum - offset).get("path", "")
            return path

        return path_of


def tiered_merge(max_tier: int | None = None, max_docs: int | None = None) -> MergePolicy:
    """A Whoosh merge policy: merge segments of similar size, ``MERGE_FACTOR`` at a time.

    Segments are grouped by the order of magnitude (base ``MERGE_FACTOR``) of
    their live documents; a group that reaches ``MERGE_FACTOR`` members is
    merged into the segment being written, so each document is rewritten
    about log4(edits) times. Whoosh's MERGE_SMALL rewrote the small segments
    on nearly every commit (55 ms of a 74 ms mean save on 2,000 pages).
    ``max_tier`` and ``max_docs`` leave bigger groups alone: merging costs
    about 1 ms per document, and nobody should wait for ten thousand of them
    (a full rebuild is faster then). Segments whose documents were all
    replaced are dropped.
    """

    def policy(writer: SegmentWriter, segments: list[Segment]) -> list[Segment]:
        from whoosh.reading import SegmentReader

        tiers: dict[int, list[Segment]] = {}
        for segment in segments:
            live = segment.doc_count()
            if live == 0:
                continue  # nothing left in it: dropped
            tiers.setdefault(int(math.log(live, MERGE_FACTOR)), []).append(segment)
        unchanged: list[Segment] = []
        for tier, members in tiers.items():
            too_big = (max_tier is not None and tier >= max_tier) or (
                max_docs is not None and sum(segment.doc_count() for segment in members) > max_docs
            )
            if len(members) < MERGE_FACTOR or too_big:
                unchanged.extend(members)
                continue
            for segment in members:
                reader = SegmentReader(writer.storage, writer.schema, segment)
                writer.add_reader(reader)
                reader.close()
        return unchanged

    return policy


def _apply(writer: SegmentWriter, plan: Plan, lookup: PathLookup, max_segments: int = MAX_SEGMENTS) -> list[str] | None:
    """Write a plan's documents and the commit it reflects, in one Whoosh commit; the live segments after it.

    A document replaced is found through ``lookup``, not through Whoosh's
    ``update_document``, which opens a reader of every segment each time;
    the new segment's documents are told to ``lookup`` as they are written.
    None after a rebuild.
    """
    if plan.rebuild:
        for document in plan.upserts:
            writer.add_document(**document.fields())
        writer.update_document(path=META_PATH, kind="meta", commit=plan.commit or "")
        writer.commit(mergetype=CLEAR)
        return None
    added: list[str] = []
    for path in plan.deletes:
        delete_path(writer, lookup, path)
    for document in plan.upserts:
        delete_path(writer, lookup, document.path)
        writer.add_document(**document.fields())
        added.append(document.path)
    delete_path(writer, lookup, META_PATH)
    writer.add_document(path=META_PATH, kind="meta", commit=plan.commit or "")
    added.append(META_PATH)
    crowded = len(writer.segments) >= max_segments
    if crowded and max_segments == MAX_SEGMENTS:
        policy = tiered_merge(max_docs=VALVE_MERGE_DOCS)  # no maintenance thread: a command, a test
    elif crowded:
        policy = _merge_newest(NEWEST_MERGE_DOCS)  # the maintenance thread fell behind: a bounded merge
    else:
        policy = _keep_all
    kept: list[Segment] = []

    def keeping(writer: SegmentWriter, segments: list[Segment]) -> list[Segment]:
        kept.extend(policy(writer, segments))
        return kept

    new = writer.newsegment.segment_id()
    writer.commit(mergetype=keeping)
    if policy is _keep_all:  # the new segment holds what was added, numbered in that order
        lookup.remember(new, added, {"path": META_PATH, "kind": "meta", "commit": plan.commit or ""})
    return [segment.segment_id() for segment in kept] + [new]


class _SaveWriter(SegmentWriter):  # type: ignore[misc]  # Whoosh is untyped
    """Whoosh's writer, with the field lengths of a document read once per field, not once per term.

    Whoosh reads them back from the segment's files for every posting it
    writes: a fifth of the cost of writing a page's segment.
    """

    def per_document_reader(self) -> _Lengths:
        return _Lengths(super().per_document_reader())


class _Lengths:
    """A segment's per-document reader that remembers the field lengths asked for."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader
        self._known: dict[tuple[int, str], int] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        key = (docnum, fieldname)
        length = self._known.get(key)
        if length is None:
            length = self._known[key] = self._reader.doc_field_length(docnum, fieldname, default)
        return length

    def close(self) -> None:
        self._reader.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


def _merge_newest(max_docs: int) -> MergePolicy:
    """A merge policy: the newest segments, ``max_docs`` live documents at most together, merged into the new one.

    The newest, not the smallest: a merge the maintenance thread is building
    read the segments as they were when it started, and would be thrown away
    if one of them went into this one.
    """

    def policy(writer: SegmentWriter, segments: list[Segment]) -> list[Segment]:
        from whoosh.reading import SegmentReader

        chosen, total = set(), 0
        for segment in reversed(segments):
            if total + segment.doc_count() > max_docs:
                break
            chosen.add(segment.segment_id())
            total += segment.doc_count()
        for segment in segments:
            if segment.segment_id() in chosen and segment.doc_count():
                reader = SegmentReader(writer.storage, writer.schema, segment)
                writer.add_reader(reader)
                reader.close()
        return [segment for segment in segments if segment.segment_id() not in chosen]

    return policy


def _keep_all(_writer: SegmentWriter, segments: list[Segment]) -> list[Segment]:
    """The merge policy of a save: none. Even a segment whose documents were all replaced stays (``merges.install``)."""
    return list(segments)


def _indexed_commit(writer: SegmentWriter, lookup: PathLookup) -> str | None:
    """The commit the index reflects, from its meta document, as the writer sees it (None: never filled)."""
    for segment, docnum in reversed(live_documents(writer, lookup, META_PATH)):
        commit = lookup.stored(writer.storage, writer.schema, segment, docnum).get("commit")
        return str(commit) if commit else None
    return None


def _collect_quietly() -> None:
    """Whoosh leaves a damaged index's files open when it fails to read them: close them, without warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def _storage_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def _toc_stamp(directory: Path) -> tuple[int, int, int, int] | None:
    """(generation, inode, mtime, size) of the newest table of contents: it changes with every commit."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return None
    generations = [int(match.group(1)) for match in map(_TOC.match, names) if match]
    if not generations:
        return None
    latest = max(generations)
    try:
        status = os.stat(directory / f"_{INDEX_NAME}_{latest}.toc")
    except FileNotFoundError:
        return None
    return latest, status.st_ino, status.st_mtime_ns, status.st_size


def _segment_files(directory: Path, live: set[str]) -> list[tuple[str, str, os.stat_result]]:
    """(segment id, file name, status) of the files of the live segments, by name."""
    found = []
    for name in sorted(os.listdir(directory)):
        match = _SEGMENT_FILE.match(name)
        if match and match.group(1) in live:
            try:
                found.append((match.group(1), name, os.stat(directory / name)))
            except FileNotFoundError:
                continue
    return found


def _read_checksums(directory: Path) -> dict[str, list[int]]:
    try:
        recorded = json.loads((directory / CHECKSUMS).read_text(encoding="ascii"))
    except (OSError, ValueError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def _crc(path: Path) -> int:
    value = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            value = zlib.crc32(chunk, value)
    return value


def _live_segments(ix: whoosh_index.FileIndex) -> list[Segment]:
    """The segments of the newest table of contents, read without the write lock.

    Whoosh finds the newest table of contents, then opens it: another
    process committing in between deletes it. The newer one is read then.
    """
    for _attempt in range(5):
        try:
            segments: list[Segment] = ix._segments()
            return segments
        except FileNotFoundError:
            continue
    segments = ix._segments()
    return segments


def _remove_stale_staging(directory: Path) -> None:
    """Remove the staging directories of merges whose process was killed."""
    now = time.time()
    for staging in directory.glob(STAGING_PREFIX + "*"):
        try:
            if now - staging.stat().st_mtime > STALE_STAGING_SECONDS:
                shutil.rmtree(staging, ignore_errors=True)
        except FileNotFoundError:
            continue


@contextmanager
def _exclusive_or_skip(lock_path: Path) -> Iterator[bool]:
    """Hold an exclusive lock between processes if nobody holds it: yields whether it is held."""
    with open(lock_path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock between processes (released by the kernel if the process dies)."""
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
