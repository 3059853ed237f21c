"""The JSON API, ``/api/v1``: the same pages and rules as the browser, for scripts.

Errors follow one shape, ``{"error": code, "message": sentence}``, produced by
``wiki.errors`` from the same domain exceptions the HTML views raise.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext as _

from repo_store import InvalidContent
from repo_store.paths import check_path, check_revision, page_file

from ..auth import require_editor, wiki
from ..errors import error_response
from .pages import commit_message, commit_time, conflict_labels

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


@blueprint.errorhandler(InvalidJSON)
def _invalid_json(_error: InvalidJSON):  # type: ignore[no-untyped-def]
    return error_response(400, _("The request body must be a JSON object with the documented fields."))


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
def get_page(path: str):  # type: ignore[no-untyped-def]
    path = check_path(path)
    revision = request.args.get("rev") or None
    store, catalog = wiki().store, wiki().catalog
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
    response = jsonify({
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
    })
    response.headers["ETag"] = f'"{page_revision}"'
    return response


@blueprint.route("/pages/<path:path>", methods=["PUT"])
def put_page(path: str):  # type: ignore[no-untyped-def]
    who = require_editor()
    body = json_body()
    markdown = body.get("markdown")
    message = body.get("message") or ""
    base_revision = body.get("base_revision") or None
    if not isinstance(markdown, str) or not isinstance(message, str):
        raise InvalidJSON()
    if base_revision is not None:
        if not isinstance(base_revision, str):
            raise InvalidJSON()
        check_revision(base_revision)
    outcome = wiki().save_page(
        path, markdown, user=who, message=message, base_revision=base_revision,
        default_message=commit_message, labels=conflict_labels(),
    )
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
        raise InvalidParameter(name) from None
    if not low <= value <= high:
        raise InvalidParameter(name)
    return value


class InvalidParameter(InvalidContent):
    """A query-string parameter outside its documented range."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@blueprint.errorhandler(InvalidParameter)
def _invalid_parameter(error: InvalidParameter):  # type: ignore[no-untyped-def]
    messages = {
        "limit": _("limit must be a whole number from 1 to 100."),
        "offset": _("offset must be a whole number, 0 or more."),
    }
    return error_response(400, messages.get(error.name, _("A parameter is not valid.")))


@blueprint.route("/search")
def search():  # type: ignore[no-untyped-def]
    """Full-text search; ``snippet`` is HTML: escaped text with matches in ``<mark>``."""
    query = request.args.get("q", "")
    limit = _bounded_int("limit", 20, 1, 100)
    offset = _bounded_int("offset", 0, 0, 1_000_000)
    order = "date" if request.args.get("order") == "date" else "relevance"
    found = wiki().search.search(query, limit=limit, offset=offset, order=order)
    return jsonify({
        "query": query,
        "total": found.total,
        "results": [
            {"path": hit.path, "title": hit.title, "snippet": hit.snippet, "score": hit.score}
            for hit in found.hits
        ],
        "suggestion": found.suggestion,
    })
