"""``/api/v1/drafts/<path>``: the caller's own draft of a page, saved by the editor while typing.

Only the account that wrote a draft can read, replace or drop it; the
editor's page asks ``draft_offer`` whether there is one to offer back.
A save of the page by that account removes it (``Drafts.on_written``).

``/api/v1/draft-files/<path>/<name>``: the documents added in the editor of a
page not saved yet (PUT the raw bytes, GET them back for the preview, DELETE);
they are committed with the page when that account first saves it.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request, send_file
from flask.typing import ResponseReturnValue

from ..app.attachments import mimetype_of
from ..app.drafts import Draft, DraftNotFound, Drafts, PendingFile
from ..app.errors import PageNotFound
from ..app.page_names import check_path
from .api import InvalidJSON, json_body
from .auth import require_editor, settings, user, wiki
from .files import FILE_POLICY, INLINE_TYPES
from .pending import drafts, pending_url

blueprint = Blueprint("drafts", __name__, url_prefix="/api/v1")


def init_app(app: Flask, database: Path) -> None:
    """Open the drafts table beside the accounts and drop a draft when its author saves the page."""
    limits = app.config["TROUSSE_SETTINGS"]["limits"]
    drafts = Drafts(database, limits["max_page_bytes"], limits)
    app.extensions["trousse.drafts"] = drafts
    app.extensions["trousse"].writes.listeners.append(drafts.on_written)
    app.extensions["trousse"].writes.pending = drafts  # documents added before a page's first save
    app.register_blueprint(blueprint)
    app.context_processor(lambda: {"draft_offer": draft_offer})


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


def _file_json(path: str, item: PendingFile) -> dict[str, Any]:
    return {"name": item.name, "size": item.size, "url": pending_url(path, item.name)}


def _as_json(draft: Draft, files: list[PendingFile]) -> dict[str, Any]:
    return {
        "markdown": draft.markdown,
        "base_revision": draft.base_revision,
        "saved": draft.saved,
        "fields": draft.fields,
        "files": [_file_json(draft.path, item) for item in files],
    }


@blueprint.route("/drafts/<path:path>", methods=["GET"])
def get_draft(path: str) -> ResponseReturnValue:
    who = require_editor()
    draft = drafts().get(who.id, path)
    return jsonify(_as_json(draft, drafts().files(who.id, draft.path)))


@blueprint.route("/drafts/<path:path>", methods=["PUT"])
def put_draft(path: str) -> ResponseReturnValue:
    who = require_editor()
    body = json_body()
    markdown = body.get("markdown")
    base_revision = body.get("base_revision") or None
    fields = body.get("fields") or {}
    if not isinstance(markdown, str) or not (base_revision is None or isinstance(base_revision, str)):
        raise InvalidJSON()
    if not isinstance(fields, dict) or not all(isinstance(value, str) for value in fields.values()):
        raise InvalidJSON()
    draft = drafts().save(who.id, path, markdown, base_revision, fields)
    return jsonify({"saved": draft.saved})


@blueprint.route("/drafts/<path:path>", methods=["DELETE"])
def delete_draft(path: str) -> ResponseReturnValue:
    """Discard the draft, and the documents waiting with it."""
    who = require_editor()
    if not drafts().delete(who.id, path):
        raise DraftNotFound(path)
    return Response(status=204)


def _split(path: str) -> tuple[str, str]:
    """``page/name`` → (page, name); a path with no page part names no pending file."""
    page, slash, name = check_path(path).rpartition("/")
    if not slash or not page or not name:
        raise PageNotFound(path)
    return page, name


@blueprint.route("/draft-files/<path:path>", methods=["PUT"])
def put_file(path: str) -> ResponseReturnValue:
    """Keep a document for the first save of its page (raw body, named like an attachment)."""
    who = require_editor()
    page, name = _split(path)
    data = request.get_data(cache=False)[: settings()["limits"]["max_file_bytes"] + 1]
    item = drafts().add_file(who.id, page, name, data, page_exists=wiki().store.page_exists(page))
    return jsonify(_file_json(page, item)), 201


@blueprint.route("/draft-files/<path:path>", methods=["GET"])
def get_file(path: str) -> ResponseReturnValue:
    """A pending document, to its owner only (the preview shows it), as carefully as an attached file."""
    who = require_editor()
    page, name = _split(path)
    data = drafts().file_data(who.id, page, name)
    mimetype = mimetype_of(name)
    inline = mimetype in INLINE_TYPES
    if mimetype.startswith("text/"):
        mimetype += "; charset=utf-8"
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=not inline, download_name=name, max_age=0)
    response.headers["Content-Security-Policy"] = FILE_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.route("/draft-files/<path:path>", methods=["DELETE"])
def delete_file(path: str) -> ResponseReturnValue:
    who = require_editor()
    page, name = _split(path)
    if not drafts().remove_file(who.id, page, name):
        raise PageNotFound(path)
    return Response(status=204)


__all__ = ["blueprint", "draft_offer", "init_app"]
