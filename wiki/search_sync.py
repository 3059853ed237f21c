"""Keeping the search index in step with git: what to index, decided under the index lock.

The plan is made from the commit the index says it reflects up to the current
``main``, with the catalog telling which files changed in between; every
document is read from ``main`` at that moment, never from a request, so
concurrent updates in any order converge on the newest text.
"""

from __future__ import annotations

import errno
import logging
import posixpath
from collections.abc import Callable, Iterator

from repo_store import PageStore
from repo_store.catalog import Catalog, PageRecord, SyncReport
from repo_store.pages import split_front_matter
from repo_store.paths import TEMPLATES_PREFIX, page_path_of
from search import Document, IndexBusy, IndexUnavailable, Plan, SearchIndex
from search.text import INDEXED_SUFFIXES, document_text, markdown_text

log = logging.getLogger(__name__)

# How long a request waits for another process's index update before leaving its own to maintenance.
REQUEST_WAIT_SECONDS = 2.0


class _LeftToMaintenance(Exception):
    """The index must be refilled from git: too long for a request."""


class SearchUpdater:
    """A catalog listener that applies each catch-up to the search index."""

    def __init__(self, index: SearchIndex, store: PageStore, catalog: Catalog, default_licence: str) -> None:
        self.index = index
        self.store = store
        self.catalog = catalog
        self.default_licence = default_licence
        # Processes a full rebuild may use; only commands that may fork raise it.
        self.procs = 1
        # Called when an update gave up: the server's maintenance thread then catches up soon.
        self.gave_up: Callable[[], None] = lambda: None
        # False once a maintenance thread runs: refilling a lost index is then its job, never a request's.
        self.refill_in_requests = True

    def __call__(self, _report: SyncReport) -> None:
        # In a server's request (a save, or the first request after main moved):
        # a short wait for another writer, and never a refill of a lost index,
        # which may take a minute; the maintenance thread does that, between requests.
        if self.refill_in_requests:
            self.update()
            return
        try:
            filled = self.index.is_filled()
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
        try:
            return self.index.update(self._plan if refill else self._plan_without_refill, procs=self.procs,
                                     wait_seconds=wait_seconds)
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
                document = self._file_document(path, self.store.blob(blob))
                if document is not None:
                    yield document

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
        return self._file_document(path, self.store.blob(found[0]))

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
        )

    def _file_document(self, path: str, data: bytes) -> Document | None:
        text = document_text(path, data)
        if text is None:
            return None
        return Document(
            path=path,
            title=posixpath.basename(path),
            text=text,
            kind="file",
            page=posixpath.dirname(path),
        )


def path_key(file_path: str) -> str:
    """The index key of a repository file: pages without ``.md``, files as they are."""
    return page_path_of(file_path) or file_path
