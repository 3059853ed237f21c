"""The page store: pages and files in a bare git repository, one commit per change.

Reads go through one persistent ``git cat-file --batch`` (GitPython keeps it
alive) and a cache of parsed trees, which are immutable by id. Writes build the
blob, the changed trees and the commit in-process, then move ``main`` with a
compare-and-swap; a writer that loses the race rebuilds on the new head, and a
save that names its base revision is merged three ways rather than overwriting.
"""

from __future__ import annotations

import datetime as _dt
import functools
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import EllipsisType
from typing import ParamSpec, TypeVar, cast
from zoneinfo import ZoneInfo

import cachetools
import git

from . import refs
from .changes import Change, CommitRecord
from .errors import (
    Conflict,
    InvalidContent,
    InvalidPath,
    PageExists,
    PageNotFound,
    RepositoryBusy,
    RevisionNotFound,
    StorageFull,
    is_storage_full,
)
from .gitcmd import run_git
from .objects import (
    MODE_FILE,
    MODE_TREE,
    CommitInfo,
    LooseObjectWriter,
    TreeEntry,
    encode_object,
    find_entry,
    format_commit,
    object_id,
    parse_commit,
    parse_tree,
    serialise_tree,
)
from .paths import check_path, check_revision, page_file, page_path_of

BRANCH = "refs/heads/main"
MAX_ATTEMPTS = 200
FRESH_BLOB_BYTES = 8 * 1024 * 1024


P = ParamSpec("P")
R = TypeVar("R")


def _refused_when_full(method: Callable[P, R]) -> Callable[P, R]:
    """A full disk becomes ``StorageFull``: whatever was half written is gone, ``main`` did not move."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except OSError as error:
            if is_storage_full(error):
                raise StorageFull("the disk is full; nothing was committed") from error
            raise

    return wrapper


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a commit is by. Characters git cannot store in an ident are dropped."""

    name: str
    email: str

    def formatted(self) -> str:
        name = _clean_ident(self.name) or "anonymous"
        email = _clean_ident(self.email).replace(" ", "") or "noreply@invalid"
        return f"{name} <{email}>"


def _clean_ident(text: str) -> str:
    kept = "".join(char for char in text if char not in "<>\n\r\0" and unicodedata.category(char)[0] != "C")
    return " ".join(kept.split())


@dataclass(frozen=True, slots=True)
class PageBlob:
    """A page's text as stored at a commit."""

    path: str
    markdown: str
    blob: str
    commit: str


@dataclass(frozen=True, slots=True)
class SaveResult:
    """The outcome of a save: the new commit (None when nothing changed)."""

    record: CommitRecord | None
    merged: bool
    created: bool
    blob: str

    @property
    def commit(self) -> str | None:
        return self.record.sha if self.record else None


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file to write (``data`` or an existing ``blob``) or delete (neither)."""

    path: str
    data: bytes | None = None
    blob: str | None = None

    @property
    def deletes(self) -> bool:
        return self.data is None and self.blob is None


V = TypeVar("V")
# The changes of one commit as a tree: a name holds the change to a file or the changes under a folder.
_Changes = dict[bytes, "FileChange | _Changes"]


class PageStore:
    """A bare repository seen as a set of Markdown pages and attached files."""

    def __init__(
        self,
        git_dir: str | Path,
        *,
        fsync: bool = True,
        timezone: str = "Europe/Paris",
    ) -> None:
        self.git_dir = Path(git_dir)
        if not (self.git_dir / "objects").is_dir():
            raise FileNotFoundError(f"no git repository at {self.git_dir}")
        self.fsync = fsync
        self.timezone = ZoneInfo(timezone)
        self._repo = git.Repo(self.git_dir)
        self._read_lock = threading.Lock()
        self._write_lock = threading.Lock()
        # Parsed trees and commits by id (immutable, so never stale); cachetools' LRU is not thread-safe.
        self._trees: cachetools.LRUCache[str, dict[bytes, TreeEntry]] = cachetools.LRUCache(4096)
        self._commits: cachetools.LRUCache[str, CommitInfo] = cachetools.LRUCache(1024)
        # Blobs this process just wrote: the catalog and the search index read them right after a save.
        self._fresh: cachetools.LRUCache[str, bytes] = cachetools.LRUCache(FRESH_BLOB_BYTES, getsizeof=len)
        self._parsed_lock = threading.Lock()
        self._listing: tuple[str, list[tuple[str, TreeEntry]]] | None = None
        self._writer = LooseObjectWriter(self.git_dir / "objects", fsync=fsync)

    # -- lifecycle ---------------------------------------------------------

    def close(self) -> None:
        """Stop the persistent git processes this store started."""
        with self._read_lock:
            self._repo.git.clear_cache()
            self._repo.close()

    def __enter__(self) -> PageStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- low-level reads ---------------------------------------------------

    def _recall(self, cache: cachetools.LRUCache[str, V], sha: str) -> V | None:
        with self._parsed_lock:
            return cache.get(sha)

    def _remember(self, cache: cachetools.LRUCache[str, V], sha: str, value: V) -> None:
        with self._parsed_lock:
            cache[sha] = value

    def head(self) -> str | None:
        """The commit ``main`` points at, or None for an empty repository."""
        return refs.read_ref(self.git_dir, BRANCH)

    def _object(self, name: str) -> tuple[str, bytes, bytes]:
        """(id, type, data) of an object named by an id or a validated expression."""
        with self._read_lock:
            try:
                sha, kind, _size, data = self._repo.git.get_object_data(name)
            except ValueError:
                raise RevisionNotFound(name) from None
        # GitPython annotates the id and the type as str; its persistent cat-file hands them over as bytes.
        return cast(bytes, sha).decode("ascii"), cast(bytes, kind), data

    def tree(self, sha: str) -> dict[bytes, TreeEntry]:
        """A tree's entries by name; trees never change, so they are cached by id."""
        cached = self._recall(self._trees, sha)
        if cached is not None:
            return cached
        _, kind, data = self._object(sha)
        if kind != b"tree":
            raise RevisionNotFound(sha)
        entries = {entry.name: entry for entry in parse_tree(data)}
        self._remember(self._trees, sha, entries)
        return entries

    def blob(self, sha: str) -> bytes:
        fresh = self._recall(self._fresh, sha)
        if fresh is not None:
            return fresh
        _, kind, data = self._object(sha)
        if kind != b"blob":
            raise RevisionNotFound(sha)
        return data

    def commit_info(self, revision: str) -> CommitInfo:
        """Parse the commit a (validated) revision names; commits are cached by id."""
        cached = self._recall(self._commits, revision)
        if cached is not None:
            return cached
        sha, kind, data = self._object(check_revision(revision))
        if kind != b"commit":
            raise RevisionNotFound(revision)
        info = parse_commit(sha, data)
        if sha == revision:
            self._remember(self._commits, sha, info)
        return info

    def resolve_revision(self, revision: str) -> str:
        """The full id of the commit ``revision`` (hex, possibly abbreviated) names."""
        return self.commit_info(revision).sha

    def lookup(self, commit: str | None, file_path: str, *, keep: bool = True) -> TreeEntry | None:
        """The tree entry at ``file_path`` in ``commit``, or None.

        With ``keep=False`` a tree not cached yet is searched as it is read,
        neither parsed whole nor kept: the right way to look once into an old
        commit (a save's base revision, whose trees nobody reads again).
        """
        if commit is None:
            return None
        tree_sha = self.commit_info(commit).tree
        parts = file_path.split("/")
        for index, part in enumerate(parts):
            entry = self._entry(tree_sha, part, keep)
            if entry is None:
                return None
            if index == len(parts) - 1:
                return entry
            if not entry.is_tree:
                return None
            tree_sha = entry.sha
        return None

    def _entry(self, tree_sha: str, name: str, keep: bool) -> TreeEntry | None:
        entries = self._recall(self._trees, tree_sha)
        if entries is None and not keep:
            _, kind, data = self._object(tree_sha)
            if kind != b"tree":
                raise RevisionNotFound(tree_sha)
            found = find_entry(data, name.encode("utf-8"))
            if found is not None or name.isascii():
                return found
            entries = {entry.name: entry for entry in parse_tree(data)}  # stored in another Unicode form, perhaps
        if entries is None:
            entries = self.tree(tree_sha)
        return entries.get(name.encode("utf-8")) or _lookup_unnormalised(entries, name)

    # -- pages and files ---------------------------------------------------

    def read_page(self, path: str, revision: str | None = None) -> PageBlob:
        """A page's Markdown at ``revision`` (default: the tip of ``main``)."""
        path = check_path(path)
        commit = self.resolve_revision(revision) if revision else self.head()
        entry = self.lookup(commit, page_file(path))
        if entry is None or not entry.is_blob or commit is None:
            raise PageNotFound(path)
        return PageBlob(path, _decode(self.blob(entry.sha)), entry.sha, commit)

    def read_file(self, file_path: str, revision: str | None = None) -> tuple[bytes, str]:
        """Any file's bytes and blob id at ``revision``."""
        file_path = check_path(file_path)
        commit = self.resolve_revision(revision) if revision else self.head()
        entry = self.lookup(commit, file_path)
        if entry is None or not entry.is_blob:
            raise PageNotFound(file_path)
        return self.blob(entry.sha), entry.sha

    def page_exists(self, path: str, revision: str | None = None) -> bool:
        commit = self.resolve_revision(revision) if revision else self.head()
        entry = self.lookup(commit, page_file(check_path(path)))
        return entry is not None and entry.is_blob

    def walk(self, revision: str | None = None) -> list[tuple[str, TreeEntry]]:
        """Every blob in the tree as (path, entry), sorted by path."""
        commit = self.resolve_revision(revision) if revision else self.head()
        if commit is None:
            return []
        tree_sha = self.commit_info(commit).tree
        cached = self._listing
        if cached is not None and cached[0] == tree_sha:
            return cached[1]
        files: list[tuple[str, TreeEntry]] = []
        self._walk_tree(tree_sha, "", files)
        files.sort(key=lambda item: item[0])
        self._listing = (tree_sha, files)
        return files

    def _walk_tree(self, tree_sha: str, prefix: str, out: list[tuple[str, TreeEntry]]) -> None:
        for name, entry in self.tree(tree_sha).items():
            path = prefix + name.decode("utf-8", "surrogateescape")
            if entry.is_tree:
                self._walk_tree(entry.sha, path + "/", out)
            elif entry.is_blob:
                out.append((path, entry))

    def list_pages(self, revision: str | None = None) -> list[str]:
        """Page paths (without ``.md``) at ``revision``, sorted."""
        pages = []
        for file_path, _entry in self.walk(revision):
            page = page_path_of(file_path)
            if page is not None:
                pages.append(page)
        return pages

    # -- writes ------------------------------------------------------------

    def commit(
        self,
        changes: list[FileChange],
        *,
        author: Identity,
        message: str,
        expected_head: str | None | EllipsisType = ...,
        committer: Identity | None = None,
    ) -> CommitRecord:
        """Write ``changes`` as one commit on ``main`` and describe it.

        With ``expected_head`` the commit is made only if ``main`` is still
        there (otherwise ``Conflict``); without it the changes are re-applied
        on whatever ``main`` has become, which is right for changes that do
        not depend on what they replace.
        """
        for change in changes:
            check_path(change.path)
        with self._write_lock:
            for _attempt in range(MAX_ATTEMPTS):
                head = self.head()
                if expected_head is not ... and head != expected_head:
                    raise Conflict("", current_revision=head, current_markdown="", conflict_markdown="")
                record = self._build_commit(head, changes, author, committer or author, message)
                if self._swap(record.sha, head):
                    return record
            raise RepositoryBusy("main kept moving; the change was not committed")

    def save_page(
        self,
        path: str,
        markdown: str,
        *,
        author: Identity,
        message: str,
        base_revision: str | None,
        labels: tuple[str, str, str] = ("current", "base", "yours"),
        extra_changes: list[FileChange] | None = None,
    ) -> SaveResult:
        """Save one page, never overwriting a change made after ``base_revision``.

        ``base_revision`` is the commit the editor started from. If the page
        is the same there and on ``main`` the save is a plain commit; if it
        changed in between the two edits are merged with ``git merge-file``,
        and overlapping edits raise ``Conflict`` with both texts. A page that
        already exists cannot be saved without a base revision.
        """
        path = check_path(path)
        file_path = page_file(path)
        new_data = _normalise_newlines(markdown).encode("utf-8")
        new_blob = object_id(b"blob", new_data)
        base = self.resolve_revision(base_revision) if base_revision else None
        base_entry = self.lookup(base, file_path, keep=False) if base else None
        with self._write_lock:
            for _attempt in range(MAX_ATTEMPTS):
                head = self.head()
                current = self.lookup(head, file_path)
                if current is not None and not current.is_blob:
                    raise InvalidPath(f"{file_path!r} is not a file")
                merged = False
                data = new_data
                if current is not None and current.sha == new_blob:
                    return SaveResult(None, False, False, new_blob)
                if current is not None and base is None:
                    current_text = _decode(self.blob(current.sha))
                    raise Conflict(
                        path,
                        current_revision=head,
                        current_markdown=current_text,
                        conflict_markdown=self.merge_texts("", current_text, markdown, labels)[0],
                        reason="exists",
                    )
                if current is None and base_entry is not None:
                    raise Conflict(
                        path,
                        current_revision=head,
                        current_markdown="",
                        conflict_markdown=_normalise_newlines(markdown),
                        reason="deleted",
                    )
                if current is not None and (base_entry is None or base_entry.sha != current.sha):
                    base_text = _decode(self.blob(base_entry.sha)) if base_entry else ""
                    current_text = _decode(self.blob(current.sha))
                    text, clean = self.merge_texts(base_text, current_text, markdown, labels)
                    if not clean:
                        raise Conflict(
                            path,
                            current_revision=head,
                            current_markdown=current_text,
                            conflict_markdown=text,
                        )
                    data, merged = text.encode("utf-8"), True
                    if object_id(b"blob", data) == current.sha:
                        return SaveResult(None, True, False, current.sha)
                changes = [FileChange(file_path, data=data), *(extra_changes or [])]
                record = self._build_commit(head, changes, author, author, message)
                if self._swap(record.sha, head):
                    return SaveResult(record, merged, current is None, object_id(b"blob", data))
            raise RepositoryBusy("main kept moving; the page was not saved")

    def create_page(self, path: str, markdown: str, *, author: Identity, message: str) -> SaveResult:
        """Save a page that must not exist yet."""
        if self.page_exists(path):
            raise PageExists(path)
        return self.save_page(path, markdown, author=author, message=message, base_revision=None)

    @_refused_when_full
    def merge_texts(self, base: str, current: str, yours: str, labels: tuple[str, str, str]) -> tuple[str, bool]:
        """Three-way merge with ``git merge-file``: (text, True when no conflict)."""
        with tempfile.TemporaryDirectory(prefix="trousse-merge-") as tmp:
            names = []
            for name, text in (("current", current), ("base", base), ("yours", yours)):
                file = Path(tmp) / name
                file.write_bytes(_normalise_newlines(text).encode("utf-8"))
                names.append(str(file))
            process = run_git(
                self.git_dir,
                "merge-file",
                "-p",
                "-L",
                labels[0],
                "-L",
                labels[1],
                "-L",
                labels[2],
                names[0],
                names[1],
                names[2],
                ok_codes=range(0, 128),
            )
        return _decode(process.stdout), process.returncode == 0

    # -- commit building ---------------------------------------------------

    @_refused_when_full
    def _build_commit(
        self,
        head: str | None,
        changes: list[FileChange],
        author: Identity,
        committer: Identity,
        message: str,
    ) -> CommitRecord:
        root = self.commit_info(head).tree if head else None
        nested: _Changes = {}
        for change in changes:
            node = nested
            parts = change.path.split("/")
            for part in parts[:-1]:
                child = node.setdefault(part.encode("utf-8"), {})
                if not isinstance(child, dict):
                    raise InvalidPath(f"{change.path!r} crosses a file")
                node = child
            node[parts[-1].encode("utf-8")] = change
        written: list[tuple[str, bytes]] = []  # the new objects (id, raw), written together once all are known
        applied: list[Change] = []
        tree = self._apply(root, nested, written, "", applied) or self._write(b"tree", b"", written)
        now = int(time.time())
        offset = _utc_offset(self.timezone, now)
        parents = (head,) if head else ()
        data = format_commit(
            tree=tree,
            parents=list(parents),
            author=author.formatted(),
            committer=committer.formatted(),
            timestamp=now,
            offset=offset,
            message=message,
        )
        sha = self._write(b"commit", data, written)
        self._writer.write_all(written)
        self._writer.sync_directories([object_sha for object_sha, _raw in written])
        for object_sha, raw in written:
            if raw.startswith(b"blob ") and len(raw) <= FRESH_BLOB_BYTES // 8:
                self._remember(self._fresh, object_sha, raw[raw.index(b"\0") + 1 :])
        info = parse_commit(sha, data)
        self._remember(self._commits, sha, info)
        return CommitRecord(info, _pair_renames(applied))

    def _write(self, kind: bytes, data: bytes, written: list[tuple[str, bytes]]) -> str:
        sha, raw = encode_object(kind, data)
        written.append((sha, raw))
        return sha

    def _apply(
        self,
        tree_sha: str | None,
        changes: _Changes,
        written: list[tuple[str, bytes]],
        prefix: str,
        applied: list[Change],
    ) -> str | None:
        entries = dict(self.tree(tree_sha)) if tree_sha else {}
        for name, change in changes.items():
            existing = entries.get(name)
            if existing is None and not name.isascii():
                # An imported file stored in another Unicode form (NFD from macOS) is the same file.
                existing = _lookup_unnormalised(entries, name.decode("utf-8", "surrogateescape"))
            stored = existing.name if existing is not None else name
            path = prefix + name.decode("utf-8")
            if isinstance(change, dict):
                if existing is not None and not existing.is_tree:
                    raise InvalidPath(f"{name.decode()!r} is a file, not a folder")
                sub = self._apply(existing.sha if existing else None, change, written, path + "/", applied)
                if sub is None:
                    entries.pop(stored, None)
                else:
                    entries[stored] = TreeEntry(MODE_TREE, stored, sub)
            elif change.deletes:
                if existing is not None and existing.is_blob:
                    applied.append(Change(path, "D", None, old_blob=existing.sha))
                entries.pop(stored, None)
            else:
                if existing is not None and existing.is_tree:
                    raise InvalidPath(f"{name.decode()!r} is a folder, not a file")
                blob = change.blob or self._write(b"blob", change.data or b"", written)
                if existing is None or existing.sha != blob:
                    size = len(change.data) if change.data is not None else None
                    old = existing.sha if existing is not None else None
                    applied.append(Change(path, "M" if old else "A", blob, old_blob=old, size=size))
                entries.pop(stored, None)  # a file rewritten is stored under its NFC name
                entries[name] = TreeEntry(MODE_FILE, name, blob)
        if not entries:
            return None
        data = serialise_tree(list(entries.values()))
        sha = self._write(b"tree", data, written)
        self._remember(self._trees, sha, entries)
        return sha

    @_refused_when_full
    def _swap(self, new: str, expected: str | None) -> bool:
        try:
            return refs.compare_and_swap(self.git_dir, BRANCH, new, expected, fsync=self.fsync)
        except refs.RefLockTimeout:
            raise RepositoryBusy("main stayed locked; the change was not committed") from None

    def iter_commits_between(self, old: str | None, new: str) -> Iterator[str]:
        """Commit ids in ``old..new``, oldest first (validated ids only)."""
        new = check_revision(new, full=True)
        spec = [f"{check_revision(old, full=True)}..{new}"] if old else [new]
        out = run_git(self.git_dir, "rev-list", "--reverse", "--topo-order", *spec, "--").stdout
        yield from out.decode("ascii").split()


def _pair_renames(changes: list[Change]) -> tuple[Change, ...]:
    """Report a deletion and an addition of the same blob as one rename, as git does."""
    added = {change.blob: change for change in changes if change.status == "A"}
    result: list[Change] = []
    renamed: set[str] = set()
    for change in changes:
        old = change.old_blob
        if change.status == "D" and old is not None and old in added and old not in renamed:
            target = added[old]
            renamed.add(old)
            result.append(Change(target.path, "R", target.blob, change.path, change.old_blob, target.size))
    for change in changes:
        if change.status == "A" and change.blob in renamed:
            continue
        if change.status == "D" and change.old_blob in renamed:
            continue
        result.append(change)
    return tuple(result)


def _lookup_unnormalised(entries: Mapping[bytes, TreeEntry], name: str) -> TreeEntry | None:
    """Find an imported file whose name is stored in another Unicode normal form."""
    if name.isascii():
        return None
    for raw, entry in entries.items():
        if unicodedata.normalize("NFC", raw.decode("utf-8", "replace")) == name:
            return entry
    return None


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidContent("this file is not UTF-8 text") from None


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _utc_offset(zone: ZoneInfo, timestamp: float) -> str:
    delta = _dt.datetime.fromtimestamp(timestamp, zone).utcoffset() or _dt.timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"
