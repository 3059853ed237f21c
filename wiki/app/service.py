"""The wiki's use cases, wiring the page store to its derived indexes and renders.

Views and the API call this, never the stores directly for writes: a write is
a commit, then the catalog (and the search index) catch up from that commit
before the request returns, so what a user just saved is what everyone sees.
"""

from __future__ import annotations

import functools
import logging
import posixpath
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import cachetools

from repo_store import (
    CommitRecord,
    Identity,
    PageNotFound,
    PageStore,
    StoreError,
)
from repo_store.catalog import Catalog, PageRecord, SyncReport
from repo_store.errors import is_storage_full
from repo_store.gitcmd import GitError
from repo_store.history import Blame, History, RemovedFile
from repo_store.linkgraph import LinkGraph
from repo_store.links import Link
from repo_store.pages import page_tags
from repo_store.paths import check_path, page_file, slugify
from search import IndexBusy, IndexUnavailable, SearchIndex, SearchResults
from search.extractions import ExtractionCache

from ..accounts.store import User
from ..render.render_cache import HtmlCache, RenderCache
from ..render.rendering import LinkTarget, RenderBudget, Rendered, render
from .attachments import Attachment, mimetype_of
from .catch_up import BEHIND_AFTER_SECONDS, REQUEST_SYNC_COMMITS, CatchUp, Health, LagWatch, commits_behind
from .datadir import DataDir
from .discussions import discussion_page_of
from .errors import SearchUnavailable
from .licences import Licence, find_licence
from .search_sync import REQUEST_WAIT_SECONDS, SearchUpdater
from .writes import Writes

SyncListener = Callable[[SyncReport], None]
MAINTENANCE_SECONDS = 20.0
# How long a request waits for another thread's catch-up before answering without it.
REQUEST_SYNC_SECONDS = REQUEST_WAIT_SECONDS
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PageView:
    """Everything a page view shows."""

    path: str
    title: str
    rendered: Rendered
    record: PageRecord | None
    revision: str
    licence: Licence | None
    tags: list[str]
    markdown_blob: str
    old: bool = False


class LockedLRU:
    """A least-recently-used cache (cachetools) shared by a process's request threads."""

    def __init__(self, maxsize: int, getsizeof: Callable[[Any], int] | None = None) -> None:
        self._cache: cachetools.LRUCache[Any, Any] = cachetools.LRUCache(maxsize=maxsize, getsizeof=getsizeof)
        self._lock = threading.Lock()

    def get_item(self, key: Hashable) -> Any:
        with self._lock:
            return self._cache.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            try:
                self._cache[key] = value
            except ValueError:  # larger than the whole cache: not kept
                pass


# Blames are weighed by their text: a megabyte of short lines must not fill a worker's memory.
BLAME_CACHE_CHARS = 16_000_000


class Wiki:
    """One wiki: its store, its catalog, its caches, its settings."""

    def __init__(self, data: DataDir, settings: dict[str, dict[str, Any]]) -> None:
        self.data = data
        self.settings = settings
        self.store = PageStore(data.repository, fsync=settings["storage"]["fsync"], timezone=settings["site"]["timezone"])
        self.catalog = Catalog(data.catalog, self.store)
        self.search = SearchIndex(data.search_index)
        limits = settings["limits"]
        # The text read from attached documents, by blob; as disposable as the index beside it.
        self.extractions = ExtractionCache(
            data.index / "extractions.sqlite",
            budget=f"{limits['max_attachment_text_bytes']}/{float(limits['extraction_seconds']):g}",
        )
        self.search_updater = SearchUpdater(
            self.search,
            self.store,
            self.catalog,
            settings["site"]["default_licence"],
            extractions=self.extractions,
            limits=limits,
        )
        self._wake = threading.Event()
        self._maintaining = False
        self._maintenance: threading.Thread | None = None
        self.search_updater.gave_up = self._wake.set
        self.search_updater.extraction_wanted = self._wake.set
        self.history = History(self.catalog, self.store)
        self.links = LinkGraph(self.catalog, self.history)
        self.listeners: list[SyncListener] = [self.search_updater]
        self._stopping = threading.Event()
        self._sync_lock = threading.Lock()
        self._synced_head: str | None = None
        self._catch_up = CatchUp(self.sync, self._stopping)
        self._lag_watch = LagWatch()
        self.generation = 0
        self._renders = RenderCache()
        self._authors = LockedLRU(4096)
        self._blames = LockedLRU(BLAME_CACHE_CHARS, getsizeof=lambda blame: blame.weight())
        # Whole pages as anonymous visitors see them, kept by the views.
        self.page_html = HtmlCache()
        # Every change goes through this one service.
        self.writes = Writes(self)

    def start_maintenance(self, interval: float = MAINTENANCE_SECONDS) -> None:
        """Merge search segments and read attached documents in the background, between requests (server processes only).

        A round also runs as soon as the search index needs it (an update gave
        up on it, it was lost or damaged and must be refilled from git, or a
        new attached document waits to be read), at most one round a second.
        """

        def loop() -> None:
            while not self._stopping.is_set():
                self._wake.wait(interval)
                self._wake.clear()
                if self._stopping.is_set():
                    break
                try:
                    self.maintain()
                except Exception:  # noqa: BLE001 - maintenance must never take the server down
                    log.exception("search index maintenance failed")
                self._stopping.wait(1.0)

        self._maintaining = True
        self.search_updater.refill_in_requests = False
        self.search_updater.extract_inline = False
        self._maintenance = threading.Thread(target=loop, name="trousse-maintenance", daemon=True)
        self._maintenance.start()

    def maintain(self) -> None:
        """One round of upkeep: check the search index's files, catch it up or refill it, read new documents, merge."""
        self.search.verify()
        # Not under the sync lock: a refill takes as long as indexing every page, and
        # requests must not wait for it (the index's own write lock keeps writers in turn).
        self.search_updater.catch_up()
        # Nor is reading attached documents: each takes up to limits.extraction_seconds, in a child process.
        self.search_updater.read_waiting(stopping=self._stopping.is_set)
        try:
            self.search.maintain()
        except (IndexUnavailable, IndexBusy):
            self._wake.set()

    def close(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._maintenance is not None and self._maintenance is not threading.current_thread():
            # At most one document is being read, within its time budget: let it finish before closing.
            self._maintenance.join(timeout=float(self.settings["limits"]["extraction_seconds"]) + 5)
        self.search.close()
        self.extractions.close()
        self.catalog.close()
        self.store.close()

    # -- keeping derived state in step with git ----------------------------

    @property
    def synced_head(self) -> str | None:
        """The commit every derived index and cache of this process reflects."""
        return self._synced_head

    def sync(self, known: list[CommitRecord] | None = None, *, bounded: bool = False) -> SyncReport | None:
        """Catch up with ``main`` if it moved (another process, a push, a shell).

        Also notices when the catalog's file was deleted (``index/`` is
        disposable) or rebuilt by another process, and reopens it. On a full
        disk the derived state stays behind (None is returned) and catches up
        at a later request: what is in git is saved whatever happens here.

        ``bounded`` is the catch-up before every request: it waits at most
        ``REQUEST_SYNC_SECONDS`` for another thread's catch-up, and leaves one
        of more than ``REQUEST_SYNC_COMMITS`` commits to the catch-up thread,
        so that a long history pushed elsewhere never holds up every request.
        Such a request answers from the derived state as it is: pages are read
        through the catalog from git, so at worst as of the last catch-up. A
        write's own sync and a push's are not bounded: they return once their
        change is searchable.
        """
        wait = REQUEST_SYNC_SECONDS if bounded else -1
        try:
            if self.catalog.replaced():
                if not self._sync_lock.acquire(timeout=wait):
                    self._catch_up.request()
                    return None
                try:
                    if self.catalog.replaced():
                        log.warning("the catalog %s was deleted or replaced; reopening it", self.data.catalog)
                        self.catalog.reopen()
                        self._synced_head = None
                        known = None
                finally:
                    self._sync_lock.release()
            head = self.store.head()
            if head == self._synced_head and not known:
                return None
            if bounded and (self._catch_up.busy or self._far_behind(head)):
                self._catch_up.request()
                return None
            if not self._sync_lock.acquire(timeout=wait):
                self._catch_up.request()
                return None
            try:
                report = self.catalog.sync(known or ())
                for listener in self.listeners:
                    listener(report)
                self._synced_head = report.new_head
                _, self.generation = self.catalog.state()
            finally:
                self._sync_lock.release()
            return report
        except (OSError, sqlite3.OperationalError) as error:
            if not is_storage_full(error):
                raise
            log.warning("disk full: the catalog and the search index will catch up with main once there is room")
            return None

    def _far_behind(self, head: str | None) -> bool:
        """True when the catalog or the search index lacks more commits of ``main`` than a request should apply."""
        behind = commits_behind(self.store, self.catalog.indexed_head(), head)
        try:
            searched = self.search.indexed_commit()
        except (IndexUnavailable, IndexBusy):
            searched = None  # its update leaves a refill to maintenance: no cost to the request
        if searched is not None and behind <= REQUEST_SYNC_COMMITS:
            behind = max(behind, commits_behind(self.store, searched, head))
        if behind > REQUEST_SYNC_COMMITS:
            log.info("main is %d commits ahead of the derived state: catching up in the background", behind)
            return True
        return False

    def health(self) -> Health:
        """Whether pages can be read, and how far search lags ``main``: what ``/healthz`` reports.

        Search is ``catching_up`` while a catch-up is under way or the lag is
        small and recent, ``behind`` when it lags with no progress (more than
        ``REQUEST_SYNC_COMMITS`` commits, or for ``BEHIND_AFTER_SECONDS``).
        Files whose text could not be read are listed (to accounts) and make
        the wiki ``degraded``, not unavailable: their pages still read.
        """
        try:
            head = self.store.head()
            if head is not None:
                self.store.commit_info(head)
            catalog_head = self.catalog.indexed_head()
        except (StoreError, GitError, OSError, sqlite3.Error, ValueError):
            log.warning("health check: the repository or the catalog cannot be read", exc_info=True)
            return Health("unavailable", "unavailable", False, None, None, [])
        readable = head is not None and catalog_head is not None
        ready = self.search_ready()
        indexed_commit: str | None = None
        behind_by: int | None = None
        if ready:
            try:
                indexed_commit = self.search.indexed_commit()
                behind_by = commits_behind(self.store, indexed_commit, head)
            except (IndexUnavailable, IndexBusy):
                ready = False
            except GitError:
                log.warning("health check: cannot count the commits search lags main", exc_info=True)
        if not ready:
            search = "unavailable"
        elif behind_by == 0:
            search = "ready"
            self._lag_watch.caught_up()
        elif (
            self._catch_up.busy
            or self._sync_lock.locked()
            or (
                behind_by is not None
                and behind_by <= REQUEST_SYNC_COMMITS
                and self._lag_watch.lagging_for(indexed_commit) < BEHIND_AFTER_SECONDS
            )
        ):
            search = "catching_up"
        else:
            search = "behind"
        # Attachments whose text could not be extracted within budget (kept, but not searchable by their text).
        skipped = list(getattr(self.search_updater, "unreadable_files", list)())
        if not readable:
            status = "unavailable"
        elif search in ("ready", "catching_up") and not skipped:
            status = "ok"
        else:
            status = "degraded"
        indexed = readable and catalog_head == head and behind_by == 0
        return Health(status, search, indexed, head, behind_by, skipped)

    def rebuild_indexes(self, *, history: bool = False) -> SyncReport:
        """Rebuild the search index from ``main`` (and the history catalog too, if asked)."""
        with self._sync_lock:
            report = self.catalog.rebuild() if history else self.catalog.sync()
            self.search_updater.rebuild()
            self._synced_head = report.new_head
            _, self.generation = self.catalog.state()
        return report

    # -- searching ---------------------------------------------------------

    def search_pages(self, text: str, **options: Any) -> SearchResults:
        """Search the index; ``SearchUnavailable`` while it is being refilled from git after a loss.

        Server processes refill it in the background and ask the visitor to
        come back; anywhere else (commands, tests) it is refilled here.
        """
        for _attempt in range(2):
            if self.search_ready():
                try:
                    return self.search.search(text, **options)
                except (IndexUnavailable, IndexBusy):
                    self._wake.set()
            if self._maintaining:
                break
            with self._sync_lock:
                self.search_updater.catch_up()
        raise SearchUnavailable(str(self.data.search_index))

    def search_ready(self) -> bool:
        """True when the search index can answer: it exists, reads, and was filled from git."""
        try:
            ready = self.search.is_filled()
        except (IndexUnavailable, IndexBusy):
            ready = False
        if not ready:
            self._wake.set()
        return ready

    # -- reading -----------------------------------------------------------

    def page(self, path: str) -> PageRecord | None:
        return self.catalog.page(check_path(path))

    def existing_page(self, path: str) -> PageRecord:
        """The current page at ``path``, or PageNotFound (the 404 the views want)."""
        record = self.page(path)
        if record is None:
            raise PageNotFound(path)
        return record

    def view(self, path: str, revision: str | None = None) -> PageView:
        """The rendered page, current or as it was at ``revision``."""
        path = check_path(path)
        if revision:
            blob = self.store.read_page(path, revision)
            rendered = self._render(path, blob.blob, lambda: blob.markdown)
            meta = rendered.meta
            return PageView(
                path,
                rendered.title,
                rendered,
                self.catalog.page(path),
                blob.commit,
                self.licence_of(meta),
                page_tags(meta),
                blob.blob,
                old=True,
            )
        record = self.catalog.page(path)
        if record is None:
            raise PageNotFound(path)
        rendered = self._render(path, record.blob, lambda: self.store.blob(record.blob).decode("utf-8", "replace"))
        return PageView(
            path,
            record.title,
            rendered,
            record,
            record.revision,
            self.licence_of(record.meta),
            record.tags,
            record.blob,
        )

    def licence_of(self, meta: dict[str, Any]) -> Licence | None:
        return find_licence(meta.get("licence")) or find_licence(self.settings["site"]["default_licence"])

    def authors(self, path: str) -> list[str]:
        record = self.catalog.page(path)
        key = (path, record.revision if record else None)
        cached = self._authors.get_item(key)
        if cached is None:
            cached = self.catalog.authors(page_file(path))
            self._authors.put(key, cached)
        return cached

    def _render(self, path: str, blob: str, text: Callable[[], str]) -> Rendered:
        """Rendered once per revision of the text (see ``RenderCache``), within the render budget."""
        resolve = functools.partial(self.resolve_link, from_page=path)
        return self._renders.get(blob, path, self.generation, resolve, lambda: self.preview(path, text()))

    def preview(self, path: str, markdown: str, pending: Mapping[str, str] | None = None) -> Rendered:
        """The text as saving would show it; ``pending`` maps documents not attached yet to where they are shown."""
        return render(
            markdown,
            path=path,
            resolve_link=functools.partial(self.resolve_link, from_page=path),
            rewrite_url=relative_url_rewriter(path, pending),
            budget=RenderBudget.from_limits(self.settings["limits"]),
        )

    def resolve_link(self, target: str, from_page: str = "") -> LinkTarget:
        """Where ``[[target]]`` leads: a page by path, by title, by slug, or where it moved; else its creation.

        A link to a page that does not exist offers to create it: ``[[dossier/nom]]``
        opens its editor there; a bare ``[[Nom]]`` opens the new-page form with
        the title filled in and, as folder, the folder of the page that links to
        it (``from_page``), so that the page is made next to where it is needed.
        """
        name, _, anchor = target.partition("#")
        fragment = "#" + slugify(anchor) if anchor.strip() else ""
        link = Link.named(name)
        if link is None:
            return LinkTarget(fragment or "#", True, None)
        page = self.links.resolve(link)
        if page is not None:
            return LinkTarget(page_url(page) + fragment, True, page)
        folder = posixpath.dirname(from_page)
        if link.slug and ("/" in link.slug or not folder):
            query = urllib.parse.urlencode({"title": link.path})
            return LinkTarget(f"/edit/{urllib.parse.quote(link.slug)}?{query}", False, link.slug)
        offer = {"offer": "1", "title": link.path, **({"folder": folder} if folder else {})}
        return LinkTarget("/new?" + urllib.parse.urlencode(offer), False, link.slug or None)

    # -- writing -----------------------------------------------------------

    def identity(self, user: User) -> Identity:
        """The author written into commits: the display name and a no-reply address."""
        if user.publish_email and user.email:
            return Identity(user.display_name, user.email)
        host = urllib.parse.urlsplit(self.settings["site"]["base_url"]).hostname or "localhost"
        return Identity(user.display_name, f"{user.name}@noreply.{host}")

    # -- attachments -------------------------------------------------------

    def attachments(self, page: str) -> list[Attachment]:
        """The documents attached to a page, by name."""
        return [
            Attachment(path, path.rsplit("/", 1)[-1], size, mimetype_of(path))
            for path, _blob, size in self.catalog.files_under(page)
            if discussion_page_of(path) is None  # the page's discussion lives there too, shown on its own page
        ]

    def removed_attachments(self, page: str) -> list[RemovedFile]:
        """Documents removed from a page that can be brought back, last removed first."""
        return [item for item in self.history.removed_files(check_path(page)) if discussion_page_of(item.path) is None]

    # -- reading the past --------------------------------------------------

    def text_at(self, path: str, revision: str) -> tuple[str, str]:
        """(Markdown, full commit id) of a page as it was at ``revision`` (across renames)."""
        commit = self.store.resolve_revision(revision)
        old = self.history.revision(page_file(check_path(path)), commit)
        if old is None or old.blob is None:
            return "", commit
        return self.store.blob(old.blob).decode("utf-8", "replace"), commit

    def diff_range(self, path: str, since: str | None, to: str | None) -> tuple[str | None, str]:
        """Full commit ids (from, to) to compare a page: as given (validated here), else its last change and the one before."""
        file_path = page_file(check_path(path))
        if to:
            to = self.store.resolve_revision(to)
        else:
            latest = self.history.revisions(file_path, limit=1)
            if not latest:
                raise PageNotFound(path)
            to = latest[0].revision
        if since:
            return self.store.resolve_revision(since), to
        newer = self.history.revision(file_path, to)
        older = self.history.revision_before(file_path, newer.seq) if newer else None
        return (older.revision if older else None), to

    def blame(self, path: str) -> Blame:
        record = self.catalog.page(check_path(path))
        if record is None:
            raise PageNotFound(path)
        key = (path, record.revision)
        cached = self._blames.get_item(key)
        if cached is None:
            cached = self.history.blame(page_file(path))
            self._blames.put(key, cached)
        return cached


def relative_url_rewriter(path: str, pending: Mapping[str, str] | None = None) -> Callable[[str, str], str]:
    """Links and images written relative to a page point at its attachments or at pages.

    ``![](plan.png)`` in ``lieux/cafe`` shows ``/files/lieux/cafe/plan.png``;
    ``[statuts](statuts.odt)`` downloads it; ``[voir](../guides/x.md)`` opens
    the page. Absolute URLs and anchors are left as they are.
    """
    folder = path.rsplit("/", 1)[0] if "/" in path else ""

    def rewrite(url: str, kind: str) -> str:
        if not url or url.startswith(("#", "/", "?")) or ":" in url.split("/", 1)[0]:
            return url
        target, hash_mark, fragment = url.partition("#")
        if "/" not in target and "." in target and not target.endswith(".md"):
            if pending and target in pending:  # added in the editor, waiting for the page's first save
                return pending[target] + hash_mark + fragment
            return "/files/" + urllib.parse.quote(f"{path}/{target}") + hash_mark + fragment
        if kind == "link" and target.endswith(".md"):
            joined = posixpath.normpath(posixpath.join(folder, target[:-3]))
            if not joined.startswith(".."):
                return "/wiki/" + urllib.parse.quote(joined) + hash_mark + fragment
        return url

    return rewrite


def page_url(path: str) -> str:
    return "/wiki/" + urllib.parse.quote(path)
