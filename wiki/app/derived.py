"""Bring the derived state (history catalog, search index) in step with the repository.

The command line runs it before serving and on ``trousse reindex``; the server's
master process runs it before any worker starts.
"""

from __future__ import annotations

import os

from .config import load_settings
from .datadir import DataDir
from .service import Wiki


def build_derived(data: DataDir, *, rebuild: bool = False, history: bool = False) -> None:
    """Bring the catalog and the search index in step with the repository."""
    wiki = Wiki(data, load_settings(data.root))
    wiki.search_updater.procs = max(1, min(4, os.cpu_count() or 1))
    try:
        if rebuild:
            wiki.rebuild_indexes(history=history)
        else:
            wiki.sync()
    finally:
        wiki.close()
