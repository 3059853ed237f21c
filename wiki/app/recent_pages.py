"""The pages each account read last, so that a person finds again what they were reading.

Kept in a table of ``trousse.sqlite`` beside the accounts (per account, never
for anonymous visitors), at most ``RECENT_PAGES_KEPT`` rows per account: each
view replaces that page's row, and the oldest rows past the bound go in the
same statement. A moved page keeps its place in the list (``on_written``).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from repo_store.sqlite_files import ThreadConnections

from .writes import Written

RECENT_PAGES_KEPT = 10

_SCHEMA = """
CREATE TABLE IF NOT EXISTS recent_pages (
    user_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    viewed REAL NOT NULL,
    PRIMARY KEY (user_id, path)
);
"""


class RecentPages:
    """Record, list and clear the pages an account viewed; one connection per thread, like ``Accounts``."""

    def __init__(self, database: Path, kept: int = RECENT_PAGES_KEPT) -> None:
        self.path = database
        self.kept = kept
        self._connections = ThreadConnections(database)
        self._db().executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        return self._connections.get()

    def close(self) -> None:
        self._connections.close()

    def record(self, user_id: int, path: str) -> None:
        """``path`` is the page ``user_id`` read last; the account keeps its ``kept`` latest pages."""
        db = self._db()
        latest = db.execute(
            "SELECT path FROM recent_pages WHERE user_id = ? ORDER BY viewed DESC, rowid DESC LIMIT 1", (user_id,)
        ).fetchone()
        if latest is not None and latest[0] == path:
            return  # reading the same page again changes nothing: no write
        with db:
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT INTO recent_pages (user_id, path, viewed) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id, path) DO UPDATE SET viewed = excluded.viewed",
                (user_id, path, time.time()),
            )
            db.execute(
                "DELETE FROM recent_pages WHERE user_id = ? AND path NOT IN "
                "(SELECT path FROM recent_pages WHERE user_id = ? ORDER BY viewed DESC, rowid DESC LIMIT ?)",
                (user_id, user_id, self.kept),
            )

    def paths(self, user_id: int) -> list[str]:
        """The pages the account read, latest first."""
        rows = self._db().execute(
            "SELECT path FROM recent_pages WHERE user_id = ? ORDER BY viewed DESC, rowid DESC LIMIT ?", (user_id, self.kept)
        )
        return [row[0] for row in rows]

    def clear(self, user_id: int) -> None:
        self._db().execute("DELETE FROM recent_pages WHERE user_id = ?", (user_id,))

    def on_written(self, event: Written) -> None:
        """A page or folder moved: its rows follow it, so the list still leads to the pages read."""
        if event.action != "move" or len(event.paths) != 2:
            return
        old, new = event.paths
        db = self._db()
        with db:
            db.execute("BEGIN IMMEDIATE")
            # OR IGNORE: an account that had read both the old and the new address keeps one row.
            db.execute("UPDATE OR IGNORE recent_pages SET path = ? WHERE path = ?", (new, old))
            prefix = old.rstrip("/") + "/"
            db.execute(
                "UPDATE OR IGNORE recent_pages SET path = ? || substr(path, ?) WHERE substr(path, 1, ?) = ?",
                (new.rstrip("/") + "/", len(prefix) + 1, len(prefix), prefix),
            )
            db.execute("DELETE FROM recent_pages WHERE path = ? OR substr(path, 1, ?) = ?", (old, len(prefix), prefix))
