"""The domain errors the HTTP layer answers, in one place it may import.

Each error carries its code, status and sentence (see ``repo_store.errors``):
the web layer has one handler for all of them and never reaches into the
stores for their exceptions.
"""

from __future__ import annotations

from collections.abc import Mapping

from repo_store.errors import (
    N_,
    Conflict,
    ContentTooLarge,
    DomainError,
    Gettext,
    InvalidContent,
    InvalidPath,
    InvalidRevision,
    PageExists,
    PageNotFound,
    RepositoryBusy,
    RevisionNotFound,
    StorageFull,
    StoreError,
    is_storage_full,
)
from search import IndexUnavailable

from .attachments import AttachmentRefused
from .content_rules import ContentRejected
from .writes import NothingToRestore

# Seconds a visitor is asked to wait while search is refilled from git.
SEARCH_RETRY_SECONDS = 30


class SearchUnavailable(IndexUnavailable, DomainError):
    """Search is being refilled from git after its index was lost or damaged; pages still read and save."""

    code = "search_unavailable"
    status = 503
    message_key = N_(
        "Search is being rebuilt after a problem with its index; please try again in a minute. "
        "Pages can still be read and edited."
    )

    def headers(self) -> Mapping[str, str]:
        return {"Retry-After": str(SEARCH_RETRY_SECONDS)}


__all__ = [
    "N_",
    "AttachmentRefused",
    "Conflict",
    "ContentRejected",
    "ContentTooLarge",
    "DomainError",
    "Gettext",
    "InvalidContent",
    "InvalidPath",
    "InvalidRevision",
    "NothingToRestore",
    "PageExists",
    "PageNotFound",
    "RepositoryBusy",
    "RevisionNotFound",
    "SearchUnavailable",
    "StorageFull",
    "StoreError",
    "is_storage_full",
]
