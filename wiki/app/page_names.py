"""How pages and files are named, for the HTTP layer: the store's naming rules, reached through the application.

The views check the addresses they are given with these before asking
anything (a hostile path never reaches git), and build addresses with them;
the rules themselves live with the store, which enforces them on every write.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import Protocol

from repo_store.paths import (
    TEMPLATES_FOLDER,
    check_new_page_path,
    check_path,
    check_revision,
    is_slug_path,
    page_file,
    page_path_of,
    slugify,
)

__all__ = [
    "TEMPLATES_FOLDER",
    "check_new_page_path",
    "folder_path",
    "page_folders",
    "title_path",
    "check_path",
    "check_revision",
    "is_slug_path",
    "page_file",
    "page_path_of",
    "slugify",
]


class _HasPath(Protocol):
    @property
    def path(self) -> str: ...


def page_folders(pages: Iterable[_HasPath]) -> list[str]:
    """Every folder that holds a page, nested ones included (``a``, ``a/b``), sorted: where a new page may go."""
    folders: set[str] = set()
    for page in pages:
        folder = posixpath.dirname(page.path)
        while folder and folder not in folders:
            folders.add(folder)
            folder = posixpath.dirname(folder)
    return sorted(folders)


def folder_path(name: str) -> str:
    """A folder's path from the name a person gives it: ``Élus & mairies/Loyers`` → ``elus-mairies/loyers``."""
    return "/".join(filter(None, (slugify(part) for part in name.split("/"))))


def title_path(title: str, folder: str) -> str:
    """Where a page of this title goes in ``folder`` (``""`` when the title has no letter or digit)."""
    slug = slugify(title)
    if not slug:
        return ""
    return f"{folder}/{slug}" if folder else slug
