"""``/api/v1/drafts/<path>``: the caller's own draft of a page, saved by the editor while typing.

Only the account that wrote a draft can read, replace or drop it; the
editor's page asks ``draft_offer`` whether there is one to offer back.
A save of the page by that account removes it (``Drafts.on_written``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from flask.typing import ResponseReturnValue

from ..app.drafts import Draft, DraftNotFound, Drafts
from .api import InvalidJSON, json_body
from .auth import require_editor, user

blueprint = Blueprint("drafts", __name__, url_prefix="/api/v1")


def init_app(app: Flask, database: Path) -> None:
    """Open the drafts table beside the accounts and drop a draft when its author saves the page."""
    drafts = Drafts(database, app.config["TROUSSE_SETTINGS"]["limits"]["max_page_bytes"])
    app.extensions["trousse.drafts"] = drafts
    app.extensions["trousse"].writes.listeners.append(drafts.on_written)
    app.register_blueprint(blueprint)
    app.context_processor(lambda: {"draft_offer": draft_offer})


def drafts() -> Drafts:
    return current_app.extensions["trousse.drafts"]


def draft_offer(path: str) -> dict[str, Any] | None:
    """The logged-in editor's draft of ``path`` for the editor's page, or None; never raises."""
    who = user()
    if who is None or not who.can_edit or not path:
        return None
    try:
        draft = drafts().get(who.id, path)
    except Exception:  # noqa: BLE001 - a draft is a convenience: the editor opens without it
        return None
    return {"saved": datetime.fromisoformat(draft.saved), "base_revision": draft.base_revision}


def _as_json(draft: Draft) -> dict[str, Any]:
    return {"markdown": draft.markdown, "base_revision": draft.base_revision, "saved": draft.saved}


@blueprint.route("/drafts/<path:path>", methods=["GET"])
def get_draft(path: str) -> ResponseReturnValue:
    who = require_editor()
    return jsonify(_as_json(drafts().get(who.id, path)))


@blueprint.route("/drafts/<path:path>", methods=["PUT"])
def put_draft(path: str) -> ResponseReturnValue:
    who = require_editor()
    body = json_body()
    markdown = body.get("markdown")
    base_revision = body.get("base_revision") or None
    if not isinstance(markdown, str) or not (base_revision is None or isinstance(base_revision, str)):
        raise InvalidJSON()
    draft = drafts().save(who.id, path, markdown, base_revision)
    return jsonify({"saved": draft.saved})


@blueprint.route("/drafts/<path:path>", methods=["DELETE"])
def delete_draft(path: str) -> ResponseReturnValue:
    who = require_editor()
    if not drafts().delete(who.id, path):
        raise DraftNotFound(path)
    return Response(status=204)


__all__ = ["blueprint", "draft_offer", "init_app"]
