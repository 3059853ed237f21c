"""The data directory: creating it (``trousse init``) and finding its parts."""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from repo_store import FileChange, Identity, PageStore
from repo_store.gitcmd import GitError, git_environment, run_git
from repo_store.refs import read_ref

from .config import commented_defaults

STARTER_AUTHOR = Identity("Trousse", "trousse@noreply.invalid")
STARTER_MESSAGE = "Pages de départ du wiki"

# Repository settings: durable pushes, no history rewriting through pushes,
# bitmaps so that clones reuse packs, no automatic gc in the middle of a request.
_REPOSITORY_CONFIG = {
    "core.fsync": "committed,reference",
    "core.fsyncMethod": "fsync",
    "core.logAllRefUpdates": "true",
    "receive.denyNonFastForwards": "true",
    "receive.denyDeletes": "true",
    "receive.fsckObjects": "true",
    "repack.writeBitmaps": "true",
    "pack.writeBitmapHashCache": "true",
    "gc.auto": "0",
    "uploadpack.allowFilter": "true",
}


class InitError(Exception):
    """The data directory cannot be created as asked."""


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def repository(self) -> Path:
        return self.root / "wiki.git"

    @property
    def database(self) -> Path:
        return self.root / "trousse.sqlite"

    @property
    def index(self) -> Path:
        return self.root / "index"

    @property
    def catalog(self) -> Path:
        return self.index / "catalog.sqlite"

    @property
    def search_index(self) -> Path:
        return self.index / "search"

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def secret_key_file(self) -> Path:
        return self.root / "secret_key"

    def is_initialised(self) -> bool:
        return (self.repository / "objects").is_dir() and read_ref(self.repository, "refs/heads/main") is not None

    def secret_key(self) -> str:
        """The session-signing key, created on first use, readable by its owner only."""
        path = self.secret_key_file
        try:
            return path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            pass
        key = secrets.token_hex(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text(encoding="ascii").strip()
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
        return key


def starter_pages() -> dict[str, bytes]:
    """The built-in French starter pages and their attachments (the guides' pictures), by repository path."""
    pages: dict[str, bytes] = {}
    root = resources.files("wiki") / "starter"

    def collect(folder: resources.abc.Traversable, prefix: str) -> None:
        for item in folder.iterdir():
            if item.is_dir():
                collect(item, prefix + item.name + "/")
            elif not item.name.startswith("."):
                pages[prefix + item.name] = item.read_bytes()

    collect(root, "")
    return dict(sorted(pages.items()))


def initialise(data: DataDir, source: str | None = None) -> None:
    """Create the data directory; the repository starts from ``source`` or the starter pages."""
    if data.is_initialised():
        raise InitError(f"{data.root} already holds a wiki")
    if data.repository.exists() and any(data.repository.iterdir()):
        raise InitError(f"{data.repository} exists but is not a usable wiki repository")
    data.root.mkdir(parents=True, exist_ok=True)
    if not data.config.exists():
        data.config.write_text(commented_defaults(), encoding="utf-8")
    data.secret_key()
    if source:
        _clone(source, data.repository)
    else:
        _create_with_starter_pages(data.repository)
    _configure(data.repository)
    pack_for_clones(data.repository)
    from ..accounts.store import Accounts
    from . import hooks

    hooks.install(data.repository)
    Accounts(data.database).close()


def _create_with_starter_pages(repository: Path) -> None:
    repository.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(repository)],
        check=True,
        env=git_environment(),
        capture_output=True,
    )
    with PageStore(repository) as store:
        store.commit(
            [FileChange(path, data=content) for path, content in starter_pages().items()],
            author=STARTER_AUTHOR,
            message=STARTER_MESSAGE,
        )


def _clone(source: str, repository: Path) -> None:
    """Import an existing repository with its whole history, its default branch becoming ``main``."""
    process = subprocess.run(
        ["git", "clone", "--quiet", "--bare", "--", source, str(repository)],
        env=git_environment(),
        capture_output=True,
        check=False,
    )
    if process.returncode != 0:
        message = process.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InitError(f"cannot import {source}: {message[-1] if message else 'git clone failed'}")
    if read_ref(repository, "refs/heads/main") is None:
        head = read_ref(repository, "HEAD")
        if head is None:
            raise InitError(f"{source} has no commits to import")
        run_git(repository, "update-ref", "refs/heads/main", head)
    run_git(repository, "symbolic-ref", "HEAD", "refs/heads/main")
    try:
        run_git(repository, "remote", "remove", "origin")
    except GitError:
        pass


def pack_for_clones(repository: Path) -> None:
    """One pack with a reachability bitmap and a commit graph: clones then reuse the pack as it is.

    With a bitmap the server's side of a clone costs almost nothing; the
    client's ``index-pack`` is what remains.
    """
    run_git(repository, "repack", "-a", "-d", "-b", "-q")
    run_git(repository, "commit-graph", "write", "--reachable", "--changed-paths")


def _configure(repository: Path) -> None:
    for key, value in _REPOSITORY_CONFIG.items():
        run_git(repository, "config", key, value)
    description = repository / "description"
    description.write_text("Trousse wiki\n", encoding="utf-8")
