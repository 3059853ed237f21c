"""Domain errors of the page store; the web layer maps each to an HTTP status."""

from __future__ import annotations

import errno


class StoreError(Exception):
    """Base class: anything the store refuses or cannot find."""


class InvalidPath(StoreError):
    """A page or attachment path that must never reach git."""


class InvalidRevision(StoreError):
    """A revision string that is not a full or abbreviated hex commit id."""


class RevisionNotFound(StoreError):
    """A well-formed revision that names no commit of this repository."""


class PageNotFound(StoreError):
    """No page at this path (at this revision)."""

    def __init__(self, path: str, message: str | None = None) -> None:
        super().__init__(message or f"no page at {path!r}")
        self.path = path


class PageExists(StoreError):
    """The target of a create or move already exists."""

    def __init__(self, path: str) -> None:
        super().__init__(f"a page already exists at {path!r}")
        self.path = path


class InvalidContent(StoreError):
    """Page content the store will not commit (not UTF-8, bad front matter, too large)."""


class ContentTooLarge(InvalidContent):
    """A page or file above the configured size limit."""


class Conflict(StoreError):
    """A save that would overwrite somebody else's change.

    Carries everything the user needs to resolve it by hand: the revision and
    text now on ``main``, and the three-way merge with conflict markers.
    """

    def __init__(
        self,
        path: str,
        *,
        current_revision: str | None,
        current_markdown: str,
        conflict_markdown: str,
        reason: str = "conflict",
    ) -> None:
        super().__init__(f"conflicting change to {path!r}")
        self.path = path
        self.current_revision = current_revision
        self.current_markdown = current_markdown
        self.conflict_markdown = conflict_markdown
        self.reason = reason


class RepositoryBusy(StoreError):
    """The branch could not be updated after many attempts (heavy contention)."""


class StorageFull(StoreError):
    """The disk (or the quota) is full: the change was not committed and ``main`` did not move."""


def is_storage_full(error: BaseException) -> bool:
    """True for the errors a full disk or quota causes: ENOSPC, EDQUOT, SQLite's SQLITE_FULL."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    import sqlite3

    return isinstance(error, sqlite3.OperationalError) and getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
