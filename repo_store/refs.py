"""Reading and compare-and-swap updating of a branch, with git's own lock protocol.

A ref update names the value it expects to replace (dulwich's
``set_if_equals``): the writer takes ``<ref>.lock`` with ``O_EXCL`` exactly as
git does, so web saves, other server processes and ``git receive-pack``
exclude one another, re-reads the ref under the lock, and renames the lock
over the ref only if nobody moved it. The rename is atomic, so a reader or a
crash never sees a half-written ref.

A writer killed while it holds the lock must not block every save that
follows. Ours also hold an ``flock`` on the lock file, which the kernel drops
when the process dies, and mark the file (owner-execute bit, which git never
sets on a lock) while they hold it: a marked lock that no process has
flocked is abandoned and is taken over at once. git's own locks carry
neither, so they are judged by their age.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
import time
from pathlib import Path

ZERO = "0" * 40
# Our own critical section lasts microseconds and git's a few milliseconds:
# a lock this old was left by a killed process and would block every save.
STALE_LOCK_SECONDS = 30.0
HELD_MARK = stat.S_IXUSR


class RefLockTimeout(Exception):
    """The ref stayed locked by somebody else for too long."""


def read_ref(git_dir: Path, name: str) -> str | None:
    """The commit a ref points at, from its loose file or ``packed-refs``."""
    try:
        with open(git_dir / name, "rb") as handle:
            value = handle.read().strip().decode("ascii", "replace")
    except FileNotFoundError:
        return _read_packed_ref(git_dir, name)
    except IsADirectoryError:
        return None
    if value.startswith("ref: "):
        return read_ref(git_dir, value[5:].strip())
    return value or None


_packed_cache: dict[Path, tuple[tuple[int, int, int], dict[str, str]]] = {}


def _read_packed_ref(git_dir: Path, name: str) -> str | None:
    """Look ``name`` up in ``packed-refs``, parsed again only when the file changes.

    git replaces packed-refs by renaming a new file over it, so (inode, size,
    mtime) identifies a version of its content.
    """
    path = git_dir / "packed-refs"
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    stamp = (status.st_ino, status.st_size, status.st_mtime_ns)
    cached = _packed_cache.get(path)
    if cached is None or cached[0] != stamp:
        refs: dict[str, str] = {}
        try:
            with open(path, "rb") as handle:
                for line in handle:
                    if line.startswith((b"#", b"^")):
                        continue
                    sha, _, ref = line.rstrip(b"\n").partition(b" ")
                    refs[ref.decode("utf-8", "replace")] = sha.decode("ascii")
        except FileNotFoundError:
            return None
        cached = (stamp, refs)
        _packed_cache[path] = cached
    return cached[1].get(name)


def compare_and_swap(
    git_dir: Path,
    name: str,
    new: str,
    expected: str | None,
    *,
    fsync: bool = True,
    wait_seconds: float = 10.0,
) -> bool:
    """Point ``name`` at ``new`` if it still points at ``expected`` (None: absent).

    Returns False when the ref moved; raises ``RefLockTimeout`` when somebody
    else held the lock for longer than ``wait_seconds``.
    """
    ref_path = git_dir / name
    lock_path = ref_path.with_name(ref_path.name + ".lock")
    ref_path.parent.mkdir(parents=True, exist_ok=True)
    fd, mode = _acquire(lock_path, wait_seconds)
    ours = os.fstat(fd).st_ino
    # The descriptor stays open (hence flocked) until the lock file is renamed or removed.
    try:
        current = read_ref(git_dir, name)
        if current != expected:
            _release(lock_path, ours)
            return False
        os.write(fd, new.encode("ascii") + b"\n")
        if fsync:
            os.fsync(fd)
        if mode is not None:
            os.fchmod(fd, mode)  # the ref gets the mode git would give it
        if _inode(lock_path) != ours:
            # We stalled so long that another writer took the lock over as stale.
            raise RefLockTimeout(str(lock_path))
        os.replace(lock_path, ref_path)
        if fsync:
            _fsync_directory(ref_path.parent)
        return True
    except BaseException:
        _release(lock_path, ours)
        raise
    finally:
        os.close(fd)


def _release(lock_path: Path, ours: int) -> None:
    """Remove our lock, never one that another writer took over from us."""
    if _inode(lock_path) == ours:
        try:
            os.unlink(lock_path)
        except FileNotFoundError:
            pass


def _acquire(lock_path: Path, wait_seconds: float) -> tuple[int, int | None]:
    """Create the lock file, flock and mark it; (descriptor, the file's unmarked mode, None if not marked)."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.0005
    while True:
        try:
            fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            if _remove_if_stale(lock_path):
                continue
            if time.monotonic() > deadline:
                raise RefLockTimeout(str(lock_path)) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # at once: only a waiter's brief look can hold it
            mode: int | None = stat.S_IMODE(os.fstat(fd).st_mode)
            try:
                os.fchmod(fd, mode | HELD_MARK)
            except PermissionError:  # a filesystem without modes: the lock is judged by its age
                mode = None
        except BaseException:
            _release(lock_path, os.fstat(fd).st_ino)
            os.close(fd)
            raise
        return fd, mode


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def _abandoned(lock_path: Path) -> bool:
    """True for a lock one of our writers took and nobody holds any more: its writer died."""
    try:
        fd = os.open(lock_path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        # The mark is set after the flock is taken and removed before it is let go.
        if not os.fstat(fd).st_mode & HELD_MARK:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its writer is alive
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def _age(path: Path) -> float:
    return time.time() - path.stat().st_mtime


def _remove_if_stale(lock_path: Path) -> bool:
    """Take over a lock left by a killed writer; True when the caller should try again.

    Abandoned locks of our own writers go at once; others (git's) once they
    are older than any live writer holds one. The lock is renamed away rather
    than deleted, so that of several waiters judging it stale only one
    removes it, never a fresh lock another just took.
    """
    try:
        if not _abandoned(lock_path) and _age(lock_path) < STALE_LOCK_SECONDS:
            return False
    except FileNotFoundError:
        return True
    aside = lock_path.with_name(f"{lock_path.name}.stale-{os.getpid()}-{time.monotonic_ns()}")
    try:
        os.rename(lock_path, aside)
    except FileNotFoundError:
        return True
    if not _abandoned(aside) and _age(aside) < STALE_LOCK_SECONDS:
        # Somebody replaced it with a fresh lock in between: give it back.
        try:
            os.link(aside, lock_path)
        except FileExistsError:
            pass
    aside.unlink(missing_ok=True)
    return True


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_locks(git_dir: Path, *, older_than: float = 0.0) -> list[Path]:
    """Delete ``*.lock`` files and half-written objects left by killed writers; call it when no writer runs.

    A push killed midway leaves its quarantine (``objects/tmp_objdir-*``, as
    large as the push) and temporary pack files that git never removes;
    a killed commit may leave a ``tmp_obj_*``. ``older_than`` lets a running
    server clear only what no live writer could still be using.
    """
    removed = []
    now = time.time()
    candidates = list((git_dir / "refs").rglob("*.lock"))
    candidates += [git_dir / name for name in ("packed-refs.lock", "HEAD.lock", "config.lock", "shallow.lock")]
    objects = git_dir / "objects"
    candidates += list(objects.glob("tmp_objdir-*")) + list(objects.glob("pack/tmp_*")) + list(objects.glob("??/tmp_obj_*"))
    for leftover in candidates:
        try:
            if now - leftover.stat().st_mtime < older_than:
                continue
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink()
            removed.append(leftover)
        except FileNotFoundError:
            continue
    return removed
