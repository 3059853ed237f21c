"""Commit messages and conflict labels, in the site's language whoever acts.

The web views and the API write the same commits, so they take their
messages from here; ``site_message`` is also a keyword of the catalogue
extraction (see the Makefile).
"""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import force_locale
from flask_babel import gettext as _

from .auth import settings


def site_message(text: str, **values: str) -> str:
    """``text`` translated into the site's language (not the visitor's): history is shared."""
    with force_locale(settings()["site"]["language"]):
        return _(text, **values)


def commit_message(title: str, created: bool) -> str:
    """The default message of a save."""
    if created:
        return site_message("Create « %(title)s »", title=title)
    return site_message("Edit « %(title)s »", title=title)


def attach_message(name: str) -> Callable[[str, bool], str]:
    """The message of an upload, once the page's title and whether the file is new are known."""

    def message(title: str, created: bool) -> str:
        if created:
            return site_message("Attach « %(name)s » to « %(title)s »", name=name, title=title)
        return site_message("Replace « %(name)s » in « %(title)s »", name=name, title=title)

    return message


def remove_file_message(name: str, title: str) -> str:
    return site_message("Remove « %(name)s » from « %(title)s »", name=name, title=title)


def move_message(title: str, target: str) -> str:
    return site_message("Move « %(title)s » to %(path)s", title=title, path=target)


def delete_message(title: str) -> str:
    return site_message("Delete « %(title)s »", title=title)


def restore_message(title: str, revision: str) -> str:
    return site_message("Restore « %(title)s » to revision %(revision)s", title=title, revision=revision[:7])


def conflict_labels() -> tuple[str, str, str]:
    """How the conflict markers name the two sides and their base."""
    return (site_message("version saved meanwhile"), site_message("common base"), site_message("your version"))
