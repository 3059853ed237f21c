"""The past of pages and of the whole wiki, read from the derived catalog, never from ``git log``.

``git log -- path`` costs hundreds of milliseconds at 100,000 commits and
``--follow`` cannot use the commit-graph filters; the catalog already holds
every change of every file, so a page's history, the recent changes and a
blame are indexed SQL queries plus, for the blame, ``difflib`` on the blobs
(within a budget: ``matching``).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, overload

from .catalog import FOREVER, Catalog, changes_of
from .matching import EXACT_BUDGET, GAPS_BUDGET, Budget, line_opcodes
from .paths import page_file, page_path_of
from .store import PageStore

# A blame reads the newest revisions whose texts add up to this much, at most BLAME_REVISIONS of them.
BLAME_BYTES = 2_000_000
BLAME_REVISIONS = 500


@dataclass(frozen=True)
class CommitSummary:
    """What history shows of any commit: who, when, why."""

    seq: int
    revision: str
    author: str
    email: str
    time: int
    offset: str
    message: str

    @property
    def subject(self) -> str:
        return self.message.strip().split("\n", 1)[0]


@dataclass(frozen=True)
class Revision(CommitSummary):
    """One commit as seen from one file."""

    path: str  # the file's name in that commit
    status: str  # A, M, D, R
    blob: str | None
    size: int
    size_change: int
    old_path: str | None


@dataclass(frozen=True)
class RemovedFile:
    """A document that was in a folder and was removed from it: what it takes to bring it back."""

    path: str
    name: str
    blob: str  # its content when it was removed
    size: int
    removed_by: str
    time: int  # when it was removed
    offset: str


@dataclass(frozen=True)
class Touched:
    """A file one commit changed: a page (path without .md) or an attachment."""

    path: str
    status: str  # A, M, D, R
    is_page: bool


@dataclass(frozen=True)
class ChangeSet(CommitSummary):
    """One commit across the wiki, for recent changes."""

    touched: tuple[Touched, ...]

    @property
    def paths(self) -> tuple[str, ...]:
        """Page paths (no .md) and file paths."""
        return tuple(item.path for item in self.touched)


class BlameLine(NamedTuple):
    """One line of a page and who wrote it."""

    text: str
    revision: Revision
    or_earlier: bool = False  # the blame stopped at ``revision``: the line may be older


class Blame(Sequence[BlameLine]):
    """Every line of a page and who wrote it, kept as its lines and, for each, the index of its revision.

    ``BlameLine``s are made as they are read: a megabyte of short lines would
    otherwise make half a million objects, to show the first few thousand.
    """

    def __init__(self, text: list[str], owners: list[int], revisions: list[Revision], complete: bool) -> None:
        self._text = text
        self._owners = array("I", owners)
        self._revisions = revisions
        self._complete = complete

    def __len__(self) -> int:
        return len(self._text)

    def weight(self) -> int:
        """Roughly the characters this blame holds in memory, for caches bounded by size."""
        return 64 + sum(len(line) + 16 for line in self._text)

    @overload
    def __getitem__(self, index: int) -> BlameLine: ...

    @overload
    def __getitem__(self, index: slice) -> list[BlameLine]: ...

    def __getitem__(self, index: int | slice) -> BlameLine | list[BlameLine]:
        if isinstance(index, slice):
            return [self._line(text, owner) for text, owner in zip(self._text[index], self._owners[index], strict=True)]
        return self._line(self._text[index], self._owners[index])

    def _line(self, text: str, owner: int) -> BlameLine:
        return BlameLine(text, self._revisions[owner], not self._complete and owner == 0)


class History:
    """Queries on the catalog's history tables."""

    def __init__(self, catalog: Catalog, store: PageStore) -> None:
        self.catalog = catalog
        self.store = store

    # -- names through renames ---------------------------------------------

    def renamed_to(self, file_path: str, *, existing: bool = True) -> str | None:
        """Where a file that no longer exists went, following renames to an existing file.

        With ``existing=False``, the last name it had, even if it was deleted
        there: where a visitor of its old address learns what became of it.
        """
        db = self.catalog.connection()
        current: str = file_path
        seen = {file_path}
        while True:
            last = db.execute("SELECT status, seq FROM changes WHERE path = ? ORDER BY seq DESC LIMIT 1", (current,)).fetchone()
            moved = db.execute(
                "SELECT path, seq FROM changes WHERE old_path = ? AND status = 'R' ORDER BY seq DESC LIMIT 1",
                (current,),
            ).fetchone()
            if moved is None or (last is not None and last[1] > moved[1]):
                # Never moved, or moved and then gone (deleted, or its new name reused).
                return None if existing or current == file_path else current
            current = moved[0]
            if current in seen:
                return None
            seen.add(current)
            if self.catalog.file(current) is not None or self._page_exists(current):
                return current

    def renamed_page(self, path: str, *, existing: bool = True) -> str | None:
        """Where a page that is not at ``path`` any more went (a page path); see ``renamed_to``."""
        moved = self.renamed_to(page_file(path), existing=existing)
        return page_path_of(moved) if moved else None

    def _page_exists(self, file_path: str) -> bool:
        page = page_path_of(file_path)
        return page is not None and self.catalog.page(page) is not None

    # -- a file's history --------------------------------------------------

    def _rows(self, file_path: str, *, until: int = FOREVER, limit: int = 1, offset: int = 0) -> list[tuple[Any, ...]]:
        """The file's changes (under all its names) up to ``until``, newest first."""
        where, params = changes_of(self.catalog.name_spans(file_path), until=until)
        return (
            self.catalog.connection()
            .execute(
                "SELECT ch.seq, c.sha, c.author_name, c.author_email, c.author_time, c.author_offset, c.message,"
                " ch.path, ch.status, ch.blob, ch.size, ch.old_path"
                f" FROM changes ch JOIN commits c ON c.seq = ch.seq WHERE {where}"
                " ORDER BY ch.seq DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            )
            .fetchall()
        )

    @staticmethod
    def _revision(row: tuple[Any, ...], older_size: int) -> Revision:
        size = row[10] or 0
        return Revision(
            row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9], size, size - older_size, row[11]
        )

    def revisions(self, file_path: str, *, limit: int = 50, offset: int = 0) -> list[Revision]:
        """The file's revisions, newest first, across renames; ``size_change`` against the one before."""
        rows = self._rows(file_path, limit=limit + 1, offset=offset)
        # One row more than asked was read, so every row but the very first revision has its predecessor.
        return [
            self._revision(row, (rows[index + 1][10] or 0) if index + 1 < len(rows) else 0)
            for index, row in enumerate(rows[:limit])
        ]

    def count(self, file_path: str) -> int:
        where, params = changes_of(self.catalog.name_spans(file_path), table="changes")
        count: int = self.catalog.connection().execute(f"SELECT COUNT(*) FROM changes WHERE {where}", params).fetchone()[0]
        return count

    def revision(self, file_path: str, commit: str) -> Revision | None:
        """The file's revision made by ``commit``, or the last one before it."""
        seq = self.catalog.seq_of(commit)
        return None if seq is None else self._revision_until(file_path, seq)

    def revision_before(self, file_path: str, seq: int) -> Revision | None:
        """The file's revision just before the one made at ``seq``."""
        return self._revision_until(file_path, seq - 1)

    def _revision_until(self, file_path: str, seq: int) -> Revision | None:
        rows = self._rows(file_path, until=seq, limit=2)
        if not rows:
            return None
        return self._revision(rows[0], (rows[1][10] or 0) if len(rows) > 1 else 0)

    def removed_files(self, folder: str, *, limit: int = 50) -> list[RemovedFile]:
        """Documents directly in ``folder`` that were removed and are not there now, last removed first.

        Read from the catalog's changes by a range of the path index (no scan
        of the history), so a page shows its removed documents cheaply.
        """
        prefix = folder.rstrip("/") + "/"
        upper = prefix[:-1] + chr(ord("/") + 1)
        db = self.catalog.connection()
        rows = db.execute(
            "SELECT ch.path, ch.old_blob, ch.seq, c.author_name, c.author_time, c.author_offset"
            " FROM changes ch JOIN commits c ON c.seq = ch.seq"
            " WHERE ch.path >= ? AND ch.path < ? AND ch.status = 'D' AND ch.old_blob IS NOT NULL"
            " ORDER BY ch.seq DESC",
            (prefix, upper),
        ).fetchall()
        present = {path for (path,) in db.execute("SELECT path FROM files WHERE path >= ? AND path < ?", (prefix, upper))}
        found: dict[str, RemovedFile] = {}
        for path, blob, seq, author, time, offset in rows:
            name = path[len(prefix) :]
            if "/" in name or path.endswith(".md") or path in present or path in found:
                continue
            sized = db.execute(
                "SELECT size FROM changes WHERE path = ? AND seq < ? AND blob = ? ORDER BY seq DESC LIMIT 1", (path, seq, blob)
            ).fetchone()
            size = int(sized[0]) if sized and sized[0] is not None else 0
            found[path] = RemovedFile(path, name, blob, size, author, time, offset)
            if len(found) >= limit:
                break
        return list(found.values())

    def last_change(self, file_path: str) -> Revision | None:
        head = self.catalog.indexed_head()
        return self.revision(file_path, head) if head else None

    def all_revisions(self, file_path: str) -> list[Revision]:
        """Every revision, oldest first (for blame)."""
        return list(reversed(self.revisions(file_path, limit=1_000_000)))

    # -- the whole wiki ----------------------------------------------------

    def changes(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        folder: str | None = None,
        author: str | None = None,
    ) -> list[ChangeSet]:
        """Commits newest first, optionally touching ``folder/`` or by ``author``."""
        db = self.catalog.connection()
        columns = "c.seq, c.sha, c.author_name, c.author_email, c.author_time, c.author_offset, c.message"
        if folder:
            prefix = folder.strip("/") + "/"
            # Walk the changes from the newest and stop after enough commits: the folder's
            # changes are usually recent, where sorting all of them would read thousands.
            author_clause = "AND c.author_name = ?" if author else ""
            commits = db.execute(
                f"SELECT DISTINCT {columns} FROM changes ch INDEXED BY changes_by_seq"
                f" JOIN commits c ON c.seq = ch.seq WHERE ch.path >= ? AND ch.path < ? {author_clause}"
                " ORDER BY ch.seq DESC LIMIT ? OFFSET ?",
                (prefix, prefix[:-1] + "0", *([author] if author else []), limit, offset),  # '0' follows '/'
            ).fetchall()
        else:
            where = "WHERE c.author_name = ?" if author else ""
            commits = db.execute(
                f"SELECT {columns} FROM commits c {where} ORDER BY c.seq DESC LIMIT ? OFFSET ?",
                (*([author] if author else []), limit, offset),
            ).fetchall()
        if not commits:
            return []
        seqs = [row[0] for row in commits]
        marks = ",".join("?" * len(seqs))
        touched: dict[int, list[Touched]] = {seq: [] for seq in seqs}
        for seq, path, status in self.catalog.connection().execute(
            f"SELECT seq, path, status FROM changes WHERE seq IN ({marks}) ORDER BY path", seqs
        ):
            page = page_path_of(path)
            touched[seq].append(Touched(page or path, status, page is not None))
        return [
            ChangeSet(seq, sha, name, email, when, offset, message, tuple(touched[seq]))
            for seq, sha, name, email, when, offset, message in commits
        ]

    def authors_list(self, limit: int = 200, window: int = 5000) -> list[str]:
        """Names of the recent authors (in the last ``window`` commits), for the recent-changes filter."""
        rows = self.catalog.connection().execute(
            "SELECT author_name FROM (SELECT author_name, seq FROM commits ORDER BY seq DESC LIMIT ?)"
            " GROUP BY author_name ORDER BY MAX(seq) DESC LIMIT ?",
            (window, limit),
        )
        return [row[0] for row in rows]

    # -- blame -------------------------------------------------------------

    def blame(self, file_path: str) -> Blame:
        """Who last changed each line of the current text, from the page's own revisions.

        Bounded, since anyone may ask: it reads the newest revisions back to
        the page's creation (or its last deletion), but no more than
        ``BLAME_REVISIONS`` nor ``BLAME_BYTES`` of text, and their comparisons
        share one budget of matching work (beyond it, a changed stretch is
        said rewritten as a whole). Lines the oldest revision read already had
        are marked ``or_earlier`` when history goes further back.
        """
        newest = self.revisions(file_path, limit=BLAME_REVISIONS + 1)
        window: list[Revision] = []
        size = 0
        for revision in newest[:BLAME_REVISIONS]:
            size += revision.size
            if revision.blob is None or (window and size > BLAME_BYTES):
                break  # nothing older outlived a deletion
            window.append(revision)
        complete = len(window) == len(newest) or newest[len(window)].blob is None
        exact, gaps = Budget(EXACT_BUDGET), Budget(GAPS_BUDGET)
        oldest_first = window[::-1]
        text: list[str] = []
        owners: list[int] = []  # for each line, the index in ``oldest_first`` of the revision that wrote it
        for index, revision in enumerate(oldest_first):
            previous, text = text, self.store.blob(revision.blob or "").decode("utf-8", "replace").split("\n")
            owners = _carry_over(previous, owners, text, index, exact, gaps)
        return Blame(text, owners, oldest_first, complete)


def _carry_over(previous: list[str], owners: list[int], text: list[str], revision: int, exact: Budget, gaps: Budget) -> list[int]:
    """The owners of ``text``'s lines: kept lines keep theirs, the others are ``revision``'s."""
    codes, _quality = line_opcodes(previous, text, exact=exact, gaps=gaps)
    result: list[int] = []
    for tag, i1, i2, j1, j2 in codes:
        result += owners[i1:i2] if tag == "equal" else [revision] * (j2 - j1)
    return result
