"""The JSON API, ``/api/v1``: the same pages and rules as the browser, for scripts.

Errors follow one shape, ``{"error": code, "message": sentence}``, produced by
``wiki.web.errors`` from the same domain exceptions the HTML views raise.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response as WerkzeugResponse

from ..app.errors import N_, InvalidContent, PageNotFound
from ..app.page_names import check_path, check_revision, page_file
from ..app.page_templates import template_declarations
from ..render.diffs import unified
from . import fiche_views, rate_limits
from .auth import UNSAFE_METHODS, require_editor, user, wiki
from .pages import commit_time, redirect_keeping_query

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


def iso_time(timestamp: int, offset: str) -> str:
    return commit_time(timestamp, offset).isoformat()


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidJSON()
    return body


class InvalidJSON(InvalidContent):
    """The request body is not the JSON object this call expects."""

    message_key = N_("The request body must be a JSON object with the documented fields.")


@blueprint.before_request
def _count_writes() -> None:
    who = user()
    if request.method in UNSAFE_METHODS and who is not None and who.can_edit:
        rate_limits.count("api_write", who.name)


@blueprint.route("/pages")
def list_pages() -> Response:
    pages = [
        {
            "path": record.path,
            "title": record.title,
            "revision": record.revision,
            "updated": iso_time(record.updated, record.updated_offset),
        }
        for record in wiki().catalog.pages()
    ]
    return jsonify({"pages": pages})


@blueprint.route("/pages/<path:path>", methods=["GET"])
def get_page(path: str) -> ResponseReturnValue:
    path = check_path(path)
    revision = request.args.get("rev") or None
    store, catalog = wiki().store, wiki().catalog
    if catalog.page(path) is None and not revision:
        moved = _moved(path)
        if moved is not None:
            return moved
    if revision:
        check_revision(revision)
        blob = store.read_page(path, revision)
        view = wiki().view(path, revision)
        page_revision = catalog.revision_at(page_file(path), blob.commit) or blob.commit
        info = store.commit_info(page_revision)
        markdown = blob.markdown
        updated = iso_time(info.author_time, info.author_offset)
        authors = catalog.authors(page_file(path), until=blob.commit)
    else:
        view = wiki().view(path)
        record = view.record
        assert record is not None
        page_revision = record.revision
        markdown = store.blob(record.blob).decode("utf-8", "replace")
        updated = iso_time(record.updated, record.updated_offset)
        authors = wiki().authors(path)
    if request.if_none_match.contains(page_revision) and not revision:
        return Response(status=304, headers={"ETag": f'"{page_revision}"'})
    response = jsonify(
        {
            "path": path,
            "title": view.title,
            "markdown": markdown,
            "html": view.rendered.html,
            "revision": page_revision,
            "updated": updated,
            "licence": view.licence.spdx if view.licence else None,
            "tags": view.tags,
            "meta": view.rendered.meta,
            "authors": authors,
            **fiche_views.page_fields(path, view.rendered.meta),  # "template" and "fields"
        }
    )
    response.headers["ETag"] = f'"{page_revision}"'
    return response


@blueprint.route("/templates")
def list_templates() -> Response:
    """The templates and the fields each declares, in order (see ``wiki.app.fiches``)."""
    return jsonify({"templates": [found.as_json() for found in template_declarations(wiki().catalog)]})


@blueprint.route("/pages/<path:path>", methods=["PUT"])
def put_page(path: str) -> ResponseReturnValue:
    who = require_editor()
    body = json_body()
    markdown = body.get("markdown")
    message = body.get("message") or ""
    base_revision = body.get("base_revision") or None
    if not isinstance(markdown, str) or not isinstance(message, str):
        raise InvalidJSON()
    if base_revision is not None and not isinstance(base_revision, str):
        raise InvalidJSON()
    outcome = wiki().writes.save(path, markdown, user=who, message=message, base_revision=base_revision)
    response = jsonify({"revision": outcome.revision, "merged": outcome.merged})
    response.status_code = 201 if outcome.created else 200
    response.headers["ETag"] = f'"{outcome.revision}"'
    return response


def _bounded_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(name, low, high) from None
    if not low <= value <= high:
        raise InvalidParameter(name, low, high)
    return value


class InvalidParameter(InvalidContent):
    """A query-string parameter outside its documented range."""

    message_key = N_("%(name)s must be a whole number from %(low)d to %(high)d.")

    def __init__(self, name: str, low: int, high: int) -> None:
        super().__init__(name)
        self.name, self.low, self.high = name, low, high

    def message_values(self) -> dict[str, object]:
        return {"name": self.name, "low": self.low, "high": self.high}


@blueprint.route("/search")
def search() -> ResponseReturnValue:
    """Full-text search; ``snippet`` is HTML: escaped text with matches in ``<mark>``."""
    query = request.args.get("q", "")
    limit = _bounded_int("limit", 20, 1, 100)
    offset = _bounded_int("offset", 0, 0, 1_000_000)
    order = "date" if request.args.get("order") == "date" else "relevance"
    found = wiki().search_pages(query, limit=limit, offset=offset, order=order)
    return jsonify(
        {
            "query": query,
            "total": found.total,
            "results": [{"path": hit.path, "title": hit.title, "snippet": hit.snippet, "score": hit.score} for hit in found.hits],
            "suggestion": found.suggestion,
            "corrected": found.corrected,
            "fallback": found.fallback,
        }
    )


# -- history, moves and deletions ------------------------------------------


def _moved(path: str) -> WerkzeugResponse | None:
    """A 301 to where a moved page is now, or None."""
    moved_to = wiki().history.renamed_page(path)
    return None if moved_to is None else redirect_keeping_query(url_for("api.get_page", path=moved_to))


@blueprint.route("/pages/<path:path>/history")
def page_history(path: str) -> ResponseReturnValue:
    path = check_path(path)
    limit = _bounded_int("limit", 100, 1, 1000)
    offset = _bounded_int("offset", 0, 0, 10_000_000)
    revisions = wiki().history.revisions(page_file(path), limit=limit, offset=offset)
    if not revisions and offset == 0:
        raise PageNotFound(path)
    return jsonify(
        {
            "revisions": [
                {
                    "revision": item.revision,
                    "author": item.author,
                    "date": iso_time(item.time, item.offset),
                    "message": item.message.strip(),
                }
                for item in revisions
            ]
        }
    )


@blueprint.route("/pages/<path:path>/diff")
def page_diff(path: str) -> ResponseReturnValue:
    """A unified diff of the page between ``from`` and ``to`` (default: its last change)."""
    path = check_path(path)
    file_path = page_file(path)
    since, to = wiki().diff_range(path, request.args.get("from") or None, request.args.get("to") or None)
    old_text = wiki().text_at(path, since)[0] if since else ""
    new_text = wiki().text_at(path, to)[0]
    labels = (f"a/{file_path}@{since[:7]}" if since else "/dev/null", f"b/{file_path}@{to[:7]}")
    return jsonify({"diff": unified(old_text, new_text, *labels), "from": since, "to": to})


@blueprint.route("/pages/<path:path>", methods=["DELETE"])
def delete_page(path: str) -> ResponseReturnValue:
    who = require_editor()
    commit = wiki().writes.delete(path, user=who, base_revision=request.args.get("base_revision") or None)
    return jsonify({"revision": commit.sha})


@blueprint.route("/pages/<path:path>/move", methods=["POST"])
def move_page(path: str) -> ResponseReturnValue:
    who = require_editor()
    body = json_body()
    target, title = body.get("to"), body.get("title")
    if not isinstance(target, str) or not isinstance(title, (str, type(None))):
        raise InvalidJSON()
    commit, moved_to = wiki().writes.move(path, target, user=who, title=title)
    return jsonify({"revision": commit.sha, "path": moved_to})


@blueprint.route("/folders/<path:folder>/move", methods=["POST"])
def move_folder(folder: str) -> ResponseReturnValue:
    """Rename a folder with its pages and documents: ``{"to": "new/folder"}``; the old addresses lead to the new."""
    who = require_editor()
    target = json_body().get("to")
    if not isinstance(target, str):
        raise InvalidJSON()
    commit, moved_to = wiki().writes.move_folder(folder, target, user=who)
    return jsonify({"revision": commit.sha, "path": moved_to})


@blueprint.route("/changes")
def recent_changes() -> ResponseReturnValue:
    limit = _bounded_int("limit", 50, 1, 500)
    offset = _bounded_int("offset", 0, 0, 10_000_000)
    folder = request.args.get("folder") or None
    author = request.args.get("author") or None
    found = wiki().history.changes(limit=limit, offset=offset, folder=folder, author=author)
    return jsonify(
        {
            "changes": [
                {
                    "revision": change.revision,
                    "author": change.author,
                    "date": iso_time(change.time, change.offset),
                    "message": change.message.strip(),
                    "paths": list(change.paths),
                }
                for change in found
            ]
        }
    )


# -- attachments -----------------------------------------------------------


@blueprint.route("/files/<path:path>", methods=["PUT"])
def put_file(path: str) -> ResponseReturnValue:
    """Store the raw request body as ``path``: a page's folder and a file name."""
    who = require_editor()
    page, name = _page_and_name(path)
    attached = wiki().writes.attach(page, name, request.get_data(cache=False), user=who)
    response = jsonify({"revision": attached.revision})
    response.status_code = 201 if attached.created else 200
    return response


@blueprint.route("/files/<path:path>", methods=["DELETE"])
def delete_file(path: str) -> ResponseReturnValue:
    who = require_editor()
    page, name = _page_and_name(path)
    commit = wiki().writes.remove_attachment(page, name, user=who)
    return jsonify({"revision": commit.sha})


def _page_and_name(path: str) -> tuple[str, str]:
    """A file's URL path split into its page and its name (a file at the root belongs to no page)."""
    page, _slash, name = path.rpartition("/")
    if not page:
        raise PageNotFound(path)
    return page, name
