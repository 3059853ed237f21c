"""Reading and editing pages in the browser."""

from __future__ import annotations

import urllib.parse
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from ..app.attachments import IMAGES
from ..app.errors import Conflict, ContentRejected, DomainError, InvalidPath, PageExists, PageNotFound
from ..app.export import attribution_line
from ..app.fiches import InvalidFields
from ..app.licences import Licence
from ..app.page_names import (
    TEMPLATES_FOLDER,
    check_new_page_path,
    check_path,
    folder_path,
    is_slug_path,
    page_file,
    page_folders,
    slugify,
)
from ..app.page_templates import instantiate, templates
from ..app.service import PageView
from ..render.rendering import Rendered
from . import fiche_views
from .addresses import absolute_url, origin, secure_cookies
from .auth import require_editor, safe_next, settings, user, wiki
from .conflict_page import conflict_page, resolve_conflict
from .http_cache import Validators, page_validators
from .i18n import LANGUAGE_COOKIE
from .navigation import page_tree
from .pending import drafts, pending_files, pending_urls

blueprint = Blueprint("pages", __name__)
blueprint.add_app_template_global(fiche_views.fiche_box, "fiche_box")


def commit_time(timestamp: int, offset: str) -> datetime:
    sign = -1 if offset.startswith("-") else 1
    try:
        minutes = int(offset[1:3]) * 60 + int(offset[3:5])
    except ValueError:
        minutes = 0
    return datetime.fromtimestamp(timestamp, timezone(timedelta(minutes=sign * minutes)))


@blueprint.app_template_filter("page_url")
def page_url_filter(path: str) -> str:
    return url_for("pages.view", path=path)


@blueprint.route("/")
def index() -> ResponseReturnValue:
    return redirect(url_for("pages.view", path=settings()["site"]["home"]))


@blueprint.route("/wiki/")
def wiki_root() -> ResponseReturnValue:
    return redirect(url_for("pages.view", path=settings()["site"]["home"]))


CACHED_PAGE_MAX_CHARS = 256 * 1024


@blueprint.route("/wiki/<path:path>")
def view(path: str) -> ResponseReturnValue:
    # Anonymous visitors all see the same page for the same commit and language,
    # so the whole HTML is kept until main moves. Only the plain address: any
    # query string (an old revision, or anything a visitor makes up) would let
    # one page fill the cache with copies.
    validators = page_validators(path)
    if validators is not None and (unchanged := validators.not_modified()) is not None:
        return unchanged
    cache_key = None
    if user() is None and not request.query_string and not session.get("_flashes"):
        # The origin too: without site.base_url, the attribution and linked data name the request's host.
        cache_key = (path, wiki().synced_head, str(get_locale()), origin())
        cached = wiki().page_html.get_item(cache_key)
        if cached is not None:
            return _fresh(cached, validators)
    path = check_path(path)
    revision = request.args.get("rev") or None
    try:
        page = wiki().view(path, revision)
    except PageNotFound:
        return missing_page(path)
    record = page.record
    updated = commit_time(record.updated, record.updated_offset) if record and not page.old else None
    old_commit = wiki().store.commit_info(page.revision) if page.old else None
    authors = wiki().authors(path) if not page.old else []
    html = render_template(
        "page.html",
        page=page,
        attachments=wiki().attachments(path) if not page.old else [],
        removed=wiki().removed_attachments(path) if not page.old and _can_edit() else [],
        backlinks=wiki().links.backlinks(path) if not page.old else [],
        updated=updated,
        authors=authors,
        attribution=attribution(page.title, authors, page.licence, path),
        linked_data=linked_data(page, authors, updated),
        old_commit=old_commit,
        old_time=commit_time(old_commit.author_time, old_commit.author_offset) if old_commit else None,
    )
    if cache_key is not None and len(html) <= CACHED_PAGE_MAX_CHARS:
        wiki().page_html.put(cache_key, html)
    return _fresh(html, validators)


def _can_edit() -> bool:
    who = user()
    return who is not None and who.can_edit


def _fresh(html: str, validators: Validators | None) -> Response:
    response = Response(html, mimetype="text/html")
    return validators.apply(response) if validators is not None else response


def attribution(title: str, authors: list[str], licence: Licence | None, path: str) -> str:
    return attribution_line(title, authors, settings()["site"]["name"], licence, absolute_url(url_for("pages.view", path=path)))


def linked_data(page: PageView, authors: list[str], updated: datetime | None) -> dict[str, Any]:
    """schema.org description of the page, for search engines and harvesters of open content."""
    data = {
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": page.title,
        "url": absolute_url(url_for("pages.view", path=page.path)),
        "inLanguage": str(page.rendered.meta.get("lang") or settings()["site"]["language"]),
        "author": [{"@type": "Person", "name": name} for name in authors],
        "publisher": {"@type": "Organization", "name": settings()["site"]["name"]},
        "keywords": page.tags,
    }
    if page.licence:
        data["license"] = page.licence.url
    if updated:
        data["dateModified"] = updated.isoformat()
    return data


def redirect_keeping_query(target: str) -> WerkzeugResponse:
    """A permanent redirect to where a page moved, with the same query string (``?rev=``…)."""
    query = request.query_string.decode("ascii", "replace")
    response = redirect(target + ("?" + query if query else ""), 301)
    # Browsers keep a 301 forever unless told otherwise; a move can be undone.
    response.cache_control.no_cache = True
    return response


def missing_page(path: str) -> ResponseReturnValue:
    """A page that is not there: moved (redirect), deleted (say so), or never written (offer it)."""
    history = wiki().history
    moved_to = history.renamed_page(path, existing=False)
    if moved_to is not None:
        return redirect_keeping_query(url_for("pages.view", path=moved_to))
    last = history.last_change(page_file(path))
    deleted = last if last is not None and last.status == "D" else None
    before = history.revision_before(page_file(path), deleted.seq) if deleted else None
    return render_template(
        "missing.html",
        path=path,
        creatable=is_slug_path(path),
        deleted=deleted,
        restorable=before,
        deleted_at=commit_time(deleted.time, deleted.offset) if deleted else None,
    ), 404


@blueprint.route("/raw/<path:path>")
def raw(path: str) -> Response:
    page = wiki().store.read_page(check_path(path), request.args.get("rev") or None)
    response = Response(page.markdown, mimetype="text/markdown")
    response.headers["Content-Type"] = "text/markdown; charset=utf-8"
    response.headers["ETag"] = f'"{page.blob}"'
    return response


@blueprint.app_template_global("known_title")
def known_title(path: str) -> str:
    """The title readers know a page by, for the editor's heading; "" for a page not written yet."""
    record = wiki().page(path)
    return record.title if record is not None else ""


@blueprint.route("/edit/<path:path>", methods=["GET", "POST"])
def edit(path: str) -> ResponseReturnValue:
    who = require_editor()
    path = check_path(path)
    store = wiki().store
    if request.method == "GET":
        try:
            current = store.read_page(path)
            markdown, base, is_new = current.markdown, current.commit, False
        except PageNotFound:
            check_new_page_path(path)
            title = " ".join(request.args.get("title", "").split())[:200]
            markdown, base, is_new = _new_page_text(title, request.args.get("template", "")), "", True
        return render_template(
            "edit.html",
            path=path,
            markdown=markdown,
            base_revision=base,
            message="",
            is_new=is_new,
            preview=None,
            problems=[],
            attachments=[] if is_new else wiki().attachments(path),
            pending=pending_files(path) if is_new else [],
            fiche=fiche_views.editor_form(path, markdown),
        )
    # The fiche form's changed inputs go into the text's front matter (wiki.app.fiches.merge_fields).
    markdown, fiche_sent, fiche_shown = fiche_views.merge_form(path, request.form.get("markdown", ""), request.form)
    message = request.form.get("message", "")
    base_revision = request.form.get("base_revision") or None
    is_new = request.form.get("is_new") == "1"

    def editor(
        preview: Rendered | None = None, problems: list[str] | None = None, field_errors: dict[str, str] | None = None
    ) -> str:
        """The editor again, with the author's text, message and base as sent: nothing typed is lost."""
        return render_template(
            "edit.html",
            path=path,
            markdown=markdown,
            base_revision=base_revision or "",
            message=message,
            is_new=is_new,
            preview=preview,
            problems=problems or [],
            attachments=wiki().attachments(path) if store.page_exists(path) else [],
            pending=pending_files(path) if is_new else [],
            fiche=fiche_views.editor_form(path, markdown, fiche_sent, fiche_shown, field_errors),
        )

    # The new-page editor's own file input and buttons (they work without JavaScript): a document
    # chosen there waits for the first save (wiki.app.drafts), and a link to it goes into the text.
    removed = request.form.get("remove_pending", "")
    if removed:
        drafts().remove_file(who.id, path, removed)
        flash(_("The document “%(name)s” will not be attached.", name=removed), "info")
        return editor()
    for uploaded in request.files.getlist("file"):
        if not uploaded.filename:
            continue
        data = uploaded.read(settings()["limits"]["max_file_bytes"] + 1)
        try:
            added = drafts().add_file(who.id, path, uploaded.filename, data, page_exists=store.page_exists(path))
        except DomainError as refused:
            return editor(problems=[refused.describe(_)]), refused.status
        markdown = _with_link(markdown, uploaded.filename, added.name)
        flash(_("The document “%(name)s” will be attached when the page is saved.", name=added.name), "success")
    if request.form.get("action") == "attach":
        return editor()
    if request.form.get("action") == "preview":
        return editor(preview=wiki().preview(path, markdown, pending_urls(who.id, path)))
    try:
        outcome = wiki().writes.save(path, markdown, user=who, message=message, base_revision=base_revision)
    except Conflict as conflict:
        return conflict_page(path, conflict, yours=markdown, message=message)
    except ContentRejected as rejected:
        return editor(problems=rejected.problems_for(_)), rejected.status
    except InvalidFields as invalid:  # the sentence above the form, and each field's next to its input
        return editor(problems=[invalid.describe(_)], field_errors=invalid.sentences(_)), invalid.status
    except DomainError as refused:  # a full disk, a busy wiki, a name refused…
        return editor(problems=[refused.describe(_)]), refused.status
    if outcome.merged:
        flash(_("Saved. Somebody else changed this page meanwhile; both changes were merged."), "info")
    elif outcome.changed:
        flash(_("Saved."), "success")
    else:
        flash(_("Nothing changed, so nothing was saved."), "info")
    return redirect(url_for("pages.view", path=outcome.path))


@blueprint.route("/resolve/<path:path>", methods=["POST"])
def resolve(path: str) -> ResponseReturnValue:
    """The conflict page's form: the passages as chosen, saved over the version they were chosen against."""
    who = require_editor()
    return resolve_conflict(check_path(path), who, request.form)


def _with_link(markdown: str, filename: str, name: str) -> str:
    """The text with a link to an added document at its end (an image shown), unless it links to it already."""
    if f"({name})" in markdown:
        return markdown
    label = filename.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0].replace("[", "").replace("]", "").strip()
    image = "!" if name.rsplit(".", 1)[-1] in IMAGES else ""
    return markdown.rstrip("\n") + f"\n\n{image}[{label or name}]({name})\n"


def _new_page_text(title: str, template: str) -> str:
    """The editor's first text for a new page: from a template if one was chosen."""
    if template:
        try:
            source = wiki().store.read_page(f"{TEMPLATES_FOLDER}/{check_path(template)}").markdown
        except (PageNotFound, InvalidPath):
            source = None
        if source is not None:
            return instantiate(source, title or template, check_path(template))
    return f"# {title}\n\n" if title else ""


@blueprint.route("/new")
def new_page() -> ResponseReturnValue:
    require_editor()
    title = " ".join(request.args.get("title", "").split())[:200]
    folder = request.args.get("folder", "").strip().strip("/")[:200]
    new_folder = " ".join(request.args.get("new_folder", "").split())[:200]
    template = request.args.get("template", "").strip()
    folders = page_folders(wiki().catalog.pages())
    choices = templates(wiki().catalog)
    error = None
    chosen = next((choice for choice in choices if choice.name == template), None)
    if chosen is not None and chosen.folder and not folder and not new_folder:
        folder = chosen.folder  # a template puts its pages in its folder (its ``dossier``) unless another is chosen
    if new_folder:
        # A folder is made with its first page: its name, like a title, becomes a path.
        named = folder_path(new_folder)
        if named:
            folder = f"{folder}/{named}" if folder else named
        else:
            error = _("This folder name has no letters or digits to make a folder name from.")
    offered = request.args.get("offer") == "1"  # from a link to a missing page: show the form, filled in
    if title and not error and not offered:
        slug = slugify(title)
        if not slug:
            error = _("This title has no letters or digits to make a page name from.")
        else:
            path = f"{folder}/{slug}" if folder else slug
            try:
                check_new_page_path(path)
            except InvalidPath as invalid:
                error = invalid.describe(_)
            else:
                if wiki().store.page_exists(path):
                    error = PageExists(path).describe(_)
                    return render_template(
                        "new.html",
                        title=title,
                        folder=folder,
                        folders=_with(folders, folder),
                        error=error,
                        existing=path,
                        templates=choices,
                        template=template,
                    ), 409
                query = urllib.parse.urlencode({"title": title, **({"template": template} if template else {})})
                return redirect(url_for("pages.edit", path=path) + "?" + query)
    return render_template(
        "new.html",
        title=title,
        folder=folder,
        folders=_with(folders, folder),
        error=error,
        existing=None,
        templates=choices,
        template=template,
    ), (400 if error else 200)


def _with(folders: list[str], folder: str) -> list[str]:
    """The folders to choose from, with the one asked for even before it has a page (a new folder, a red link's)."""
    return sorted({*folders, folder}) if folder else folders


@blueprint.route("/pages")
@blueprint.route("/pages/<path:folder>")
def all_pages(folder: str = "") -> ResponseReturnValue:
    """The tree of folders and pages (of the whole wiki, or of one folder), from the catalog's titles in one pass."""
    folder = check_path(folder) if folder else ""
    tree = page_tree(folder)
    if folder and not tree.total:
        return render_template("error.html", status=404, message=_("There is no page in this folder.")), 404
    return render_template("pages.html", folder=folder, tree=tree, pages=tree.pages, total=tree.total)


@blueprint.route("/healthz")
def healthz() -> ResponseReturnValue:
    """200 while pages can be read (``degraded`` if search is unavailable or behind), else 503.

    Anyone may ask, even on a private wiki, so everyone gets status words only;
    the commit ids and counts (what ``main`` is, how far search lags it, which
    files were skipped) are for accounts, logged in or with an API token (this
    URL is outside the API, whose guard reads tokens, so it reads its own).
    """
    from .auth import accounts, bearer_token

    health = wiki().health()
    body: dict = {"status": health.status, "search": health.search, "indexed": health.indexed}
    token = bearer_token()
    if user() is not None or (token and accounts().user_for_token(token) is not None):
        body.update(
            revision=health.revision,
            behind_by=health.behind_by,
            skipped=[{"path": path, "reason": reason} for path, reason in health.skipped],
        )
    headers = {"Cache-Control": "no-store", "Vary": "Cookie, Authorization"}
    return body, (200 if health.readable else 503), headers


@blueprint.route("/lang/<code>")
def language(code: str) -> ResponseReturnValue:
    response = redirect(safe_next(request.args.get("next"), url_for("pages.index")))
    if code in current_app.config["TROUSSE_LANGUAGES"]:
        response.set_cookie(
            LANGUAGE_COOKIE,
            code,
            max_age=365 * 86400,
            samesite="Lax",
            httponly=True,
            secure=secure_cookies(),
        )
    return response
