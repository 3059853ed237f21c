"""``/collections/<folder>``: a folder's front matter as a sortable table, and as CSV, JSON and GeoJSON."""

from __future__ import annotations

import json
from collections import Counter

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue

from ..app.collections import Collection, build, cell_text, to_csv, to_geojson, to_json
from ..app.errors import PageNotFound
from ..app.page_names import check_path
from .auth import settings, wiki
from .downloads import download

blueprint = Blueprint("collections", __name__)


def _collection(folder: str) -> Collection:
    folder = check_path(folder.strip("/"))
    collection = build(folder, wiki().catalog.pages(folder), settings()["site"]["default_licence"])
    if not collection.rows:
        raise PageNotFound(folder)
    return collection


def _licence_links(collection: Collection) -> str:
    return ", ".join(f'<{licence.url}>; rel="license"' for licence in collection.licences)


@blueprint.route("/collections")
def index() -> ResponseReturnValue:
    counts = Counter(record.path.rsplit("/", 1)[0] for record in wiki().catalog.pages(templates=False) if "/" in record.path)
    return render_template("collections_index.html", folders=sorted(counts.items()))


@blueprint.route("/collections/<path:folder>")
def table(folder: str) -> ResponseReturnValue:
    for suffix, view in ((".csv", as_csv), (".json", as_json), (".geojson", as_geojson)):
        if folder.endswith(suffix):
            return view(folder[: -len(suffix)])
    collection = _collection(folder)
    sort = request.args.get("sort", "path")
    if sort not in collection.columns:
        sort = "path"
    descending = request.args.get("order") == "desc"
    rows = sorted(collection.rows, key=lambda row: _sort_key(row.get(sort)), reverse=descending)
    return render_template(
        "collection.html", collection=collection, rows=rows, sort=sort, descending=descending, cell_text=cell_text
    )


def _sort_key(value: object) -> tuple[int, float, str]:
    """Empty cells last, numbers by value, everything else by its text."""
    if value is None or value == "":
        return (2, 0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, cell_text(value).casefold())


def as_csv(folder: str) -> Response:
    collection = _collection(folder)
    response = download(to_csv(collection), "text/csv", collection.folder.replace("/", "-") + ".csv")
    response.headers["Link"] = _licence_links(collection)
    return response


def as_json(folder: str) -> Response:
    collection = _collection(folder)
    response = Response(json.dumps(to_json(collection), ensure_ascii=False, default=str), mimetype="application/json")
    response.headers["Link"] = _licence_links(collection)
    return response


def as_geojson(folder: str) -> Response:
    collection = _collection(folder)
    if not collection.has_coordinates:
        raise PageNotFound(folder)
    response = Response(json.dumps(to_geojson(collection), ensure_ascii=False, default=str), mimetype="application/geo+json")
    response.headers["Link"] = _licence_links(collection)
    return response
