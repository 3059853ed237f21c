"""``POST /api/v1/preview``: the editor's live preview, rendered and sanitised by the server.

The browser sends the text being typed and shows the HTML answered here, so
the preview is exactly what saving would show, with the same sanitiser and
the same wikilink resolution (red links included), and no Markdown parser of
its own in the page. Documents added before the page's first save (pending,
see ``wiki.web.drafts``) show from the caller's own pending files.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from ..app.content_rules import ContentRejected, Problem
from ..app.page_names import check_path
from .api import InvalidJSON, json_body
from .auth import require_editor, settings, wiki
from .pending import pending_urls

blueprint = Blueprint("preview", __name__, url_prefix="/api/v1")


@blueprint.route("/preview", methods=["POST"])
def preview() -> ResponseReturnValue:
    who = require_editor()
    body = json_body()
    markdown = body.get("markdown")
    path = body.get("path") or ""
    if not isinstance(markdown, str) or not isinstance(path, str):
        raise InvalidJSON()
    path = check_path(path) if path else ""
    limit = settings()["limits"]["max_page_bytes"]
    if len(markdown.encode("utf-8")) > limit:
        raise ContentRejected([Problem("too_large", str(limit))])
    pending = pending_urls(who.id, path) if path else {}
    rendered = wiki().preview(path or "page", markdown, pending)
    return jsonify({"html": rendered.html, "title": rendered.title, "meta_error": rendered.meta_error})
