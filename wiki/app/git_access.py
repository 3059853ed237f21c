"""Running git for the HTTP layer: the environment every git process of the wiki gets, and archives.

``git http-backend`` (clone, fetch, push) and ``git archive`` (the whole
wiki as a zip) are streamed by the views; they start git with the same
locked-down environment as the store (no user or system configuration).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

from repo_store.gitcmd import git_command, git_environment

ARCHIVE_CHUNK = 65536

__all__ = ["git_environment", "zip_archive"]


def zip_archive(repository: Path, commit: str) -> Iterator[bytes]:
    """The files of ``commit`` as a zip under ``wiki/``, streamed by ``git archive`` (nothing held in memory).

    The process is killed if the reader stops early (a download cancelled).
    """
    process = subprocess.Popen(
        git_command(repository, "archive", "--format=zip", "--prefix=wiki/", commit),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=git_environment(),
    )
    assert process.stdout is not None
    try:
        while chunk := process.stdout.read(ARCHIVE_CHUNK):
            yield chunk
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()
