"""Parsing ``git log -c --raw -z``: commits with the files each changed.

Kept apart from the store so that a git hook can use it without loading
the rest of the store.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

from .changes import Change, CommitRecord
from .objects import CommitInfo

# Fields separated by 0x1f, a commit introduced by 0x1e and closed by 0x1d.
LOG_FORMAT = "%x1e%H%x1f%P%x1f%an%x1f%ae%x1f%at%x1f%ad%x1f%B%x1d"
ZERO = "0" * 40


def parse_raw_log(output: bytes) -> Iterator[CommitRecord]:
    """Parse ``git log -c --raw -z`` output in the format ``LOG_FORMAT``."""
    position, end = 0, len(output)
    while position < end:
        start = output.find(b"\x1e", position)
        if start == -1:
            return
        stop = output.index(b"\x1d", start)
        fields = output[start + 1 : stop].split(b"\x1f", 6)
        sha, parents, name, email, when, _date, message = (field.decode("utf-8", "replace") for field in fields)
        changes, position = parse_raw_entries(output, stop + 1)
        info = CommitInfo(
            sha,
            "",
            tuple(parents.split()),
            name,
            email,
            int(when or 0),
            _offset_of(_date),
            message,
        )
        yield CommitRecord(info, tuple(changes))


def parse_raw_entries(output: bytes, position: int = 0) -> tuple[list[Change], int]:
    """Raw diff entries (``:mode mode sha sha status\0path\0``, ``-z``) from ``position``; also where they end.

    Combined entries of merges (``::…``) count as modifications, or deletions.
    """
    end = len(output)
    changes: list[Change] = []
    while position < end and output[position] in (0, 10):
        position += 1
    while position < end and output[position] == ord(":"):
        nul = output.index(b"\0", position)
        meta = output[position:nul].decode("ascii")
        position = nul + 1
        colons = len(meta) - len(meta.lstrip(":"))
        parts = meta[colons:].split(" ")
        status = parts[-1]
        new_mode = parts[colons]  # the modes come first, the result's last of them
        new_blob = parts[-2]  # the result's blob stands just before the status, merge or not
        old_blob = parts[colons + 1] if colons == 1 else None
        nul = output.index(b"\0", position)
        path = output[position:nul].decode("utf-8", "surrogateescape")
        position = nul + 1
        old_path = None
        if colons == 1 and status[:1] in ("R", "C"):
            nul = output.index(b"\0", position)
            old_path, path = path, output[position:nul].decode("utf-8", "surrogateescape")
            position = nul + 1
        letter = status[0] if colons == 1 else ("D" if new_blob == ZERO else "M")
        if letter == "C":
            letter, old_path = "A", None
        changes.append(
            Change(
                unicodedata.normalize("NFC", path),
                letter,
                None if new_blob == ZERO else new_blob,
                unicodedata.normalize("NFC", old_path) if old_path else None,
                None if not old_blob or old_blob == ZERO else old_blob,
                mode=new_mode,
            )
        )
        while position < end and output[position] in (0, 10):
            position += 1
    return changes, position


def _offset_of(date: str) -> str:
    """``2026-11-28T18:21:00+01:00`` → ``+0100``."""
    tail = date[-6:]
    if len(tail) == 6 and tail[0] in "+-" and tail[3] == ":":
        return tail[0] + tail[1:3] + tail[4:6]
    return "+0000"
