"""The drafts store as the views see it, and the documents waiting for a new page's first save.

Apart from ``wiki.web.drafts`` (the API) so that the editor's views can use
it without importing the API's modules.
"""

from __future__ import annotations

from flask import current_app, url_for

from ..app.drafts import Drafts, PendingFile
from .auth import user


def drafts() -> Drafts:
    return current_app.extensions["trousse.drafts"]


def pending_files(path: str) -> list[PendingFile]:
    """The logged-in editor's documents waiting for the first save of ``path``; never raises."""
    who = user()
    if who is None or not who.can_edit or not path:
        return []
    try:
        return drafts().files(who.id, path)
    except Exception:  # noqa: BLE001 - like the draft offer: the editor opens without them
        return []


def pending_url(path: str, name: str) -> str:
    """Where its owner's browser fetches a pending document (the preview shows it from there)."""
    return url_for("drafts.get_file", path=f"{path}/{name}")


def pending_urls(user_id: int, path: str) -> dict[str, str]:
    """Each pending document of ``path`` and where the preview shows it from."""
    return {item.name: pending_url(path, item.name) for item in drafts().files(user_id, path)}
