"""Keeping the search index in step with git: what to index, decided under the index lock.

The plan is made from the commit the index says it reflects up to the current
``main``, with the catalog telling which files changed in between; every
document is read from ``main`` at that moment, never from a request, so
concurrent updates in any order converge on the newest text.

The text of attached PDF and OpenDocument files is read once per blob, in a
child process with a time and memory budget (``search.documents.extract``),
and kept in an ``ExtractionCache``. In a server, a request never waits for
it: a file not read yet is indexed by its name, and the maintenance thread
reads it and indexes its text a moment later (``read_waiting``). Commands
and tests, which have no maintenance thread, read it on the spot.
"""

from __future__ import annotations

import errno
import logging
import posixpath
from collections.abc import Callable, Iterator
from typing import Any

from repo_store import PageStore
from repo_store.catalog import Catalog, PageRecord, SyncReport
from repo_store.pages import split_front_matter
from repo_store.paths import TEMPLATES_PREFIX, page_path_of
from search import Document, IndexBusy, IndexUnavailable, Plan, SearchIndex
from search.documents import INDEXED_SUFFIXES, Extraction, document_kind, extract, plain_text
from search.extractions import ExtractionCache, Key
from search.text import link_targets, markdown_text

log = logging.getLogger(__name__)

# How long a request waits for another process's index update before leaving its own to maintenance.
REQUEST_WAIT_SECONDS = 2.0
# Documents read between two index writes by the maintenance thread.
READ_BATCH = 16


class _LeftToMaintenance(Exception):
    """The index must be refilled from git: too long for a request."""


class SearchUpdater:
    """A catalog listener that applies each catch-up to the search index."""

    def __init__(
        self,
        index: SearchIndex,
        store: PageStore,
        catalog: Catalog,
        default_licence: str,
        *,
        extractions: ExtractionCache,
        limits: dict[str, Any],
    ) -> None:
        self.index = index
        self.store = store
        self.catalog = catalog
        self.default_licence = default_licence
        self.extractions = extractions
        self.max_text_bytes = int(limits["max_attachment_text_bytes"])
        self.extraction_seconds = float(limits["extraction_seconds"])
        # False once a maintenance thread runs: attached documents are then read by it, never in a request.
        self.extract_inline = True
        # Called when a document waits to be read: the maintenance thread then reads it soon.
        self.extraction_wanted: Callable[[], None] = lambda: None
        # Processes a full rebuild may use; only commands that may fork raise it.
        self.procs = 1
        # Called when an update gave up: the server's maintenance thread then catches up soon.
        self.gave_up: Callable[[], None] = lambda: None
        # False once a maintenance thread runs: refilling a lost index is then its job, never a request's.
        self.refill_in_requests = True
        # Called when saves left many small index segments: the maintenance thread then merges them soon.
        self.merge_wanted: Callable[[], None] = lambda: self.gave_up()
        index.merge_wanted = lambda: self.merge_wanted()

    def __call__(self, _report: SyncReport) -> None:
        # In a server's request (a save, or the first request after main moved):
        # a short wait for another writer, and never a refill of a lost index,
        # which may take a minute; the maintenance thread does that, between requests.
        if self.refill_in_requests:
            self.update()
            return
        try:
            # Not ``is_filled()``: it opens a searcher on every segment, a cost each save paid.
            filled = self.index.has_segments()
        except (IndexBusy, IndexUnavailable):
            filled = False
        if filled:
            self.update(refill=False, wait_seconds=REQUEST_WAIT_SECONDS)
        else:
            self.gave_up()

    def update(self, *, refill: bool = True, wait_seconds: float | None = None) -> Plan | None:
        """Bring the index to the catalog's commit; None when it could not, and will catch up later.

        The change that called for the update is in git already, so nothing
        here fails it: a busy index, a damaged one (made again empty, then
        refilled), or a full disk only leave the index behind for a while.
        """
        return self._apply(self._plan if refill else self._plan_without_refill, wait_seconds=wait_seconds)

    def _apply(self, planner: Callable[[str | None], Plan], *, wait_seconds: float | None = None) -> Plan | None:
        try:
            return self.index.update(planner, procs=self.procs, wait_seconds=wait_seconds)
        except _LeftToMaintenance:
            log.info("the search index is being refilled from git by the maintenance thread")
        except IndexBusy:
            log.warning("search index busy; it will catch up at the next change or maintenance round")
        except IndexUnavailable:
            log.warning("search index damaged; it is refilled from git at the next maintenance round")
        except OSError as error:
            if error.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            log.warning("disk full: the search index will catch up once there is room")
        self.gave_up()
        return None

    def catch_up(self) -> Plan | None:
        """Update the index if it lags the catalog, or fill it if it was made again empty."""
        try:
            if self.index.is_filled() and self.index.indexed_commit() == self.catalog.indexed_head():
                return None
        except IndexUnavailable:
            pass  # closed: the update below starts it again and fills it
        return self.update()

    def rebuild(self) -> Plan | None:
        try:
            return self.index.update(lambda _last: self._full_plan(self._head()), procs=self.procs)
        except IndexUnavailable:  # found damaged: it is made again at the next use, then filled
            return self.index.update(lambda _last: self._full_plan(self._head()), procs=self.procs)

    def _head(self) -> str | None:
        self.catalog.sync()
        return self.catalog.indexed_head()

    def _plan_without_refill(self, last: str | None) -> Plan:
        plan = self._plan(last)
        if plan.rebuild:
            raise _LeftToMaintenance()
        return plan

    def _plan(self, last: str | None) -> Plan:
        head = self._head()
        if last == head:
            return Plan(head)
        changed = self.catalog.paths_changed_since(last) if last else None
        if changed is None:
            return self._full_plan(head)
        upserts: list[Document] = []
        deletes: list[str] = []
        for path in sorted(changed):
            document = self._document_at_head(path)
            if document is None:
                deletes.append(path_key(path))
            else:
                upserts.append(document)
        return Plan(head, upserts, deletes)

    def _full_plan(self, head: str | None) -> Plan:
        return Plan(head, self._all_documents(), rebuild=True)

    def _all_documents(self) -> Iterator[Document]:
        # Page templates are scaffolding with placeholders, not content: a search never shows them.
        for record in self.catalog.pages(templates=False):
            yield self._page_document(record, self.store.blob(record.blob))
        for path, blob, _size in self.catalog.files():
            if path.lower().endswith(INDEXED_SUFFIXES) and not path.startswith(TEMPLATES_PREFIX):
                yield self._file_document(path, blob)

    def _document_at_head(self, path: str) -> Document | None:
        if path.startswith(TEMPLATES_PREFIX):
            return None
        page = page_path_of(path)
        if page is not None:
            record = self.catalog.page(page)
            if record is None:
                return None
            return self._page_document(record, self.store.blob(record.blob))
        if not path.lower().endswith(INDEXED_SUFFIXES):
            return None
        found = self.catalog.file(path)
        if found is None:
            return None
        return self._file_document(path, found[0])

    def _page_document(self, record: PageRecord, data: bytes) -> Document:
        """A page as the catalog parsed it (title, tags, licence) with its body as plain text."""
        _front, body, _ = split_front_matter(data.decode("utf-8", "replace"))
        meta = record.meta
        language = str(meta.get("lang") or meta.get("language") or "fr").lower()[:2]
        text = markdown_text(body)
        first_line, _, rest = text.partition("\n")
        if first_line.strip() == record.title:
            text = rest  # the title is indexed (and shown) on its own
        return Document(
            path=record.path,
            title=record.title,
            text=text,
            kind="page",
            tags=record.tags,
            licence=record.licence or self.default_licence,
            updated=record.updated,
            language=language,
            meta=meta,
            links=link_targets(body),
        )

    def _file_document(self, path: str, blob: str) -> Document:
        """An attached file: by its name always, by its text once read (a file that has none keeps its name)."""
        return Document(
            path=path,
            title=posixpath.basename(path),
            text=self._file_text(path, blob) or "",
            kind="file",
            page=posixpath.dirname(path),
        )

    def _file_text(self, path: str, blob: str) -> str | None:
        kind = document_kind(path)
        if kind is None:
            return None
        if kind == "text":  # a capped decode, linear: no child process, no cache
            return plain_text(self.store.blob(blob), self.max_text_bytes)
        known = self.extractions.get((blob, kind))
        if known is not None:
            return known.text
        if not self.extract_inline:
            self.extraction_wanted()  # indexed by name now, by text after the maintenance thread read it
            return None
        return self._read(path, (blob, kind), indexed=True).text

    def _read(self, path: str, key: Key, *, indexed: bool) -> Extraction:
        """Read a document in the limited child process and keep the result; a failure is logged here, once."""
        result = extract(path, self.store.blob(key[0]), max_text_bytes=self.max_text_bytes, seconds=self.extraction_seconds)
        self.extractions.put(key, result, indexed=indexed)
        if result.reason is not None:
            log.warning("the text of %s is not searchable (%s); the file is kept and found by its name", path, result.reason)
        return result

    # -- documents read by the maintenance thread ---------------------------

    def read_waiting(self, *, stopping: Callable[[], bool] = lambda: False) -> int:
        """Read the attached documents at ``main`` whose text is not known yet, and index their text.

        The maintenance thread calls this between requests, holding no lock
        a request waits for: each document is read in the limited child
        process, then the index gets the text of every file still holding
        that blob at ``main`` (a file replaced meanwhile is indexed as it is
        now). One process of the wiki reads at a time. Returns how many
        documents were read.
        """
        read = 0
        with self.extractions.turn() as mine:
            if not mine:
                return 0
            tried: set[Key] = set()
            while not stopping():
                at_main, to_read, to_index = self._waiting()
                to_read = {key: paths for key, paths in to_read.items() if key not in tried}
                if not to_read and not to_index:
                    self.extractions.keep_only(set(at_main))
                    break
                batch = dict(to_index)
                for key, paths in to_read.items():
                    if stopping():
                        break
                    tried.add(key)
                    read += 1
                    if self._read(paths[0], key, indexed=False).text is not None:
                        batch[key] = paths
                    if len(batch) >= READ_BATCH:
                        self._index_read(batch)
                        batch = {}
                if batch:
                    self._index_read(batch)
                if to_index and not to_read:
                    break  # the index would not take them: it is tried again next round
        return read

    def _waiting(self) -> tuple[dict[Key, list[str]], dict[Key, list[str]], dict[Key, list[str]]]:
        """(every document at main, those not read yet, those read whose text may be missing from the index)."""
        at_main: dict[Key, list[str]] = {}
        for path, blob, _size in self.catalog.files():
            kind = document_kind(path)
            if kind in ("pdf", "odf") and not path.startswith(TEMPLATES_PREFIX):
                at_main.setdefault((blob, kind), []).append(path)
        done, unindexed = self.extractions.done(), self.extractions.unindexed()
        to_read = {key: paths for key, paths in at_main.items() if key not in done and key not in unindexed}
        to_index = {key: paths for key, paths in at_main.items() if key in unindexed}
        return at_main, to_read, to_index

    def _index_read(self, batch: dict[Key, list[str]]) -> None:
        """Give the index the text just read for these files (with whatever else ``main`` changed meanwhile)."""
        paths = sorted({path for paths in batch.values() for path in paths})

        def planner(last: str | None) -> Plan:
            plan = self._plan(last)
            if plan.rebuild or not isinstance(plan.upserts, list):
                return plan  # everything is indexed again from main, texts included
            planned = {document.path for document in plan.upserts} | set(plan.deletes)
            for path in paths:
                if path_key(path) not in planned:
                    document = self._document_at_head(path)
                    if document is not None:
                        plan.upserts.append(document)
            return plan

        if self._apply(planner) is not None:
            self.extractions.mark_indexed(batch)

    def documents_waiting(self) -> int:
        """How many attached documents at main wait to be read or to have their text indexed."""
        _at_main, to_read, to_index = self._waiting()
        return len(to_read) + len(to_index)

    def unreadable_files(self) -> list[tuple[str, str]]:
        """(path at main, reason) of every attached file whose text could not be read within budget.

        The reason is ``too_slow``, ``too_large`` or ``damaged``; such a file
        is kept and found by its name, not by its text.
        """
        failures = self.extractions.failures()
        if not failures:
            return []
        unreadable = []
        for path, blob, _size in self.catalog.files():
            kind = document_kind(path)
            if kind is not None and (blob, kind) in failures and not path.startswith(TEMPLATES_PREFIX):
                unreadable.append((path, failures[(blob, kind)]))
        return unreadable


def path_key(file_path: str) -> str:
    """The index key of a repository file: pages without ``.md``, files as they are."""
    return page_path_of(file_path) or file_path
