"""What a commit changed, as the store records it and ``git log --raw`` reports it."""

from __future__ import annotations

from dataclasses import dataclass

from .objects import CommitInfo


@dataclass(frozen=True, slots=True)
class Change:
    """One file changed by one commit (``git log --raw`` says the same)."""

    path: str
    status: str  # A added, M modified, D deleted, R renamed from old_path
    blob: str | None
    old_path: str | None = None
    old_blob: str | None = None
    size: int | None = None
    mode: str | None = None  # the new file mode, as git writes it (100644, 120000…)


@dataclass(frozen=True, slots=True)
class CommitRecord:
    """A commit with the files it changed: what derived indexes need to catch up."""

    info: CommitInfo
    changes: tuple[Change, ...]

    @property
    def sha(self) -> str:
        return self.info.sha
