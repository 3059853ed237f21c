"""Drafts: the text an editor is typing, kept on the server per account and page.

The editor's script saves it every few seconds while the person types, so the
work follows them from phone to laptop and survives a closed tab; opening the
editor again offers it back. A draft is removed when that account saves the
page (``on_written`` listens to ``Writes``) or when the person discards it.

Drafts live in a table of ``trousse.sqlite``, beside the accounts: that file is
backed up and never rebuilt, unlike ``index/`` (derived from git). The table
is created on first use (``CREATE TABLE IF NOT EXISTS`` is its migration).
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from repo_store.errors import N_, DomainError
from repo_store.paths import check_path, check_revision

from .content_rules import ContentRejected, Problem
from .writes import Written

_SCHEMA = """
CREATE TABLE IF NOT EXISTS drafts (
    user_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    markdown TEXT NOT NULL,
    base_revision TEXT,
    saved TEXT NOT NULL,
    PRIMARY KEY (user_id, path)
);
"""

# An account keeps at most this many drafts: past it, the oldest goes, so that a script with
# an editor's token cannot fill the database one path at a time.
MAX_DRAFTS_PER_ACCOUNT = 200

# The actions of ``Writes`` after which the page's text is the one its author meant to keep.
_SAVING_ACTIONS = frozenset({"save", "create"})


class DraftNotFound(DomainError):
    """The caller has no draft of this page (never typed, already saved or discarded)."""

    code = "not_found"
    status = 404
    message_key = N_("You have no draft of this page.")


@dataclass(frozen=True)
class Draft:
    path: str
    markdown: str
    base_revision: str | None
    saved: str  # ISO 8601, UTC


class Drafts:
    """Save, read and drop the drafts of each account; one connection per thread, like ``Accounts``."""

    def __init__(self, database: Path, max_bytes: int) -> None:
        self.path = database
        self.max_bytes = max_bytes
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._db().executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "db", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            self._local.db = connection
            with self._all_lock:
                self._all.append(connection)
        return connection

    def close(self) -> None:
        with self._all_lock:
            for connection in self._all:
                connection.close()
            self._all.clear()
        self._local = threading.local()

    def save(self, user_id: int, path: str, markdown: str, base_revision: str | None = None) -> Draft:
        """Keep ``markdown`` as this account's draft of ``path``; refused past the page size limit."""
        path = check_path(path)
        if base_revision:
            base_revision = check_revision(base_revision)
        if len(markdown.encode("utf-8")) > self.max_bytes:
            raise ContentRejected([Problem("too_large", str(self.max_bytes))])
        saved = datetime.now(UTC).isoformat(timespec="seconds")
        self._db().execute(
            "INSERT INTO drafts (user_id, path, markdown, base_revision, saved) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (user_id, path) DO UPDATE SET markdown = excluded.markdown, "
            "base_revision = excluded.base_revision, saved = excluded.saved",
            (user_id, path, markdown, base_revision or None, saved),
        )
        self._db().execute(
            "DELETE FROM drafts WHERE user_id = ? AND path NOT IN "
            "(SELECT path FROM drafts WHERE user_id = ? ORDER BY saved DESC, rowid DESC LIMIT ?)",
            (user_id, user_id, MAX_DRAFTS_PER_ACCOUNT),
        )
        return Draft(path, markdown, base_revision or None, saved)

    def get(self, user_id: int, path: str) -> Draft:
        path = check_path(path)
        row = (
            self._db()
            .execute("SELECT markdown, base_revision, saved FROM drafts WHERE user_id = ? AND path = ?", (user_id, path))
            .fetchone()
        )
        if row is None:
            raise DraftNotFound(path)
        return Draft(path, row[0], row[1], row[2])

    def delete(self, user_id: int, path: str) -> bool:
        """Drop the draft; whether there was one."""
        path = check_path(path)
        cursor = self._db().execute("DELETE FROM drafts WHERE user_id = ? AND path = ?", (user_id, path))
        return cursor.rowcount > 0

    def on_written(self, event: Written) -> None:
        """A ``Writes`` listener: once an account saved a page, its draft of that page is done with."""
        if event.user is None or event.action not in _SAVING_ACTIONS:
            return
        for path in event.paths:
            self.delete(event.user.id, path)
