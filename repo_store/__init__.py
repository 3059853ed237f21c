"""Trousse's page store: Markdown pages and their files in a bare git repository.

The names below load lazily, so that importing one small module of the
package (paths, pages, the log parser) does not load GitPython: the git hook
starts in the time of a push.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import (
    Conflict,
    ContentTooLarge,
    DomainError,
    InvalidContent,
    InvalidPath,
    InvalidRevision,
    PageExists,
    PageNotFound,
    RepositoryBusy,
    RevisionNotFound,
    StorageFull,
    StoreError,
)

if TYPE_CHECKING:
    from .changes import Change, CommitRecord
    from .store import FileChange, Identity, PageBlob, PageStore, SaveResult

_LAZY = {
    "Change": "changes",
    "CommitRecord": "changes",
    "FileChange": "store",
    "Identity": "store",
    "PageBlob": "store",
    "PageStore": "store",
    "SaveResult": "store",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(name)


__all__ = [
    "Change",
    "CommitRecord",
    "Conflict",
    "ContentTooLarge",
    "DomainError",
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
    "StorageFull",
    "StoreError",
]
