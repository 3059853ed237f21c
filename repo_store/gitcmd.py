"""Running git safely: a fixed repository, a clean environment, no user options.

Callers pass only validated hex revisions and validated paths, and always put
paths after ``--``; this module makes sure the environment of the calling
process (``GIT_DIR``, ``GIT_INDEX_FILE``… set by a hook or a shell) cannot
point git at another repository.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

_BASE_CONFIG = ("-c", "core.quotepath=false", "-c", "gc.auto=0")


class GitError(Exception):
    """A git command failed; carries its exit status and error output."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: bytes) -> None:
        message = stderr.decode("utf-8", "replace").strip() or f"exit status {returncode}"
        super().__init__(f"git {' '.join(args[:2])}: {message}")
        self.returncode = returncode
        self.stderr = stderr


def git_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without git's repository-selecting variables."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.setdefault("LC_ALL", "C.UTF-8")
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    if extra:
        env.update(extra)
    return env


def git_command(git_dir: Path, *args: str) -> list[str]:
    return ["git", "--git-dir", str(git_dir), *_BASE_CONFIG, *args]


def run_git(
    git_dir: Path,
    *args: str,
    input: bytes | None = None,
    ok_codes: Sequence[int] = (0,),
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run one git command in ``git_dir`` and return its completed process."""
    process = subprocess.run(
        git_command(git_dir, *args),
        input=input,
        capture_output=True,
        env=git_environment(env),
        check=False,
    )
    if process.returncode not in ok_codes:
        raise GitError(list(args), process.returncode, process.stderr)
    return process
