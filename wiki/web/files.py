"""Serving attached files so that nothing in them can run in the wiki's origin."""

from __future__ import annotations

import io
import posixpath

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..app.attachments import mimetype_of
from ..app.errors import AttachmentRefused, DomainError, PageExists, PageNotFound
from ..app.page_names import check_path, page_path_of
from .auth import require_editor, settings, wiki

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
def serve(path: str) -> ResponseReturnValue:
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
def upload(page: str) -> ResponseReturnValue:
    who = require_editor()
    page = check_path(page)
    uploaded = request.files.get("file")
    try:
        if uploaded is None or not uploaded.filename:
            raise AttachmentRefused("empty", "")
        # One byte over the limit is enough for the service to refuse it, without reading a huge upload whole.
        data = uploaded.read(settings()["limits"]["max_file_bytes"] + 1)
        name, attached = wiki().writes.upload(page, uploaded.filename, data, user=who)
    except DomainError as refused:
        # Not a dead end: say why, and lead back to the page and its editor (where the text being written stays).
        return render_template("upload_error.html", page=page, message=refused.describe(_)), refused.status
    if attached.commit is None:
        flash(_("This document was already attached, identical; nothing changed."), "info")
    elif attached.created:
        flash(_("The document “%(name)s” is attached.", name=name), "success")
    else:
        flash(_("The document “%(name)s” is replaced; the previous version stays in the history.", name=name), "success")
    return redirect(url_for("pages.view", path=check_path(page)) + "#attachments")


@blueprint.route("/attachments/<path:page>/delete", methods=["GET", "POST"])
def remove(page: str) -> ResponseReturnValue:
    """Remove a document, after a confirmation page (GET) that says it can be brought back."""
    who = require_editor()
    page = check_path(page)
    name = request.values.get("name", "")
    if request.method == "GET":
        present = next((item for item in wiki().attachments(page) if item.name == name), None)
        if present is None:
            raise PageNotFound(f"{page}/{name}")
        return render_template("remove_attachment.html", page=page, record=wiki().existing_page(page), file=present)
    wiki().writes.remove_attachment(page, name, user=who)
    flash(_("The document “%(name)s” is removed; it stays in the history.", name=name), "success")
    return redirect(url_for("pages.view", path=check_path(page)) + "#attachments")


@blueprint.route("/attachments/<path:page>/restore", methods=["POST"])
def restore(page: str) -> ResponseReturnValue:
    """Bring back a removed document, as it was when it was removed."""
    who = require_editor()
    page = check_path(page)
    name = request.form.get("name", "")
    try:
        wiki().writes.restore_attachment(page, name, user=who)
    except PageExists:
        flash(_("A document named “%(name)s” is attached again already; nothing changed.", name=name), "info")
    else:
        flash(_("The document “%(name)s” is back.", name=name), "success")
    return redirect(url_for("pages.view", path=page) + "#attachments")
