"""What reading each attached document gave, kept by blob: every version of a file is read once, off the requests.

The cache lives next to the search index and is as disposable: deleted, it is
filled again by reading the files at ``main``. A row holds a document's text,
or the reason it has none (``too_slow``, ``too_large``, ``damaged``), for one
budget (the text cap and the seconds allowed): raising a limit reads again the
documents that were over it.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from repo_store.sqlite_files import connect

from .documents import Extraction

Key = tuple[str, str]  # (blob, kind)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS extractions (
    blob TEXT NOT NULL,
    kind TEXT NOT NULL,
    budget TEXT NOT NULL,
    reason TEXT,
    text TEXT,
    indexed INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (blob, kind, budget)
)
"""


class ExtractionCache:
    """Extraction results in one SQLite file, shared by the threads and processes of a wiki."""

    def __init__(self, path: str | Path, *, budget: str) -> None:
        self.path = Path(path)
        self.budget = budget
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = connect(self.path, synchronous="NORMAL")
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get(self, key: Key) -> Extraction | None:
        """The stored result for ``key`` under the current budget, or None when the document was not read yet."""
        with self._lock:
            row = self._db.execute(
                "SELECT text, reason FROM extractions WHERE blob=? AND kind=? AND budget=?", (*key, self.budget)
            ).fetchone()
        return None if row is None else Extraction(row[0], row[1])

    def put(self, key: Key, result: Extraction, *, indexed: bool = True) -> None:
        """Keep ``result``; ``indexed`` False until the search index has its text (see ``unindexed``)."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO extractions (blob, kind, budget, reason, text, indexed) VALUES (?, ?, ?, ?, ?, ?)",
                (*key, self.budget, result.reason, result.text, int(indexed)),
            )

    def mark_indexed(self, keys: Iterable[Key]) -> None:
        with self._lock:
            self._db.executemany(
                "UPDATE extractions SET indexed=1 WHERE blob=? AND kind=? AND budget=?",
                [(*key, self.budget) for key in keys],
            )

    def done(self) -> set[Key]:
        """Keys whose result is known and, for a text, in the search index already."""
        with self._lock:
            rows = self._db.execute(
                "SELECT blob, kind FROM extractions WHERE budget=? AND (indexed=1 OR reason IS NOT NULL)", (self.budget,)
            ).fetchall()
        return {(blob, kind) for blob, kind in rows}

    def unindexed(self) -> set[Key]:
        """Keys read (text found) whose text may not have reached the search index: a write failed in between."""
        with self._lock:
            rows = self._db.execute(
                "SELECT blob, kind FROM extractions WHERE budget=? AND indexed=0 AND reason IS NULL", (self.budget,)
            ).fetchall()
        return {(blob, kind) for blob, kind in rows}

    def failures(self) -> dict[Key, str]:
        """Every document read in vain under the current budget, with the reason."""
        with self._lock:
            rows = self._db.execute(
                "SELECT blob, kind, reason FROM extractions WHERE budget=? AND reason IS NOT NULL", (self.budget,)
            ).fetchall()
        return {(blob, kind): reason for blob, kind, reason in rows}

    def keep_only(self, keys: set[Key]) -> int:
        """Forget the results of documents no longer at ``main`` (and of other budgets); how many were forgotten."""
        with self._lock:
            rows = self._db.execute("SELECT blob, kind, budget FROM extractions").fetchall()
            stale = [row for row in rows if row[2] != self.budget or (row[0], row[1]) not in keys]
            self._db.executemany("DELETE FROM extractions WHERE blob=? AND kind=? AND budget=?", stale)
        return len(stale)

    @contextmanager
    def turn(self) -> Iterator[bool]:
        """True when this process may read documents now: one process of the wiki at a time, never waiting.

        Two server processes reading the same documents would double the
        work and the memory; the one that finds the turn taken leaves the
        queue, which is the same for all, to the other.
        """
        descriptor = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(descriptor)
