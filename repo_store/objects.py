"""Git objects in-process: tree parsing and serialisation, loose-object writes.

Writing objects here instead of through ``git hash-object`` saves a process per
object; doing it the way git does (temporary file named ``tmp_obj_*`` in the
object's fan-out directory, then an atomic rename) means a process killed at any
moment leaves either nothing or a complete object, and any leftover temporary
file is one that ``git fsck`` tolerates and ``git prune`` removes.

A commit's objects are written together once all are known (``write_all``):
a commit whose trees cannot be built writes nothing. (Flushing them from
several threads at once was measured slower in a server, not faster: each
thread then waits for the interpreter lock to finish.)
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MODE_FILE = b"100644"
MODE_EXECUTABLE = b"100755"
MODE_SYMLINK = b"120000"
MODE_TREE = b"40000"
MODE_SUBMODULE = b"160000"


@dataclass(frozen=True, slots=True)
class TreeEntry:
    mode: bytes
    name: bytes
    sha: str

    @property
    def is_tree(self) -> bool:
        return self.mode == MODE_TREE

    @property
    def is_blob(self) -> bool:
        return self.mode in (MODE_FILE, MODE_EXECUTABLE)


def parse_tree(data: bytes) -> list[TreeEntry]:
    """Split a raw tree object into its entries, in stored order."""
    entries: list[TreeEntry] = []
    position, end = 0, len(data)
    while position < end:
        space = data.index(b" ", position)
        nul = data.index(b"\0", space)
        entries.append(TreeEntry(data[position:space], data[space + 1 : nul], data[nul + 1 : nul + 21].hex()))
        position = nul + 21
    return entries


def find_entry(data: bytes, name: bytes) -> TreeEntry | None:
    """The entry called ``name`` of a raw tree object, without making the others (a third of ``parse_tree``'s time)."""
    position, end = 0, len(data)
    while position < end:
        space = data.index(b" ", position)
        nul = data.index(b"\0", space)
        if data[space + 1 : nul] == name:
            return TreeEntry(data[position:space], name, data[nul + 1 : nul + 21].hex())
        position = nul + 21
    return None


def _sort_key(entry: TreeEntry) -> bytes:
    # git compares a tree entry as if its name ended with '/'.
    return entry.name + b"/" if entry.is_tree else entry.name


def serialise_tree(entries: list[TreeEntry]) -> bytes:
    """A raw tree object with entries in git's canonical order."""
    return b"".join(entry.mode + b" " + entry.name + b"\0" + bytes.fromhex(entry.sha) for entry in sorted(entries, key=_sort_key))


def object_id(kind: bytes, data: bytes) -> str:
    return hashlib.sha1(b"%s %d\0" % (kind, len(data)) + data).hexdigest()


def encode_object(kind: bytes, data: bytes) -> tuple[str, bytes]:
    """(id, raw object) as ``LooseObjectWriter.write_all`` takes it: the id is computed once."""
    raw = b"%s %d\0" % (kind, len(data)) + data
    return hashlib.sha1(raw).hexdigest(), raw


class LooseObjectWriter:
    """Writes loose objects into a repository's ``objects`` directory."""

    def __init__(self, objects_dir: Path, *, fsync: bool = True) -> None:
        self.objects_dir = Path(objects_dir)
        self.fsync = fsync
        # A fan-out directory made since the last ``sync_directories``: its own entry must be flushed too.
        self._made_directory = False

    def write(self, kind: bytes, data: bytes) -> str:
        """Store one object (if absent) and return its id."""
        sha, raw = encode_object(kind, data)
        self.write_all([(sha, raw)])
        return sha

    def write_all(self, objects: Sequence[tuple[str, bytes]]) -> None:
        """Store (id, raw object) pairs (``encode_object``), those absent.

        Each object is complete under its name or absent, whatever happens:
        its file is written and (with ``fsync``) flushed under a temporary
        name before it is renamed. The renames themselves are made durable
        by ``sync_directories``.
        """
        pending: dict[Path, tuple[int, str]] = {}  # target: (descriptor, temporary path)
        try:
            for sha, raw in objects:
                directory = self.objects_dir / sha[:2]
                target = directory / sha[2:]
                if target in pending or target.exists():
                    continue
                if not directory.is_dir():
                    directory.mkdir(exist_ok=True)
                    self._made_directory = True
                fd, temporary = tempfile.mkstemp(prefix="tmp_obj_", dir=directory)
                pending[target] = (fd, temporary)
                _write_fully(fd, zlib.compress(raw, 1))
                os.fchmod(fd, 0o444)
            if self.fsync:
                for fd, _temporary in pending.values():
                    os.fsync(fd)
            while pending:
                target, (fd, temporary) = pending.popitem()
                os.close(fd)
                try:
                    os.replace(temporary, target)
                except BaseException:
                    _discard(temporary)
                    raise
        except BaseException:
            for fd, temporary in pending.values():
                os.close(fd)
                _discard(temporary)
            raise

    def sync_directories(self, shas: list[str]) -> None:
        """Make the renames of freshly written objects durable before a ref names them.

        Their fan-out directories are flushed, and the ``objects`` directory
        too when one of those was made meanwhile.
        """
        if not self.fsync:
            return
        directories = {self.objects_dir / sha[:2] for sha in shas}
        if self._made_directory:
            directories.add(self.objects_dir)
            self._made_directory = False
        for directory in directories:
            fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _discard(temporary: str) -> None:
    try:
        os.unlink(temporary)
    except FileNotFoundError:
        pass


def _write_fully(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def format_commit(
    *,
    tree: str,
    parents: list[str],
    author: str,
    committer: str,
    timestamp: int,
    offset: str,
    message: str,
) -> bytes:
    """A raw commit object. ``author`` and ``committer`` are ``Name <email>``."""
    lines = [f"tree {tree}"]
    lines += [f"parent {parent}" for parent in parents]
    lines.append(f"author {author} {timestamp} {offset}")
    lines.append(f"committer {committer} {timestamp} {offset}")
    text = "\n".join(lines) + "\n\n" + message.rstrip("\n") + "\n"
    return text.encode("utf-8")


@dataclass(frozen=True, slots=True)
class CommitInfo:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    author_time: int
    author_offset: str
    message: str


def parse_commit(sha: str, data: bytes) -> CommitInfo:
    """The fields of a raw commit object that the wiki uses."""
    header, _, message = data.partition(b"\n\n")
    tree = ""
    parents: list[str] = []
    name, email, when, offset = "", "", 0, "+0000"
    for line in header.split(b"\n"):
        key, _, value = line.partition(b" ")
        if key == b"tree":
            tree = value.decode()
        elif key == b"parent":
            parents.append(value.decode())
        elif key == b"author":
            name, email, when, offset = parse_ident(value)
    return CommitInfo(
        sha,
        tree,
        tuple(parents),
        name,
        email,
        when,
        offset,
        message.decode("utf-8", "replace"),
    )


def parse_ident(value: bytes) -> tuple[str, str, int, str]:
    """``Name <email> 1700000000 +0100`` → its four parts (lenient, never raises)."""
    text = value.decode("utf-8", "replace")
    lt, gt = text.find("<"), text.rfind(">")
    if lt == -1 or gt == -1 or gt < lt:
        return text.strip(), "", 0, "+0000"
    name, email = text[:lt].strip(), text[lt + 1 : gt]
    rest = text[gt + 1 :].split()
    try:
        when = int(rest[0])
    except (IndexError, ValueError):
        when = 0
    offset = rest[1] if len(rest) > 1 else "+0000"
    return name, email, when, offset
