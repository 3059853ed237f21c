"""A derived, rebuildable SQLite catalog of the repository: history and current pages.

``git log -- path`` costs hundreds of milliseconds on a long history and cannot
follow renames cheaply, and listing pages with their titles would mean reading
every blob. So, like the search index, this catalog is derived from git: it
records the commit it reflects and applies ``last..main`` to catch up, after
each of our own commits (directly, without running git), after a push, or when
a server starts. Deleting the file loses nothing; it is rebuilt from git.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .changes import CommitRecord
from .gitcmd import GitError, run_git
from .links import extract_links, title_key
from .pages import page_tags, page_title, parse_page
from .paths import TEMPLATES_PREFIX, page_path_of
from .rawlog import LOG_FORMAT, parse_raw_log
from .sqlite_files import connect
from .store import PageStore

SCHEMA_VERSION = "6"
FOREVER = 2**62  # a commit sequence number later than any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS commits (
    seq INTEGER PRIMARY KEY,
    sha TEXT UNIQUE NOT NULL,
    parents TEXT NOT NULL,
    author_name TEXT NOT NULL,
    author_email TEXT NOT NULL,
    author_time INTEGER NOT NULL,
    author_offset TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER NOT NULL,
    path TEXT NOT NULL,
    status TEXT NOT NULL,
    old_path TEXT,
    blob TEXT,
    old_blob TEXT,
    size INTEGER
);
CREATE INDEX IF NOT EXISTS changes_by_path ON changes (path, seq);
CREATE INDEX IF NOT EXISTS changes_by_seq ON changes (seq);
CREATE INDEX IF NOT EXISTS changes_by_old_path ON changes (old_path) WHERE old_path IS NOT NULL;
CREATE INDEX IF NOT EXISTS commits_by_author ON commits (author_name, seq);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pages (
    path TEXT PRIMARY KEY,
    blob TEXT NOT NULL,
    title TEXT NOT NULL,
    title_key TEXT NOT NULL,
    tags TEXT NOT NULL,
    licence TEXT,
    meta TEXT NOT NULL,
    meta_error TEXT,
    size INTEGER NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS pages_by_title ON pages (title_key);
CREATE TABLE IF NOT EXISTS links (
    source TEXT NOT NULL,
    target_path TEXT NOT NULL,
    target_key TEXT NOT NULL,
    target_slug TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS links_by_source ON links (source);
CREATE INDEX IF NOT EXISTS links_by_path ON links (target_path);
CREATE INDEX IF NOT EXISTS links_by_key ON links (target_key);
CREATE INDEX IF NOT EXISTS links_by_slug ON links (target_slug);
"""


@dataclass(frozen=True, slots=True)
class PageRecord:
    """What the catalog knows of a current page, without reading git."""

    path: str
    blob: str
    title: str
    tags: list[str]
    licence: str | None
    meta: dict[str, Any]
    meta_error: str | None
    size: int
    revision: str
    updated: int
    updated_offset: str
    author: str


@dataclass(slots=True)
class SyncReport:
    """What a catch-up applied: ``changed`` maps file paths to new blobs (None: gone)."""

    old_head: str | None
    new_head: str | None
    changed: dict[str, str | None] = field(default_factory=dict)
    rebuilt: bool = False
    pages_changed: bool = False

    @property
    def moved(self) -> bool:
        return self.old_head != self.new_head


class Catalog:
    """The derived catalog of one repository, shared safely by several processes."""

    def __init__(self, db_path: str | Path, store: PageStore) -> None:
        self.db_path = Path(db_path)
        self.store = store
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        # Bumped when the file is replaced: each thread then connects to the new one.
        self._epoch = 0
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._prepare()
        self._identity = _file_identity(self.db_path)

    # -- connections -------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """This thread's connection to the catalog (history and link queries share it)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None and self._local.epoch != self._epoch:
            with self._connections_lock:
                if connection in self._connections:
                    self._connections.remove(connection)
            connection.close()
            connection = None
        if connection is None:
            epoch = self._epoch
            connection = connect(self.db_path, timeout=60, synchronous="NORMAL")
            self._local.connection, self._local.epoch = connection, epoch
            with self._connections_lock:
                self._connections.append(connection)
        return connection

    def replaced(self) -> bool:
        """True when the catalog's file is gone or is no longer the one this object opened."""
        return _file_identity(self.db_path) != self._identity

    def reopen(self) -> None:
        """Use the catalog file as it is now; if it was deleted, rebuild it from git first.

        The rebuild is written to a temporary file renamed into place when
        complete, under a lock: of several processes finding the file gone,
        one rebuilds while the others wait, and none ever reads a half-filled
        catalog. Threads still reading the old file finish on it.
        """
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.db_path.with_name(self.db_path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if _file_identity(self.db_path) is None:
                self._rebuild_file()
            with self._connections_lock:
                self._epoch += 1
            self._prepare()
            self._identity = _file_identity(self.db_path)

    def _rebuild_file(self) -> None:
        temporary = self.db_path.with_name(f"{self.db_path.name}.new-{os.getpid()}")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{temporary}{suffix}").unlink(missing_ok=True)
        fresh = Catalog(temporary, self.store)
        try:
            fresh.sync()
            fresh.connection().execute("PRAGMA journal_mode=DELETE")  # one self-contained file to rename
        finally:
            fresh.close()
        for suffix in ("-wal", "-shm"):  # what the deleted file left behind must not be read as the new one's
            Path(f"{self.db_path}{suffix}").unlink(missing_ok=True)
        os.replace(temporary, self.db_path)

    def close(self) -> None:
        with self._connections_lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()

    def _prepare(self) -> None:
        try:
            db = self.connection()
            version = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.OperationalError as error:
            if "no such table" not in str(error):
                raise  # locked or unreadable for now: not a reason to throw the catalog away
            version = None
        except sqlite3.DatabaseError:
            # Not a database any more: it is derived data, so start again from git.
            self.close()
            for suffix in ("", "-wal", "-shm"):
                self.db_path.with_name(self.db_path.name + suffix).unlink(missing_ok=True)
            db, version = self.connection(), None
        if version is None or version[0] != SCHEMA_VERSION:
            self._reset(db)

    def _reset(self, db: sqlite3.Connection) -> None:
        drops = "".join(f"DROP TABLE IF EXISTS {table};" for table in ("meta", "commits", "changes", "files", "pages", "links"))
        try:
            db.executescript(
                f"BEGIN IMMEDIATE; {drops} {_SCHEMA} INSERT INTO meta VALUES ('schema', '{SCHEMA_VERSION}'); COMMIT;"
            )
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _meta(self, db: sqlite3.Connection, key: str) -> str | None:
        row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, db: sqlite3.Connection, key: str, value: str | None) -> None:
        db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # -- state -------------------------------------------------------------

    def indexed_head(self) -> str | None:
        return self._meta(self.connection(), "head")

    def state(self) -> tuple[str | None, int]:
        """(commit the catalog reflects, generation of the set of pages and titles)."""
        rows = dict(self.connection().execute("SELECT key, value FROM meta WHERE key IN ('head', 'generation')"))
        return rows.get("head"), int(rows.get("generation") or 0)

    # -- catching up -------------------------------------------------------

    def sync(self, known: Iterable[CommitRecord] = ()) -> SyncReport:
        """Bring the catalog to ``main``. ``known`` commits skip running ``git log``."""
        head = self.store.head()
        db = self.connection()
        if self._meta(db, "head") == head:
            return SyncReport(head, head)
        db.execute("BEGIN IMMEDIATE")
        try:
            last = self._meta(db, "head")
            head = self.store.head()
            report = SyncReport(last, head)
            if last == head:
                db.execute("COMMIT")
                return report
            commits = self._commits_to_apply(last, head, list(known))
            if commits is None:
                report.rebuilt = True
                report.old_head = None
                for table in ("commits", "changes", "files", "pages", "links"):
                    db.execute(f"DELETE FROM {table}")
                commits = list(self._log(None, head)) if head else []
            self._apply(db, commits, report)
            self._set_meta(db, "head", head)
            if report.pages_changed or report.rebuilt:
                generation = int(self._meta(db, "generation") or 0) + 1
                self._set_meta(db, "generation", str(generation))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return report

    def rebuild(self) -> SyncReport:
        """Forget everything and read the whole history again."""
        db = self.connection()
        db.execute("BEGIN IMMEDIATE")
        self._set_meta(db, "head", None)
        db.execute("COMMIT")
        return self.sync()

    def _commits_to_apply(self, last: str | None, head: str | None, known: list[CommitRecord]) -> list[CommitRecord] | None:
        """The commits in ``last..head`` oldest first, or None when a rebuild is needed."""
        if head is None or last is None:
            return None
        if known and known[0].info.parents[:1] == (last,) and known[-1].info.sha == head:
            return known
        try:
            run_git(self.store.git_dir, "merge-base", "--is-ancestor", last, head)
        except GitError:
            return None
        return list(self._log(last, head))

    def _log(self, old: str | None, new: str) -> Iterator[CommitRecord]:
        """Parse ``git log --raw`` for ``old..new``, oldest first."""
        spec = f"{old}..{new}" if old else new
        output = run_git(
            self.store.git_dir,
            "log",
            "--reverse",
            "--topo-order",
            "-c",
            "--raw",
            "-M",
            "--no-abbrev",
            "-z",
            "--date=iso-strict",
            f"--format={LOG_FORMAT}",
            spec,
            "--",
        ).stdout
        yield from parse_raw_log(output)

    def _apply(self, db: sqlite3.Connection, commits: list[CommitRecord], report: SyncReport) -> None:
        sizes = {
            change.blob: change.size for commit in commits for change in commit.changes if change.blob and change.size is not None
        }
        missing = {sha for commit in commits for change in commit.changes for sha in (change.blob,) if sha and sha not in sizes}
        sizes.update(self._blob_sizes(missing))
        touched: dict[str, str | None] = {}
        for commit in commits:
            info = commit.info
            cursor = db.execute(
                "INSERT OR IGNORE INTO commits (sha, parents, author_name, author_email, author_time,"
                " author_offset, message) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    info.sha,
                    " ".join(info.parents),
                    info.author_name,
                    info.author_email,
                    info.author_time,
                    info.author_offset,
                    info.message,
                ),
            )
            if cursor.rowcount == 0:
                continue
            seq = cursor.lastrowid
            for change in commit.changes:
                db.execute(
                    "INSERT INTO changes VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        seq,
                        change.path,
                        change.status,
                        change.old_path,
                        change.blob,
                        change.old_blob,
                        sizes.get(change.blob or ""),
                    ),
                )
                if change.old_path and change.old_path != change.path:
                    touched[change.old_path] = None
                touched[change.path] = change.blob if change.status != "D" else None
        # The files' final state is what main holds now, whatever happened in between.
        for path in touched:
            entry = self.store.lookup(report.new_head, path)
            touched[path] = entry.sha if entry is not None and entry.is_blob else None
        report.changed = touched
        self._update_current(db, touched, sizes, report)

    def _update_current(
        self,
        db: sqlite3.Connection,
        touched: dict[str, str | None],
        sizes: dict[str, int],
        report: SyncReport,
    ) -> None:
        for path, blob in touched.items():
            page = page_path_of(path)
            last_seq = db.execute("SELECT MAX(seq) FROM changes WHERE path=?", (path,)).fetchone()[0] or 0
            if blob is None:
                db.execute("DELETE FROM files WHERE path=?", (path,))
                if page is not None:
                    db.execute("DELETE FROM links WHERE source=?", (page,))
                    if db.execute("DELETE FROM pages WHERE path=?", (page,)).rowcount:
                        report.pages_changed = True
                continue
            size = sizes.get(blob)
            if page is None:
                if size is None:
                    size = len(self.store.blob(blob))
                db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", (path, blob, size, last_seq))
                continue
            data = self.store.blob(blob)
            text = data.decode("utf-8", "replace")
            parsed = parse_page(text)
            title = page_title(parsed.meta, parsed.body, page)
            licence = parsed.meta.get("licence")
            old = db.execute("SELECT title FROM pages WHERE path=?", (page,)).fetchone()
            if old is None or old[0] != title:
                report.pages_changed = True
            db.execute("DELETE FROM links WHERE source=?", (page,))
            db.executemany(
                "INSERT INTO links VALUES (?, ?, ?, ?)",
                [(page, link.path, link.title_key, link.slug) for link in extract_links(parsed.body, page)],
            )
            db.execute(
                "INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    page,
                    blob,
                    title,
                    title_key(title),
                    json.dumps(page_tags(parsed.meta), ensure_ascii=False),
                    licence if isinstance(licence, str) else None,
                    json.dumps(parsed.meta, ensure_ascii=False, default=str),
                    parsed.error,
                    len(data),
                    last_seq,
                ),
            )

    def _blob_sizes(self, shas: set[str]) -> dict[str, int]:
        if not shas:
            return {}
        output = run_git(
            self.store.git_dir,
            "cat-file",
            "--batch-check=%(objectname) %(objectsize)",
            input="\n".join(sorted(shas)).encode("ascii") + b"\n",
        ).stdout
        sizes = {}
        for line in output.decode("ascii", "replace").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                sizes[parts[0]] = int(parts[1])
        return sizes

    # -- queries -----------------------------------------------------------

    _PAGE_COLUMNS = (
        "p.path, p.blob, p.title, p.tags, p.licence, p.meta, p.meta_error, p.size,"
        " c.sha, c.author_time, c.author_offset, c.author_name"
    )

    def _page_record(self, row: tuple[Any, ...]) -> PageRecord:
        return PageRecord(
            row[0],
            row[1],
            row[2],
            json.loads(row[3]),
            row[4],
            json.loads(row[5]),
            row[6],
            row[7],
            row[8] or "",
            row[9] or 0,
            row[10] or "+0000",
            row[11] or "",
        )

    def page(self, path: str) -> PageRecord | None:
        row = (
            self.connection()
            .execute(
                f"SELECT {self._PAGE_COLUMNS} FROM pages p LEFT JOIN commits c ON c.seq = p.seq WHERE p.path = ?",
                (path,),
            )
            .fetchone()
        )
        return self._page_record(row) if row else None

    def pages(self, folder: str | None = None, *, templates: bool = True) -> list[PageRecord]:
        """Current pages sorted by path, optionally only those under ``folder/``, or without the page templates."""
        query = f"SELECT {self._PAGE_COLUMNS} FROM pages p LEFT JOIN commits c ON c.seq = p.seq WHERE 1"
        params: list[str | int] = []
        if folder:
            prefix = folder.rstrip("/") + "/"
            query += " AND substr(p.path, 1, ?) = ?"
            params += [len(prefix), prefix]
        if not templates:
            query += " AND substr(p.path, 1, ?) != ?"
            params += [len(TEMPLATES_PREFIX), TEMPLATES_PREFIX]
        query += " ORDER BY p.path"
        return [self._page_record(row) for row in self.connection().execute(query, params)]

    def titles(self) -> dict[str, str]:
        """Every current page path with its title."""
        return dict(self.connection().execute("SELECT path, title FROM pages"))

    def path_for_title(self, title: str) -> str | None:
        row = (
            self.connection()
            .execute("SELECT path FROM pages WHERE title_key = ? ORDER BY path LIMIT 1", (title_key(title),))
            .fetchone()
        )
        return row[0] if row else None

    def file(self, path: str) -> tuple[str, int] | None:
        row = self.connection().execute("SELECT blob, size FROM files WHERE path=?", (path,)).fetchone()
        return (row[0], row[1]) if row else None

    def files_under(self, folder: str) -> list[tuple[str, str, int]]:
        """Non-page files directly inside ``folder`` as (path, blob, size)."""
        prefix = folder.rstrip("/") + "/"
        rows = self.connection().execute(
            "SELECT path, blob, size FROM files WHERE substr(path, 1, ?) = ? ORDER BY path",
            (len(prefix), prefix),
        )
        return [row for row in rows if "/" not in row[0][len(prefix) :]]

    def paths_changed_since(self, commit: str) -> set[str] | None:
        """Every file path touched after ``commit`` (None when the catalog does not know it)."""
        seq = self.seq_of(commit)
        if seq is None:
            return None
        rows = self.connection().execute("SELECT path, old_path FROM changes WHERE seq > ?", (seq,))
        paths: set[str] = set()
        for path, old_path in rows:
            paths.add(path)
            if old_path:
                paths.add(old_path)
        return paths

    def files(self) -> list[tuple[str, str, int]]:
        """Every current non-page file as (path, blob, size)."""
        return list(self.connection().execute("SELECT path, blob, size FROM files ORDER BY path"))

    def seq_of(self, sha: str) -> int | None:
        row = self.connection().execute("SELECT seq FROM commits WHERE sha=?", (sha,)).fetchone()
        return row[0] if row else None

    def revision_at(self, file_path: str, commit: str) -> str | None:
        """The commit that last changed ``file_path`` (under any of its names) at or before ``commit``."""
        seq = self.seq_of(commit)
        if seq is None:
            return None
        where, params = changes_of(self.name_spans(file_path), until=seq)
        row = (
            self.connection()
            .execute(
                f"SELECT c.sha FROM changes ch JOIN commits c ON c.seq = ch.seq WHERE {where} ORDER BY ch.seq DESC LIMIT 1",
                params,
            )
            .fetchone()
        )
        return row[0] if row else None

    def authors(self, file_path: str, until: str | None = None) -> list[str]:
        """Display names of everyone who changed the file, first contributor first."""
        limit = self.seq_of(until) if until else None
        where, params = changes_of(self.name_spans(file_path), until=FOREVER if limit is None else limit)
        rows = self.connection().execute(
            f"SELECT c.author_name FROM changes ch JOIN commits c ON c.seq = ch.seq WHERE {where} ORDER BY ch.seq",
            params,
        )
        authors: list[str] = []
        for (name,) in rows:
            if name not in authors:
                authors.append(name)
        return authors

    def names_of(self, file_path: str) -> list[str]:
        """A file's earlier names (through renames), oldest first, ending with ``file_path``."""
        return [name for name, _since, _until in reversed(self.name_spans(file_path))]

    def name_spans(self, file_path: str) -> list[tuple[str, int, int]]:
        """The file's names, newest first, each with the commits (seq, since < seq <= until) it bore it.

        Both bounds matter: a name given up in a rename may be taken by another
        page later, or may have been another page's before. Asked about a name
        the page has left, the answer is its history under that name until it left.
        """
        db = self.connection()
        spans = []
        current, until = file_path, FOREVER
        while True:
            left = db.execute(
                "SELECT MAX(seq) FROM changes WHERE old_path = ? AND status = 'R' AND seq <= ?", (current, until)
            ).fetchone()[0]
            if left is not None:
                here = db.execute("SELECT MAX(seq) FROM changes WHERE path = ? AND seq <= ?", (current, until)).fetchone()[0]
                if here is None or here < left:  # the page moved away from this name: look before it left
                    until = left - 1
                    continue
            since = left or 0
            spans.append((current, since, until))
            came = db.execute(
                "SELECT old_path, seq FROM changes WHERE path = ? AND status = 'R' AND seq > ? AND seq <= ?"
                " ORDER BY seq DESC LIMIT 1",
                (current, since, until),
            ).fetchone()
            if not came or not came[0]:
                return spans
            # Each step goes strictly back in time, so even names used twice end the walk.
            current, until = came[0], came[1] - 1


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


def changes_of(spans: list[tuple[str, int, int]], *, until: int = FOREVER, table: str = "ch") -> tuple[str, list[str | int]]:
    """A WHERE clause (and its parameters) for a file's changes under each of its names, up to ``until``."""
    where = " OR ".join(f"({table}.path = ? AND {table}.seq > ? AND {table}.seq <= ?)" for _ in spans)
    return where, [value for name, since, last in spans for value in (name, since, min(last, until))]
