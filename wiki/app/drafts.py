"""Drafts: the text an editor is typing, kept on the server per account and page.

The editor's script saves it every few seconds while the person types, so the
work follows them from phone to laptop and survives a closed tab; opening the
editor again offers it back. A draft is removed when that account saves the
page (``on_written`` listens to ``Writes``) or when the person discards it.

Drafts live in a table of ``trousse.sqlite``, beside the accounts: that file is
backed up and never rebuilt, unlike ``index/`` (derived from git). The table
is created on first use (``CREATE TABLE IF NOT EXISTS`` is its migration).

A draft keeps the fiche form's inputs too (``fields``, the form's names and
values), so that "Reprendre le brouillon" brings back what was typed there.

Documents added in the editor of a page that does not exist yet cannot be
attached (an attachment's page must exist): they wait here as *pending files*
of that account and page, and ``Writes.save`` commits them with the page, in
the same commit, when that account first saves it. They go with their draft:
discarded with it, dropped when it is pushed out by newer drafts, and, when
no draft was ever written for them, after ``PENDING_GRACE``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from repo_store.errors import N_, DomainError, PageNotFound
from repo_store.paths import check_attachment_name, check_path, check_revision
from repo_store.sqlite_files import ThreadConnections

from .attachments import attachment_name
from .content_rules import ContentRejected, Problem
from .write_rules import WriteRules
from .writes import Written

_SCHEMA = """
CREATE TABLE IF NOT EXISTS drafts (
    user_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    markdown TEXT NOT NULL,
    base_revision TEXT,
    saved TEXT NOT NULL,
    fields TEXT,
    PRIMARY KEY (user_id, path)
);
CREATE TABLE IF NOT EXISTS draft_files (
    user_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    size INTEGER NOT NULL,
    saved TEXT NOT NULL,
    PRIMARY KEY (user_id, path, name)
);
"""

# An account keeps at most this many drafts: past it, the oldest goes, so that a script with
# an editor's token cannot fill the database one path at a time.
MAX_DRAFTS_PER_ACCOUNT = 200

# Documents waiting for their page's first save, per account: at most this many, and at most this
# many times the size limit of one attachment together.
MAX_PENDING_FILES_PER_ACCOUNT = 30
PENDING_BYTES_FACTOR = 5
# A pending file with no draft of its page (the tab closed before the first draft) goes after this.
PENDING_GRACE = timedelta(days=2)
# The fiche form's inputs a draft keeps: at most this many, each name at most 100 characters.
MAX_DRAFT_FIELDS = 200

# The actions of ``Writes`` after which the page's text is the one its author meant to keep.
_SAVING_ACTIONS = frozenset({"save", "create"})


class DraftNotFound(DomainError):
    """The caller has no draft of this page (never typed, already saved or discarded)."""

    code = "not_found"
    status = 404
    message_key = N_("You have no draft of this page.")


class PendingFilesFull(DomainError):
    """The account already has as many documents waiting for a first save as it may keep."""

    code = "too_large"
    status = 413
    message_key = N_(
        "You already have %(count)s documents, %(size)s bytes in all, waiting for the first save of new pages. "
        "Save those pages or discard their drafts, then add this document again."
    )

    def __init__(self, count: int, size: int) -> None:
        super().__init__(f"{count} pending files, {size} bytes")
        self.count = count
        self.size = size

    def message_values(self) -> Mapping[str, object]:
        return {"count": self.count, "size": self.size}


class PageAlreadyThere(DomainError):
    """A pending file for a page that exists: it is attached to the page directly instead."""

    code = "conflict"
    status = 409
    message_key = N_("This page exists already: attach the document to the page itself.")


@dataclass(frozen=True)
class Draft:
    path: str
    markdown: str
    base_revision: str | None
    saved: str  # ISO 8601, UTC
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PendingFile:
    """A document added in the editor of a page not saved yet: its attachment name and size."""

    name: str
    size: int
    saved: str


class Drafts:
    """Save, read and drop the drafts of each account; one connection per thread, like ``Accounts``."""

    def __init__(self, database: Path, max_bytes: int, limits: Mapping[str, Any] | None = None) -> None:
        self.path = database
        self.max_bytes = max_bytes
        self.rules = WriteRules(dict(limits or {"max_file_bytes": 20 * 1024 * 1024}))
        self._connections = ThreadConnections(self.path)
        db = self._db()
        db.executescript(_SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(drafts)")}
        if "fields" not in columns:  # drafts written before the fiche form was kept
            # Every worker of a server runs this at once: the one that comes second finds the column made.
            with contextlib.suppress(sqlite3.OperationalError):
                db.execute("ALTER TABLE drafts ADD COLUMN fields TEXT")

    def _db(self) -> sqlite3.Connection:
        return self._connections.get()

    def close(self) -> None:
        self._connections.close()

    def save(
        self,
        user_id: int,
        path: str,
        markdown: str,
        base_revision: str | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> Draft:
        """Keep ``markdown`` (and the fiche form's ``fields``) as this account's draft of ``path``.

        Refused past the page size limit, the fields counted with the text.
        """
        path = check_path(path)
        if base_revision:
            base_revision = check_revision(base_revision)
        kept = _form_fields(fields or {})
        encoded = json.dumps(kept, ensure_ascii=False) if kept else None
        if len(markdown.encode("utf-8")) + len((encoded or "").encode("utf-8")) > self.max_bytes:
            raise ContentRejected([Problem("too_large", str(self.max_bytes))])
        saved = datetime.now(UTC).isoformat(timespec="seconds")
        self._db().execute(
            "INSERT INTO drafts (user_id, path, markdown, base_revision, saved, fields) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (user_id, path) DO UPDATE SET markdown = excluded.markdown, "
            "base_revision = excluded.base_revision, saved = excluded.saved, fields = excluded.fields",
            (user_id, path, markdown, base_revision or None, saved, encoded),
        )
        self._db().execute(
            "DELETE FROM drafts WHERE user_id = ? AND path NOT IN "
            "(SELECT path FROM drafts WHERE user_id = ? ORDER BY saved DESC, rowid DESC LIMIT ?)",
            (user_id, user_id, MAX_DRAFTS_PER_ACCOUNT),
        )
        self._expire_files()
        return Draft(path, markdown, base_revision or None, saved, kept)

    def get(self, user_id: int, path: str) -> Draft:
        path = check_path(path)
        row = (
            self._db()
            .execute("SELECT markdown, base_revision, saved, fields FROM drafts WHERE user_id = ? AND path = ?", (user_id, path))
            .fetchone()
        )
        if row is None:
            raise DraftNotFound(path)
        return Draft(path, row[0], row[1], row[2], _form_fields(json.loads(row[3])) if row[3] else {})

    def delete(self, user_id: int, path: str) -> bool:
        """Drop the draft and its pending files; whether there was either."""
        path = check_path(path)
        cursor = self._db().execute("DELETE FROM drafts WHERE user_id = ? AND path = ?", (user_id, path))
        files = self._db().execute("DELETE FROM draft_files WHERE user_id = ? AND path = ?", (user_id, path))
        return cursor.rowcount > 0 or files.rowcount > 0

    # -- documents waiting for the page's first save ---------------------------

    def add_file(self, user_id: int, path: str, filename: str, data: bytes, *, page_exists: bool = False) -> PendingFile:
        """Keep a document for the first save of ``path``, named like an attachment and checked like one.

        ``page_exists``: the page is there already, so the document goes to it
        directly (``PageAlreadyThere``). Within the account's cap, or ``PendingFilesFull``.
        """
        path = check_path(path)
        name = attachment_name(filename)
        self.rules.attachment(f"{path}/{name}", data)  # names, Windows names, size, type: as for any attachment
        if page_exists:
            raise PageAlreadyThere(path)
        self._expire_files()
        count, size = (
            self._db()
            .execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM draft_files WHERE user_id = ? AND NOT (path = ? AND name = ?)",
                (user_id, path, name),
            )
            .fetchone()
        )
        limit = self.rules.limits["max_file_bytes"] * PENDING_BYTES_FACTOR
        if count >= MAX_PENDING_FILES_PER_ACCOUNT or size + len(data) > limit:
            raise PendingFilesFull(count, size)
        saved = datetime.now(UTC).isoformat(timespec="seconds")
        self._db().execute(
            "INSERT INTO draft_files (user_id, path, name, data, size, saved) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (user_id, path, name) DO UPDATE SET data = excluded.data, size = excluded.size, "
            "saved = excluded.saved",
            (user_id, path, name, data, len(data), saved),
        )
        return PendingFile(name, len(data), saved)

    def files(self, user_id: int, path: str) -> list[PendingFile]:
        """The documents waiting for the first save of ``path``, by name."""
        path = check_path(path)
        rows = self._db().execute(
            "SELECT name, size, saved FROM draft_files WHERE user_id = ? AND path = ? ORDER BY name", (user_id, path)
        )
        return [PendingFile(*row) for row in rows]

    def file_data(self, user_id: int, path: str, name: str) -> bytes:
        """One pending document's bytes, for its owner's preview; ``PageNotFound`` when there is none."""
        path = check_path(path)
        row = (
            self._db()
            .execute("SELECT data FROM draft_files WHERE user_id = ? AND path = ? AND name = ?", (user_id, path, name))
            .fetchone()
        )
        if row is None:
            raise PageNotFound(f"{path}/{name}")
        return bytes(row[0])

    def remove_file(self, user_id: int, path: str, name: str) -> bool:
        path = check_path(path)
        cursor = self._db().execute("DELETE FROM draft_files WHERE user_id = ? AND path = ? AND name = ?", (user_id, path, name))
        return cursor.rowcount > 0

    def pending_files(self, user_id: int, path: str) -> list[tuple[str, bytes]]:
        """For ``Writes.save``: (name, bytes) of each document to commit with the page."""
        path = check_path(path)
        rows = self._db().execute(
            "SELECT name, data FROM draft_files WHERE user_id = ? AND path = ? ORDER BY name", (user_id, path)
        )
        return [(name, bytes(data)) for name, data in rows if _is_attachment_name(name)]

    def _expire_files(self) -> None:
        """Drop the pending files whose draft is gone (pushed out or never written) once their grace is over."""
        cutoff = (datetime.now(UTC) - PENDING_GRACE).isoformat(timespec="seconds")
        self._db().execute(
            "DELETE FROM draft_files WHERE saved < ? AND NOT EXISTS "
            "(SELECT 1 FROM drafts WHERE drafts.user_id = draft_files.user_id AND drafts.path = draft_files.path)",
            (cutoff,),
        )

    def on_written(self, event: Written) -> None:
        """A ``Writes`` listener: once an account saved a page, its draft of that page is done with."""
        if event.user is None or event.action not in _SAVING_ACTIONS:
            return
        for path in event.paths:
            self.delete(event.user.id, path)


def _form_fields(fields: Mapping[str, Any]) -> dict[str, str]:
    """The fiche form's inputs worth keeping: string names and values, bounded in number and name length."""
    if not isinstance(fields, Mapping):
        return {}
    kept: dict[str, str] = {}
    for name, value in fields.items():
        if len(kept) >= MAX_DRAFT_FIELDS:
            break
        if isinstance(name, str) and isinstance(value, str) and 0 < len(name) <= 100:
            kept[name] = value
    return kept


def _is_attachment_name(name: str) -> bool:
    try:
        check_attachment_name(name)
    except DomainError:
        return False
    return True
