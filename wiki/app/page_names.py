"""How pages and files are named, for the HTTP layer: the store's naming rules, reached through the application.

The views check the addresses they are given with these before asking
anything (a hostile path never reaches git), and build addresses with them;
the rules themselves live with the store, which enforces them on every write.
"""

from __future__ import annotations

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
    "check_path",
    "check_revision",
    "is_slug_path",
    "page_file",
    "page_path_of",
    "slugify",
]
