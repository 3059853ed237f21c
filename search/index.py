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
"""

from __future__ import annotations

import fcntl
import gc
import logging
import math
import shutil
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.searching import Searcher
from whoosh.writing import CLEAR, LockError

from .analysis import french_stems, iter_tokens
from .docsets import View
from .query import parse_query, rebuild
from .schema import META_PATH, TITLE_BOOST, Document, build_schema
from .segments import SegmentCache
from .snippets import snippet

log = logging.getLogger(__name__)

MAX_LIMIT = 100
BOOSTS = {"title": TITLE_BOOST, "title_en": TITLE_BOOST}
WRITER_TIMEOUT = 60.0
UPDATE_MEMORY_MB = 32
MERGE_FACTOR = 4
# Saves merge only segments of fewer than 4**3 = 64 documents (at most ~0.3 s of
# work); bigger merges are left to ``maintain()`` (a background thread of each
# server process), unless segments pile up past MAX_SEGMENTS.
SAVE_MERGE_TIERS = 3
MAX_SEGMENTS = 15
VALVE_MERGE_DOCS = 1024
MAINTAIN_ABOVE = 6
MAINTENANCE_MERGE_DOCS = 4096
# A rebuild without this much memory per process spills its postings to disk
# and runs several times slower (measured: 10,000 pages, 69 s at 512 MB).
REBUILD_MEMORY_MB = 1024


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
        return (self.commit == indexed and not self.rebuild and not self.deletes
                and isinstance(self.upserts, list) and not self.upserts)


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


class IndexBusy(Exception):
    """Another process held the index for too long; the update will be caught up later."""


class SearchIndex:
    """One index directory, used by one process (any number of threads)."""

    def __init__(self, directory: str | Path, *, writer_timeout: float = WRITER_TIMEOUT) -> None:
        self.directory = Path(directory)
        self.writer_timeout = writer_timeout
        self._lock = threading.Lock()
        self._ix: whoosh_index.FileIndex | None = None
        self._local = threading.local()
        self._searchers: list[Searcher] = []
        self._segments = SegmentCache()
        self._current_view: View | None = None

    # -- opening -----------------------------------------------------------

    def _index(self) -> whoosh_index.FileIndex:
        with self._lock:
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
            ix = whoosh_index.open_dir(str(self.directory))
            with ix.searcher() as searcher:
                searcher.doc_count()
        except Exception as error:  # noqa: BLE001 - whatever is broken, the index is rebuilt from git
            log.warning("search index unreadable (%s); rebuilding it", type(error).__name__)
            return None
        if set(ix.schema.names()) != set(build_schema().names()):
            log.warning("search index schema changed; rebuilding it")
            return None
        return ix

    def _recreate(self) -> whoosh_index.FileIndex:
        for child in self.directory.iterdir():
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
        return whoosh_index.create_in(str(self.directory), build_schema())

    def close(self) -> None:
        with self._lock:
            for searcher in self._searchers:
                searcher.close()
            self._searchers.clear()
            self._local = threading.local()
            self._ix = None
            self._current_view = None

    def _searcher(self) -> Searcher:
        """This thread's searcher, opened again whenever a newer generation is committed.

        Not ``Searcher.refresh()``: it reuses the readers of segments whose
        id did not change, deletions included, so an updated page's old
        version would still be found.
        """
        searcher = getattr(self._local, "searcher", None)
        if searcher is not None and searcher.up_to_date():
            return searcher
        fresh = self._index().searcher()
        with self._lock:
            if searcher is not None:
                searcher.close()
                self._searchers.remove(searcher)
            self._searchers.append(fresh)
        self._local.searcher = fresh
        return fresh

    # -- state -------------------------------------------------------------

    def indexed_commit(self) -> str | None:
        """The commit the index reflects (None: empty or never filled)."""
        return _meta_commit(self._searcher())

    def segment_count(self) -> int:
        return len(self._index()._segments())

    def document_paths(self) -> dict[str, str]:
        """Every indexed path with its kind (the meta document left out)."""
        searcher = self._searcher()
        return {
            fields["path"]: fields["kind"]
            for fields in searcher.all_stored_fields()
            if fields.get("path") != META_PATH
        }

    # -- writing -----------------------------------------------------------

    def update(self, planner: Planner, *, procs: int = 1) -> Plan:
        """Apply what ``planner`` decides, given the commit the index reflects now.

        ``procs`` > 1 spreads a full rebuild over that many processes (each
        writing its own segment); only callers that may fork should ask.
        """
        ix = self._index()
        writer = self._writer(ix, limitmb=UPDATE_MEMORY_MB)
        try:
            # The writer's own reader (not closed here: the writer keeps using it).
            last = _meta_commit(writer.searcher())
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
                    writer = self._writer(ix, procs=procs, multisegment=True, limitmb=REBUILD_MEMORY_MB // procs)
                else:
                    writer = self._writer(ix, limitmb=REBUILD_MEMORY_MB)
                for document in plan.upserts:
                    writer.add_document(**document.fields())
            else:
                for path in plan.deletes:
                    writer.delete_by_term("path", path)
                for document in plan.upserts:
                    writer.update_document(**document.fields())
            writer.update_document(path=META_PATH, kind="meta", commit=plan.commit or "")
            if plan.rebuild:
                writer.commit(mergetype=CLEAR)
            elif len(writer.segments) >= MAX_SEGMENTS:
                writer.commit(mergetype=tiered_merge(max_docs=VALVE_MERGE_DOCS))  # rare: maintenance fell behind
            else:
                writer.commit(mergetype=tiered_merge(SAVE_MERGE_TIERS))
        except BaseException:
            if writer is not None and not writer.is_closed:
                writer.cancel()
            raise
        return plan

    def _writer(self, ix: whoosh_index.FileIndex, **options):  # type: ignore[no-untyped-def]
        try:
            return ix.writer(timeout=self.writer_timeout, **options)
        except LockError:
            raise IndexBusy(str(self.directory)) from None

    def maintain(self) -> bool:
        """Merge big segments if there are many, unless a writer is busy; True if it merged.

        Servers call this from a background thread, so that large merges
        happen between requests rather than during somebody's save.
        """
        ix = self._index()
        if len(ix._segments()) <= MAINTAIN_ABOVE:
            return False
        try:
            writer = ix.writer(timeout=0.0, limitmb=UPDATE_MEMORY_MB)
        except LockError:
            return False
        try:
            writer.commit(mergetype=tiered_merge(max_docs=MAINTENANCE_MERGE_DOCS))
        except BaseException:
            if not writer.is_closed:
                writer.cancel()
            raise
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
    ) -> SearchResults:
        """Run what a visitor typed; malformed input is read as plain words, never an error.

        The set of matching pages (hence the total and the facets) is exact,
        computed with bitmaps; ranking is BM25 over that set (see ``docsets``).
        """
        limit = max(1, min(MAX_LIMIT, int(limit)))
        offset = max(0, int(offset))
        parsed = parse_query(text)
        results = SearchResults(text, 0, [], offset, limit)
        if parsed.query is None:
            return results
        searcher = self._searcher()
        reader = searcher.reader()
        view = self._view(reader)
        matching = view.evaluate(reader, parsed.query)
        results.total = matching.bit_count()
        if results.total and offset < results.total:
            if order == "date" or parsed.scoring is None:
                best = view.by_number(reader, "updated", matching, offset + limit)
            else:
                best = view.rank(reader, parsed.scoring, matching, offset + limit, BOOSTS)
            for scored in best[offset:]:
                fields = searcher.stored_fields(scored.docnum)
                results.hits.append(Hit(
                    path=fields["path"],
                    title=fields.get("title_text", ""),
                    kind=fields.get("kind", "page"),
                    page=fields.get("page", ""),
                    snippet=snippet(fields.get("text", ""), parsed.highlight, parsed.prefixes),
                    score=round(scored.score, 4),
                    updated=int(fields.get("updated", 0) or 0),
                    tags=[tag for tag in (fields.get("tags") or "").split(",") if tag],
                ))
        if results.total and facets:
            results.facets = self._facets(reader, view, matching)
        if not results.total and suggest and parsed.words:
            results.suggestion = self._suggest(searcher, parsed)
        return results

    def _view(self, reader) -> View:  # type: ignore[no-untyped-def]
        """The matching and ranking view of this generation (made once per generation)."""
        with self._lock:
            current = self._current_view
            if current is None or current.generation != reader.generation():
                current = View(reader, self._segments)
                current.exclude(current.term(reader, "kind", "meta"))
                self._current_view = current
        return current

    def _facets(self, reader, view: View, matching: int) -> dict[str, list[tuple[str, int]]]:  # type: ignore[no-untyped-def]
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

    def _suggest(self, searcher: Searcher, parsed) -> str | None:  # type: ignore[no-untyped-def]
        """A corrected query when some words are unknown: the nearest stems, spelt as the wiki spells them.

        Corrections are looked up among the indexed stems (no separate
        spelling field to build) and then shown as the word a page actually
        uses, found in the text of a page that has the stem.
        """
        replacements: dict[str, str] = {}
        for word in parsed.words:
            stems = french_stems(word.lower())
            if not stems or len(word) < 3 or any(searcher.doc_frequency("body", stem) for stem in stems):
                continue
            for distance in (1, 2):
                found = _nearest_term(searcher, "body", stems[0], distance)
                if found:
                    spelt = _spelling_of(searcher, found)
                    if spelt:
                        replacements[word] = spelt
                    break
        if not replacements:
            return None
        suggestion = rebuild(parsed.parts, replacements)
        corrected = parse_query(suggestion).query
        reader = searcher.reader()
        if corrected is None or not self._view(reader).evaluate(reader, corrected):
            return None
        return suggestion


def _nearest_term(searcher: Searcher, fieldname: str, text: str, distance: int) -> str | None:
    """The most frequent indexed term within ``distance`` edits of ``text``.

    Each segment is asked with its own Levenshtein automaton; Whoosh's
    multi-segment reader would instead compare the word with every term.
    """
    candidates: set[str] = set()
    for segment, _offset in searcher.reader().leaf_readers():
        for term in segment.terms_within(fieldname, text, distance):
            candidates.add(term.decode("utf-8") if isinstance(term, bytes) else term)
    candidates.discard(text)
    if not candidates:
        return None
    return max(sorted(candidates), key=lambda term: searcher.doc_frequency(fieldname, term))


def _spelling_of(searcher: Searcher, stem: str) -> str | None:
    """How a page writes a word with this stem (accents and all)."""
    for docnum in searcher.postings("body", stem).all_ids():
        text = searcher.stored_fields(docnum).get("text", "")
        for start, end, stems, _folded in iter_tokens(text):
            if stem in stems:
                return text[start:end].lower()
        break
    return None


def tiered_merge(max_tier: int | None = None, max_docs: int | None = None):  # type: ignore[no-untyped-def]
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

    def policy(writer, segments):  # type: ignore[no-untyped-def]
        from whoosh.reading import SegmentReader

        tiers: dict[int, list] = {}
        for segment in segments:
            live = segment.doc_count()
            if live == 0:
                continue  # nothing left in it: dropped
            tiers.setdefault(int(math.log(live, MERGE_FACTOR)), []).append(segment)
        unchanged = []
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


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock between processes (released by the kernel if the process dies)."""
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _meta_commit(searcher: Searcher) -> str | None:
    fields = searcher.document(path=META_PATH)
    return (fields or {}).get("commit") or None
