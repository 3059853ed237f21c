"""Serving attached files so that nothing in them can run in the wiki's origin."""

from __future__ import annotations

import io
import mimetypes
import posixpath

from flask import Blueprint, Response, request, send_file

from repo_store import PageNotFound
from repo_store.paths import check_path, page_path_of

from ..auth import wiki

blueprint = Blueprint("files", __name__)

# Types a browser may show in the page; anything else is downloaded.
INLINE_TYPES = {
    "application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain", "text/csv",
}
# A sandbox for whatever a browser could execute (SVG, HTML, PDF viewers…).
FILE_POLICY = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"


def content_type(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


@blueprint.route("/files/<path:path>")
def serve(path: str) -> Response:
    path = check_path(path)
    if page_path_of(path) is not None:
        raise PageNotFound(path)
    data, blob = wiki().store.read_file(path)
    mimetype = content_type(path)
    inline = mimetype in INLINE_TYPES
    if mimetype.startswith("text/"):
        mimetype += "; charset=utf-8"
    response = send_file(
        io.BytesIO(data),
        mimetype=mimetype,
        as_attachment=not inline,
        download_name=posixpath.basename(path),
        etag=blob,
        conditional=True,
        max_age=0,
    )
    response.headers["Content-Security-Policy"] = FILE_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response.make_conditional(request)
