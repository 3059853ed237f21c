"""SQLite files shared by the threads and worker processes of one server.

Every table beside the repository (accounts, drafts, watches, mail queue,
catalog, extraction cache) is opened the same way: one connection per thread,
in write-ahead-log mode so readers never wait for a writer, and all of them
closed together when the server stops.

Switching a file to WAL takes an exclusive lock, and SQLite answers "database
is locked" at once, without its busy timeout, to the connections that race for
it: several workers starting together on a new file would see that error.
``use_wal`` waits for its turn instead; the mode is then stored in the file and
later connections find it set.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path


def use_wal(connection: sqlite3.Connection, timeout: float) -> None:
    """Put ``connection``'s file in WAL mode, retrying while another connection does the same."""
    deadline = time.monotonic() + timeout
    pause = 0.002
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def connect(path: str | Path, *, timeout: float = 30, synchronous: str | None = None) -> sqlite3.Connection:
    """A connection in autocommit mode, usable from any thread, on a file in WAL mode."""
    connection = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        use_wal(connection, timeout)
        if synchronous is not None:
            connection.execute(f"PRAGMA synchronous={synchronous}")
    except BaseException:
        connection.close()
        raise
    return connection


class ThreadConnections:
    """One connection per thread to one SQLite file, all closed by ``close``.

    ``prepare`` runs on each new connection (row factory, foreign keys).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        timeout: float = 30,
        prepare: Callable[[sqlite3.Connection], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._prepare = prepare
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        connection: sqlite3.Connection | None = getattr(self._local, "db", None)
        if connection is None:
            connection = connect(self.path, timeout=self.timeout)
            if self._prepare is not None:
                self._prepare(connection)
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
