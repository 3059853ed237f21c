"""Commit messages and conflict labels, in the site's language whoever acts.

History is shared: a change made from a browser set to English still reads
« Modification de … » in a French wiki's history. Every write of
``wiki.app.writes`` takes its default message from here.
"""

from __future__ import annotations

from repo_store.errors import Gettext


class CommitMessages:
    """The default message of each kind of write."""

    def __init__(self, gettext: Gettext) -> None:
        self._ = gettext

    def save(self, title: str, *, created: bool) -> str:
        if created:
            return self._("Create « %(title)s »", title=title)
        return self._("Edit « %(title)s »", title=title)

    def attach(self, name: str, title: str, *, created: bool) -> str:
        if created:
            return self._("Attach « %(name)s » to « %(title)s »", name=name, title=title)
        return self._("Replace « %(name)s » in « %(title)s »", name=name, title=title)

    def remove_file(self, name: str, title: str) -> str:
        return self._("Remove « %(name)s » from « %(title)s »", name=name, title=title)

    def restore_file(self, name: str, title: str) -> str:
        return self._("Bring « %(name)s » back to « %(title)s »", name=name, title=title)

    def move(self, title: str, target: str) -> str:
        return self._("Move « %(title)s » to %(path)s", title=title, path=target)

    def retitle(self, old: str, new: str) -> str:
        return self._("Rename « %(title)s » to « %(new)s »", title=old, new=new)

    def move_folder(self, folder: str, target: str) -> str:
        return self._("Move the folder %(folder)s to %(path)s", folder=folder, path=target)

    def delete(self, title: str) -> str:
        return self._("Delete « %(title)s »", title=title)

    def restore(self, title: str, revision: str) -> str:
        return self._("Restore « %(title)s » to revision %(revision)s", title=title, revision=revision[:7])

    def conflict_labels(self) -> tuple[str, str, str]:
        """How the conflict markers name the two sides and their base."""
        return (self._("version saved meanwhile"), self._("common base"), self._("your version"))

    def discuss(self, title: str, excerpt: str) -> str:
        return self._("Discussion of « %(title)s »: %(excerpt)s", title=title, excerpt=excerpt)

    def hide_message(self, number: int, title: str, *, hidden: bool) -> str:
        if hidden:
            return self._("Hide message %(number)s of the discussion of « %(title)s »", number=number, title=title)
        return self._("Show message %(number)s of the discussion of « %(title)s » again", number=number, title=title)
