"""Trousse's page store: Markdown pages and their files in a bare git repository."""

from .errors import (
    Conflict,
    ContentTooLarge,
    InvalidContent,
    InvalidPath,
    InvalidRevision,
    PageExists,
    PageNotFound,
    RepositoryBusy,
    RevisionNotFound,
    StoreError,
)
from .store import Change, CommitRecord, FileChange, Identity, PageBlob, PageStore, SaveResult

__all__ = [
    "Change",
    "CommitRecord",
    "Conflict",
    "ContentTooLarge",
    "FileChange",
    "Identity",
    "InvalidContent",
    "InvalidPath",
    "InvalidRevision",
    "PageBlob",
    "PageExists",
    "PageNotFound",
    "PageStore",
    "RepositoryBusy",
    "RevisionNotFound",
    "SaveResult",
    "StoreError",
]
