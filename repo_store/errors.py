"""Domain errors: each knows its error code, its status and the sentence that explains it.

A refusal keeps its meaning from the place it is raised to the person who
reads it: ``code`` is the stable word scripts test (``{"error": code}`` in
the API), ``status`` the HTTP status it is answered with (a number: nothing
here imports HTTP), and ``message_key`` the English sentence that is the key
of the translation catalogues, filled with ``message_values()``. One handler
in the web layer turns any ``DomainError`` into a page or a JSON body; the
git hook and the command line explain them with the same sentences.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

Gettext = Callable[..., str]


def N_(text: str) -> str:
    """Marks a sentence for the catalogues (``N_`` is an extraction keyword) without translating it here."""
    return text


class DomainError(Exception):
    """Anything the wiki refuses or cannot find, with what the person needs to know."""

    code: str = "error"
    status: int = 500
    message_key: ClassVar[str] = N_("Something went wrong on our side; nothing was lost.")

    def key(self) -> str:
        """The sentence's catalogue key: ``message_key``, unless the instance chooses among several."""
        return self.message_key

    def message_values(self) -> Mapping[str, object]:
        """The values of the ``%(name)s`` placeholders of ``message_key``."""
        return {}

    def details(self) -> Mapping[str, Any]:
        """More fields for the JSON answer (the current text of a conflicting page…)."""
        return {}

    def headers(self) -> Mapping[str, str]:
        """HTTP headers that go with the answer (``Retry-After``…)."""
        return {}

    def describe(self, gettext: Gettext) -> str:
        """The sentence in the language of ``gettext``."""
        return gettext(self.key(), **self.message_values())


class StoreError(DomainError):
    """Base class: anything the store refuses or cannot find."""


class InvalidPath(StoreError):
    """A page or attachment path that must never reach git; ``reason`` says which rule it breaks."""

    code = "invalid"
    status = 400
    MESSAGES: ClassVar[dict[str, str]] = {
        "empty": N_("The page name is empty."),
        "too_long": N_("The page name is too long."),
        "control": N_("The page name contains invisible control characters."),
        "backslash": N_("The page name contains a backslash."),
        "empty_segment": N_("The page name has an empty part (two slashes in a row)."),
        "dot_segment": N_("The page name cannot contain “.” or “..” parts."),
        "leading_dot": N_("A part of the page name starts with a dot."),
        "leading_dash": N_("A part of the page name starts with a dash."),
        "git_dir": N_("This name is reserved by git."),
        "not_slug": N_("New page names use lowercase letters without accents, digits and dashes, separated by “/”."),
        "bad_attachment": N_("File names use lowercase letters, digits and dashes, with an extension."),
        "windows_reserved": N_(
            "Windows reserves this name (con, prn, aux, nul, com1 to com9, lpt1 to lpt9, "
            "with or without an extension): copies of the wiki could not be opened there. "
            "Choose another name, for example by adding a word."
        ),
        "trailing_dot": N_("A part of the name ends with a dot or a space, which Windows cannot hold: remove that dot or space."),
    }

    def __init__(self, message: str, *, reason: str = "", path: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.path = path

    message_key = N_("This page name is not allowed.")

    def key(self) -> str:
        return self.MESSAGES.get(self.reason, self.message_key)


class InvalidRevision(StoreError):
    """A revision string that is not a full or abbreviated hex commit id."""

    code = "invalid"
    status = 400
    message_key = N_("A revision is a hexadecimal commit id.")


class RevisionNotFound(StoreError):
    """A well-formed revision that names no commit of this repository."""

    code = "not_found"
    status = 404
    message_key = N_("This revision does not exist in the wiki.")


class PageNotFound(StoreError):
    """No page at this path (at this revision)."""

    code = "not_found"
    status = 404
    message_key = N_("There is no page here.")

    def __init__(self, path: str, message: str | None = None) -> None:
        super().__init__(message or f"no page at {path!r}")
        self.path = path


class PageExists(StoreError):
    """The target of a create or move already exists."""

    code = "conflict"
    status = 409
    message_key = N_("A page already exists at this name.")

    def __init__(self, path: str) -> None:
        super().__init__(f"a page already exists at {path!r}")
        self.path = path


class InvalidContent(StoreError):
    """Page content the store will not commit (not UTF-8, bad front matter, too large)."""

    code = "invalid"
    status = 400
    message_key = N_("This file is not UTF-8 text.")


class ContentTooLarge(InvalidContent):
    """A page or file above the configured size limit."""

    code = "too_large"
    status = 413
    message_key = N_("This file is larger than the limit of %(limit)s bytes.")

    def __init__(self, name: str, limit: int = 0) -> None:
        super().__init__(f"{name!r} is larger than {limit} bytes")
        self.name = name
        self.limit = limit

    def message_values(self) -> Mapping[str, object]:
        return {"limit": self.limit}


class Conflict(StoreError):
    """A save that would overwrite somebody else's change.

    Carries everything the user needs to resolve it by hand: the revision and
    text now on ``main``, and the three-way merge with conflict markers.
    """

    code = "conflict"
    status = 409
    message_key = N_("Somebody else changed this page in the meantime, in the same place; nothing was overwritten.")

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

    def details(self) -> Mapping[str, Any]:
        return {
            "current_revision": self.current_revision,
            "current_markdown": self.current_markdown,
            "conflict_markdown": self.conflict_markdown,
        }


class RepositoryBusy(StoreError):
    """The branch could not be updated after many attempts (heavy contention)."""

    code = "busy"
    status = 503
    message_key = N_("The wiki is very busy; please try again in a moment.")


class StorageFull(StoreError):
    """The disk (or the quota) is full: the change was not committed and ``main`` did not move."""

    code = "insufficient_storage"
    status = 507
    message_key = N_(
        "The server's disk is full, so nothing was saved. Keep a copy of your text and try again later; "
        "the wiki's administrators need to free some space."
    )


def is_storage_full(error: BaseException) -> bool:
    """True for the errors a full disk or quota causes: ENOSPC, EDQUOT, SQLite's SQLITE_FULL."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    import sqlite3

    return isinstance(error, sqlite3.OperationalError) and getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
