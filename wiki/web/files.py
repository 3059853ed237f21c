"""Serving attached files so that nothing in them can run in the wiki's origin."""

from __future__ import annotations

import io
import posixpath

from flask import Blueprint, Response, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _

from repo_store import PageNotFound
from repo_store.paths import check_path, page_path_of

from ..app.attachments import AttachmentRefused, attachment_name, mimetype_of
from .auth import require_editor, settings, wiki
from .commit_messages import attach_message, remove_file_message

blueprint = Blueprint("files", __name__)

# Types a browser may show in the page; anything else is downloaded.
INLINE_TYPES = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
    "text/csv",
}
# A sandbox for whatever a browser could execute (SVG, HTML, PDF viewers…).
FILE_POLICY = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"


@blueprint.route("/files/<path:path>")
def serve(path: str) -> Response:
    path = check_path(path)
    if page_path_of(path) is not None:
        raise PageNotFound(path)
    data, blob = wiki().store.read_file(path)
    mimetype = mimetype_of(path)
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


@blueprint.route("/attachments/<path:page>", methods=["POST"])
def upload(page: str) -> Response:
    who = require_editor()
    page = check_path(page)
    uploaded = request.files.get("file")
    if uploaded is None or not uploaded.filename:
        raise AttachmentRefused("empty", "")
    name = attachment_name(uploaded.filename)
    data = uploaded.read(settings()["limits"]["max_file_bytes"] + 1)
    commit, created = wiki().put_file(page, name, data, user=who, message=attach_message(name))
    if commit is None:
        flash(_("This document was already attached, identical; nothing changed."), "info")
    elif created:
        flash(_("The document “%(name)s” is attached.", name=name), "success")
    else:
        flash(_("The document “%(name)s” is replaced; the previous version stays in the history.", name=name), "success")
    return redirect(url_for("pages.view", path=page) + "#attachments")


@blueprint.route("/attachments/<path:page>/delete", methods=["POST"])
def remove(page: str) -> Response:
    who = require_editor()
    page = check_path(page)
    name = request.form.get("name", "")
    # A name already stored is removable even if new files may not take it (an imported ``con.pdf``).
    if not name or "/" in name:
        raise PageNotFound(f"{page}/{name}")
    check_path(f"{page}/{name}")
    record = wiki().catalog.page(page)
    wiki().delete_file(f"{page}/{name}", user=who, message=remove_file_message(name, record.title if record else page))
    flash(_("The document “%(name)s” is removed; it stays in the history.", name=name), "success")
    return redirect(url_for("pages.view", path=page) + "#attachments")
