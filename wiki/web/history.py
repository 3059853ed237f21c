"""A page's past in the browser: history, old versions compared, blame, restore, move, delete; recent changes."""

from __future__ import annotations

import posixpath
import re
import urllib.parse
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..app.errors import InvalidPath, NothingToRestore, PageExists, PageNotFound
from ..app.page_names import check_path, check_revision, folder_path, page_file, page_folders, title_path
from ..render.diffs import side_by_side, unified
from .addresses import origin
from .auth import require_editor, settings, wiki
from .forms import page_number
from .pages import commit_time

blueprint = Blueprint("history", __name__)

PAGE_SIZE = 50
FEED_SIZE = 50
BLAME_ROWS = 3000  # lines of a blame shown; the raw text has them all


@blueprint.app_template_filter("commit_time")
def commit_time_filter(item: Any) -> datetime:  # a revision or a change: both have time and offset
    return commit_time(item.time, item.offset)


@blueprint.app_template_filter("short")
def short(revision: str) -> str:
    return revision[:7]


@blueprint.route("/history/<path:path>")
def page_history(path: str) -> ResponseReturnValue:
    path = check_path(path)
    file_path = page_file(path)
    page = page_number(10_000)
    revisions = wiki().history.revisions(file_path, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    if not revisions:
        raise PageNotFound(path)
    total = wiki().history.count(file_path)
    record = wiki().catalog.page(path)
    return render_template(
        "history.html",
        path=path,
        record=record,
        revisions=revisions,
        page=page,
        pages=-(-total // PAGE_SIZE),
        total=total,
        now=datetime.now(UTC),
    )


@blueprint.route("/diff/<path:path>")
def diff(path: str) -> ResponseReturnValue:
    """Two versions side by side; with ``format=text``, the whole unified diff as plain text.

    Both are bounded in time (``wiki.render.diffs``); the side-by-side view stops
    after ``diffs.MAX_ROWS`` rows and links to the text, which is always whole.
    """
    path = check_path(path)
    old_revision, new_revision = _diff_range(path)
    old_text, old_commit = wiki().text_at(path, old_revision) if old_revision else ("", "")
    new_text, new_commit = wiki().text_at(path, new_revision)
    if request.args.get("format") == "text":
        file_path = page_file(path)
        labels = (f"a/{file_path}@{old_commit[:7]}" if old_commit else "/dev/null", f"b/{file_path}@{new_commit[:7]}")
        response = Response(unified(old_text, new_text, *labels), mimetype="text/plain")
        response.headers["Content-Type"] = "text/plain; charset=utf-8"
        return response
    old_info = wiki().history.revision(page_file(path), old_commit) if old_commit else None
    new_info = wiki().history.revision(page_file(path), new_commit)
    compared = side_by_side(old_text, new_text)
    text_query: dict[str, Any] = {"path": path, "to": new_commit, "format": "text"}
    if old_commit:
        text_query["from"] = old_commit
    as_text = url_for("history.diff", **text_query)
    return render_template(
        "diff.html",
        path=path,
        rows=compared.rows,
        compared=compared,
        as_text=as_text,
        old=old_info,
        new=new_info,
        old_commit=old_commit,
        new_commit=new_commit,
        record=wiki().catalog.page(path),
    )


def _diff_range(path: str) -> tuple[str | None, str]:
    return wiki().diff_range(path, request.args.get("from") or None, request.args.get("to") or None)


@blueprint.route("/blame/<path:path>")
def blame(path: str) -> ResponseReturnValue:
    path = check_path(path)
    lines = wiki().blame(path)
    return render_template("blame.html", path=path, lines=lines[:BLAME_ROWS], total=len(lines), record=wiki().catalog.page(path))


@blueprint.route("/restore/<path:path>", methods=["POST"])
def restore(path: str) -> ResponseReturnValue:
    who = require_editor()
    revision = request.form.get("revision", "")
    try:
        wiki().writes.restore(path, revision, user=who)
    except NothingToRestore as unchanged:
        flash(unchanged.describe(_), "info")
        return redirect(url_for("pages.view", path=unchanged.path))
    flash(
        _(
            "The page is back as it was at revision %(revision)s; this is a new change in its history.",
            revision=check_revision(revision)[:7],
        ),
        "success",
    )
    return redirect(url_for("pages.view", path=check_path(path)))


@blueprint.route("/move/<path:path>", methods=["GET", "POST"])
def move(path: str) -> ResponseReturnValue:
    """Move or rename a page by its title and folder; the new address is shown before anything changes.

    People give a title and choose a folder; the address is derived from them
    and shown with the redirect the old address will leave, then confirmed.
    An exact address (``to``) is still accepted, for those who know it.
    """
    who = require_editor()
    path = check_path(path)
    record = wiki().existing_page(path)
    form = request.form
    title = " ".join(form.get("title", record.title).split())[:200] or record.title
    folder = form.get("folder", posixpath.dirname(path)).strip().strip("/")[:200]
    new_folder = " ".join(form.get("new_folder", "").split())[:200]
    if new_folder:
        folder = "/".join(filter(None, (folder, folder_path(new_folder))))
    exact = form.get("to", "").strip()
    target = exact or title_path(title, folder)
    folders = sorted({*page_folders(wiki().catalog.pages()), posixpath.dirname(path), folder} - {""})

    def page(error: str | None = None, proposed: str | None = None) -> str:
        return render_template(
            "move.html",
            path=path,
            record=record,
            title=title,
            folder=folder,
            folders=folders,
            target=exact or path,
            proposed=proposed,
            error=error,
        )

    if request.method == "GET":
        return page()
    if not target:
        return page(_("This title has no letters or digits to make a page name from.")), 400
    if not exact and form.get("action") != "move":
        return page(proposed=target)
    try:
        _commit, moved_to = wiki().writes.move(path, target, user=who, title=None if exact else title)
    except (InvalidPath, PageExists) as refused:  # the form again, with what was typed and why it cannot be
        return page(refused.describe(_)), refused.status
    if moved_to == path:
        flash(_("The page was renamed."), "success")
    else:
        flash(_("The page was moved; its old address now leads here."), "success")
    return redirect(url_for("pages.view", path=moved_to))


@blueprint.route("/move-folder/<path:folder>", methods=["POST"])
def move_folder(folder: str) -> ResponseReturnValue:
    """Rename a folder with all its pages and documents; every old address leads to the new one."""
    who = require_editor()
    folder = check_path(folder)
    name = " ".join(request.form.get("name", "").split())[:200]
    target = "/".join(filter(None, (posixpath.dirname(folder), folder_path(name))))
    if not folder_path(name):
        flash(_("This folder name has no letters or digits to make a folder name from."), "error")
        return redirect(url_for("pages.all_pages", folder=folder))
    try:
        _commit, moved_to = wiki().writes.move_folder(folder, target, user=who)
    except (InvalidPath, PageExists) as refused:
        flash(refused.describe(_), "error")
        return redirect(url_for("pages.all_pages", folder=folder))
    flash(_("The folder was renamed; the old addresses of its pages lead to the new ones."), "success")
    return redirect(url_for("pages.all_pages", folder=moved_to))


@blueprint.route("/delete/<path:path>", methods=["GET", "POST"])
def delete(path: str) -> ResponseReturnValue:
    who = require_editor()
    path = check_path(path)
    record = wiki().existing_page(path)
    if request.method == "GET":
        return render_template("delete.html", path=path, record=record, base_revision=wiki().store.head())
    wiki().writes.delete(path, user=who, base_revision=request.form.get("base_revision") or None)
    flash(_("The page was deleted. It stays in the history and can be restored."), "success")
    return redirect(url_for("pages.view", path=path))


@blueprint.route("/changes")
def changes() -> ResponseReturnValue:
    folder = request.args.get("folder", "").strip().strip("/")[:200] or None
    author = request.args.get("author", "").strip()[:200] or None
    page = page_number(10_000)
    found = wiki().history.changes(limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE, folder=folder, author=author)
    return render_template(
        "changes.html",
        changes=found[:PAGE_SIZE],
        more=len(found) > PAGE_SIZE,
        page=page,
        folder=folder or "",
        author=author or "",
        authors=wiki().history.authors_list(),
        now=datetime.now(UTC),
    )


@blueprint.route("/changes.atom")
def feed() -> Response:
    """The latest changes as an Atom feed (``?folder=`` for one folder); every link starts with the wiki's address."""
    base = origin()
    site_name = settings()["site"]["name"]
    folder = request.args.get("folder", "").strip().strip("/")[:200] or None
    if folder:
        folder = check_path(folder)
    found = wiki().history.changes(limit=FEED_SIZE, folder=folder)
    title = (
        _("Changes in %(folder)s · %(site)s", folder=folder, site=site_name)
        if folder
        else _("Recent changes · %(site)s", site=site_name)
    )
    query = "?" + urllib.parse.urlencode({"folder": folder}) if folder else ""
    entries = [
        (
            change.revision,
            change.subject,
            change.author,
            commit_time(change.time, change.offset),
            _entry_link(base, change),
            ", ".join(change.paths),
        )
        for change in found
    ]
    return _atom(base, title, f"/changes.atom{query}", f"/changes{query}", entries)


@blueprint.route("/history/<path:path>.atom")
def page_feed(path: str) -> Response:
    """One page's changes as an Atom feed, for those who follow a page in a feed reader rather than by e-mail."""
    path = check_path(path)
    record = wiki().existing_page(path)
    base = origin()
    revisions = wiki().history.revisions(page_file(path), limit=FEED_SIZE)
    entries = [
        (
            item.revision,
            item.subject,
            item.author,
            commit_time(item.time, item.offset),
            f"{base}/diff/{urllib.parse.quote(path)}?to={item.revision}",
            record.title,
        )
        for item in revisions
    ]
    title = _("Changes to « %(title)s » · %(site)s", title=record.title, site=settings()["site"]["name"])
    quoted = urllib.parse.quote(path)
    return _atom(base, title, f"/history/{quoted}.atom", f"/history/{quoted}", entries)


def _atom(
    base: str, title: str, self_path: str, alternate: str, entries: list[tuple[str, str, str, datetime, str, str]]
) -> Response:
    """An Atom document: (revision, summary, author, when, link, what changed) per entry, newest first."""
    atom = "http://www.w3.org/2005/Atom"
    ElementTree.register_namespace("", atom)
    root = ElementTree.Element(f"{{{atom}}}feed")
    ElementTree.SubElement(root, f"{{{atom}}}title").text = _xml_text(title)
    ElementTree.SubElement(root, f"{{{atom}}}id").text = base + alternate
    ElementTree.SubElement(root, f"{{{atom}}}link", rel="self", href=base + self_path)
    ElementTree.SubElement(root, f"{{{atom}}}link", rel="alternate", href=base + alternate, type="text/html")
    updated = entries[0][3].isoformat() if entries else "1970-01-01T00:00:00+00:00"
    ElementTree.SubElement(root, f"{{{atom}}}updated").text = updated
    for revision, subject, author_name, when, link, what in entries:
        entry = ElementTree.SubElement(root, f"{{{atom}}}entry")
        ElementTree.SubElement(entry, f"{{{atom}}}title").text = _xml_text(subject or _("(no summary)"))
        ElementTree.SubElement(entry, f"{{{atom}}}id").text = f"{base}/changes#{revision}"
        ElementTree.SubElement(entry, f"{{{atom}}}updated").text = when.isoformat()
        author = ElementTree.SubElement(entry, f"{{{atom}}}author")
        ElementTree.SubElement(author, f"{{{atom}}}name").text = _xml_text(author_name or "?")
        ElementTree.SubElement(entry, f"{{{atom}}}link", rel="alternate", href=link)
        ElementTree.SubElement(entry, f"{{{atom}}}summary").text = _xml_text(what)
    body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(root, encoding="utf-8")
    return Response(body, mimetype="application/atom+xml", headers={"Content-Type": "application/atom+xml; charset=utf-8"})


def _entry_link(base: str, change: Any) -> str:  # a change of the history
    pages = [item.path for item in change.touched if item.is_page and item.status != "D"]
    if pages:
        return f"{base}/diff/{urllib.parse.quote(pages[0])}?to={change.revision}"
    return f"{base}/changes"


# XML 1.0 cannot carry most control characters, nor U+FFFE and U+FFFF (which pushed commits may hold), even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)
