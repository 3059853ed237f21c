"""Reading and compare-and-swap updating of a branch, with git's own lock protocol.

A ref update names the value it expects to replace (dulwich's
``set_if_equals``): the writer takes ``<ref>.lock`` with ``O_EXCL`` exactly as
git does, so web saves, other server processes and ``git receive-pack``
exclude one another, re-reads the ref under the lock, and renames the lock
over the ref only if nobody moved it. The rename is atomic, so a reader or a
crash never sees a half-written ref.

A writer killed while it holds the lock must not block every save that
follows. Our writers take turns on a kernel ``flock`` over a guard file
(``trousse-ref.guard``) from before they create the lock until after they
rename or remove it, and write into the guard which lock file (device and
inode) they created. The kernel lets the guard go when a writer dies, so
whoever holds the guard knows that no other writer of ours is inside its
critical section: a lock file that the guard names was left by a dead writer
and is removed at once. Any other lock is git's, and is judged by its age.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import shutil
import time
from pathlib import Path

log = logging.getLogger(__name__)

ZERO = "0" * 40
# Our own critical section lasts microseconds and git's a few milliseconds:
# a lock this old was left by a killed process and would block every save.
STALE_LOCK_SECONDS = 30.0


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
    deadline = time.monotonic() + wait_seconds
    with _Guard(git_dir / GUARD_NAME, deadline) as guard:
        fd = _acquire(lock_path, guard, deadline)
        ours = os.fstat(fd).st_ino
        try:
            current = read_ref(git_dir, name)
            if current != expected:
                _release(lock_path, ours)
                return False
            os.write(fd, new.encode("ascii") + b"\n")
            if fsync:
                os.fsync(fd)
            if _inode(lock_path) != ours:
                # Somebody outside our writers (a stale-lock clean-up) removed it meanwhile.
                raise RefLockTimeout(str(lock_path))
            os.replace(lock_path, ref_path)
        except BaseException:
            _release(lock_path, ours)
            guard.forget()
            raise
        finally:
            os.close(fd)
        # The ref has moved: from here on the update is done, whatever happens.
        guard.forget()
    if fsync:
        try:
            _fsync_directory(ref_path.parent)
        except OSError as error:  # e.g. a full disk after the rename: the rename stands
            log.warning("could not flush %s after moving %s: %s", ref_path.parent, name, error)
    return True


GUARD_NAME = "trousse-ref.guard"
_NO_FLOCK = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL)


class _Guard:
    """Our writers' turn, and the record of the lock file the current turn created."""

    def __init__(self, path: Path, deadline: float) -> None:
        self.path = path
        self.deadline = deadline
        self.fd: int | None = None

    def __enter__(self) -> _Guard:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        delay = 0.0005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > self.deadline:
                    os.close(fd)
                    raise RefLockTimeout(str(self.path)) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.02)
            except OSError as error:
                if error.errno not in _NO_FLOCK:
                    os.close(fd)
                    raise
                # No flock on this filesystem: every lock is judged by its age alone.
                os.close(fd)
                return self
        self.fd = fd
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)  # lets the flock go
            self.fd = None

    def names(self, status: os.stat_result) -> bool:
        """True if the lock file ``status`` describes is the one a writer of ours created and left."""
        if self.fd is None:
            return False
        recorded = os.pread(self.fd, 64, 0).decode("ascii", "replace").split()
        return recorded == [str(status.st_dev), str(status.st_ino)]

    def record(self, fd: int) -> None:
        if self.fd is not None:
            status = os.fstat(fd)
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, f"{status.st_dev} {status.st_ino}\n".encode("ascii"), 0)

    def forget(self) -> None:
        """The lock file was renamed or removed: its inode may now be reused by anybody."""
        if self.fd is not None:
            os.ftruncate(self.fd, 0)


def _release(lock_path: Path, ours: int) -> None:
    """Remove our lock, never one that somebody else created at the same place."""
    if _inode(lock_path) == ours:
        try:
            os.unlink(lock_path)
        except FileNotFoundError:
            pass


def _acquire(lock_path: Path, guard: _Guard, deadline: float) -> int:
    """Create the lock file (our turn being held) and record it in the guard; its descriptor."""
    delay = 0.0005
    while True:
        try:
            fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            if _remove_if_left(lock_path, guard):
                continue
            if time.monotonic() > deadline:
                raise RefLockTimeout(str(lock_path)) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
            continue
        try:
            guard.record(fd)
        except BaseException:
            _release(lock_path, os.fstat(fd).st_ino)
            os.close(fd)
            raise
        return fd


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def _remove_if_left(lock_path: Path, guard: _Guard) -> bool:
    """Remove a lock a killed writer left; True when the caller should try again at once.

    A lock the guard names was created by a writer of ours that no longer
    holds the guard: it died. Any other lock is git's (``receive-pack``, or a
    contributor's command on the server), live unless older than any live
    writer keeps one.
    """
    try:
        status = os.stat(lock_path)
    except FileNotFoundError:
        return True
    if not guard.names(status) and time.time() - status.st_mtime < STALE_LOCK_SECONDS:
        return False
    aside = lock_path.with_name(f"{lock_path.name}.stale-{os.getpid()}-{time.monotonic_ns()}")
    try:
        os.rename(lock_path, aside)
    except FileNotFoundError:
        return True
    moved = os.stat(aside)
    if (moved.st_dev, moved.st_ino) != (status.st_dev, status.st_ino):
        # git replaced it with a fresh lock between our look and the rename: give that one back.
        try:
            os.link(aside, lock_path)
        except FileExistsError:
            pass
    aside.unlink(missing_ok=True)
    guard.forget()
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
