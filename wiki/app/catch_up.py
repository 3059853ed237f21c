"""Catching up with ``main`` outside requests, and saying how far the derived state lags it.

Requests bring the catalog and the search index up to ``main`` themselves only
when that is quick (see ``Wiki.sync``); a long catch-up — another process
pushed thousands of commits, or another thread is in the middle of one — is
handed to a thread of its own, and ``/healthz`` says meanwhile whether search
is ready, catching up, or behind.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from repo_store import InvalidRevision, PageStore
from repo_store.gitcmd import GitError, run_git
from repo_store.paths import check_revision

log = logging.getLogger(__name__)

# A request applies at most this many new commits of main itself; more are the catch-up thread's job.
REQUEST_SYNC_COMMITS = 300
# The search index lagging main this long with no catch-up under way is "behind", not "catching up".
BEHIND_AFTER_SECONDS = 120.0


def commits_behind(store: PageStore, since: str | None, head: str | None) -> int:
    """How many commits of ``head`` a state reflecting ``since`` lacks (all of them if ``since`` is not an ancestor).

    A rewritten history makes the catalog start over, so its cost is the whole
    history, not the few commits the two sides differ by.
    """
    if head is None or since == head:
        return 0
    check_revision(head, full=True)  # both come from git or the catalog; checked anyway, they reach git's arguments
    if since is not None:
        try:
            check_revision(since, full=True)
            counts = run_git(store.git_dir, "rev-list", "--count", "--left-right", f"{since}...{head}", "--").stdout.split()
            if len(counts) == 2 and counts[0] == b"0":
                return int(counts[1])
        except (GitError, InvalidRevision, ValueError) as error:  # unknown to git (lost objects): the catalog starts over too
            log.info("cannot compare %s with main (%s); counting the whole history", since, error)
    return int(run_git(store.git_dir, "rev-list", "--count", head, "--").stdout.strip() or 0)


class CatchUp:
    """One thread per process that brings the derived state up to ``main`` when a request left it behind.

    Started on first use, so commands and tests that never defer a catch-up
    run no thread; it keeps one catalog connection for its whole life.
    """

    def __init__(self, sync: Callable[[], object], stopping: threading.Event) -> None:
        self._sync = sync
        self._stopping = stopping
        self._wanted = threading.Event()
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None
        self._busy = False

    @property
    def busy(self) -> bool:
        """True from a request for a catch-up until the thread has done it."""
        return self._busy

    def request(self) -> None:
        with self._guard:
            if self._stopping.is_set():
                return
            self._busy = True
            self._wanted.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="trousse-catch-up", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            if not self._wanted.wait(1.0):
                continue
            self._wanted.clear()
            if self._stopping.is_set():
                break
            started = time.monotonic()
            try:
                self._sync()
            except sqlite3.OperationalError as error:  # another process holds the catalog for its own long catch-up
                log.info("catching up with main must wait for another process: %s", error)
            except Exception:  # noqa: BLE001 - the next request or catch-up tries again; the server goes on
                log.exception("catching up with main failed")
            else:
                log.info("caught up with main in the background in %.1f s", time.monotonic() - started)
            finally:
                with self._guard:
                    self._busy = self._wanted.is_set()


@dataclass
class LagWatch:
    """Since when the search index has reflected the same commit while ``main`` was ahead (progress or not)."""

    commit: str | None = None
    since: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def lagging_for(self, indexed: str | None) -> float:
        """Seconds the index has been behind at ``indexed``; a new ``indexed`` commit starts the clock again."""
        now = time.monotonic()
        with self._lock:
            if indexed != self.commit or not self.since:
                self.commit, self.since = indexed, now
            return now - self.since

    def caught_up(self) -> None:
        with self._lock:
            self.commit, self.since = None, 0.0


@dataclass(frozen=True)
class Health:
    """What ``/healthz`` says: status words for everyone, commit ids and counts for accounts."""

    status: str  # ok | degraded | unavailable
    search: str  # ready | catching_up | behind | unavailable
    indexed: bool
    revision: str | None
    behind_by: int | None
    skipped: list[tuple[str, str]]

    @property
    def readable(self) -> bool:
        return self.status != "unavailable"
