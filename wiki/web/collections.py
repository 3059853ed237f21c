"""``/collections/<folder>``: a folder's fiches as a sortable table, and as open data in every format people open."""

from __future__ import annotations

import threading

from cachetools import LRUCache
from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, gettext

from ..app.collections import Collection, build, build_all, cell_text, is_number
from ..app.errors import PageNotFound
from ..app.open_data import FORMATS, Download, download, formats, header
from ..app.page_names import check_path
from ..app.page_templates import template_declarations
from .addresses import absolute_url, origin
from .auth import settings, wiki
from .downloads import download as attachment

blueprint = Blueprint("collections", __name__)

# Downloads already made, by what they depend on: the catalog's commit, the language and the address.
# Writing a spreadsheet of thousands of rows takes seconds; downloading it again should not.
_CACHE = "trousse.collection_downloads"
_CACHE_BYTES = 32 * 1024 * 1024
_CACHE_LOCK = threading.Lock()

# Longest first: ``.datapackage.json`` also ends with ``.json``.
_SUFFIXES = sorted(((suffix, key) for key, _label, suffix in FORMATS if key != "excel-fr"), key=lambda item: -len(item[0]))


def _collection(folder: str) -> Collection:
    folder = check_path(folder.strip("/"))
    catalog = wiki().catalog
    collection = build(folder, catalog.pages(folder), settings()["site"]["default_licence"], template_declarations(catalog))
    if not collection.rows:
        raise PageNotFound(folder)
    return collection


def _licence_links(collection: Collection) -> str:
    return ", ".join(f'<{licence.url}>; rel="license"' for licence in collection.licences)


def download_links(collection: Collection) -> list[tuple[str, str]]:
    """(label, address) of each download of the collection, for the table and the index."""
    links = []
    for key, label, suffix in formats(collection):
        if key == "excel-fr":
            href = url_for("collections.table", folder=collection.folder + ".csv", dialect="excel-fr")
        else:
            href = url_for("collections.table", folder=collection.folder + suffix)
        links.append((gettext(label), href))
    return links


@blueprint.route("/collections")
def index() -> ResponseReturnValue:
    catalog = wiki().catalog
    found = build_all(catalog.pages(templates=False), settings()["site"]["default_licence"], template_declarations(catalog))
    return render_template("collections_index.html", collections=found, download_links=download_links)


@blueprint.route("/collections/<path:folder>")
def table(folder: str) -> ResponseReturnValue:
    for suffix, key in _SUFFIXES:
        if folder.endswith(suffix):
            if key == "csv" and request.args.get("dialect") == "excel-fr":
                key = "excel-fr"
            return _download(folder[: -len(suffix)], key)
    collection = _collection(folder)
    sort = request.args.get("sort", "path")
    if sort not in collection.columns:
        sort = "path"
    descending = request.args.get("order") == "desc"
    rows = sorted(collection.rows, key=lambda row: _sort_key(row.get(sort)), reverse=descending)
    return render_template(
        "collection.html",
        collection=collection,
        rows=rows,
        sort=sort,
        descending=descending,
        cell_text=cell_text,
        is_number=is_number,
        header=lambda name: header(collection.column(name), gettext),
        downloads=download_links(collection),
    )


def _sort_key(value: object) -> tuple[int, float, str]:
    """Empty cells last, numbers by value, everything else by its text."""
    if value is None or value == "":
        return (2, 0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, cell_text(value).casefold())


def _download(folder: str, key: str) -> Response:
    cache: LRUCache[tuple[object, ...], tuple[Download, str]] = current_app.extensions.setdefault(
        _CACHE, LRUCache(maxsize=_CACHE_BYTES, getsizeof=lambda entry: len(entry[0].body) + 1)
    )
    cache_key = (folder.strip("/"), key, wiki().catalog.state(), str(get_locale()), origin())
    with _CACHE_LOCK:
        cached = cache.get(cache_key)
    if cached is None:
        collection = _collection(folder)
        found = download(
            collection,
            key,
            gettext=gettext,
            source_url=absolute_url(url_for("collections.table", folder=collection.folder)),
            page_url=lambda path: absolute_url(url_for("pages.view", path=path)),
        )
        if found is None:  # a GeoJSON without coordinates, an agenda without dates
            raise PageNotFound(folder)
        cached = (found, _licence_links(collection))
        if len(found.body) < _CACHE_BYTES // 4:
            with _CACHE_LOCK:
                cache[cache_key] = cached
    found, links = cached
    if key in ("json", "geojson", "datapackage"):
        response = Response(found.body, mimetype=found.mimetype)
    else:
        response = attachment(found.body, found.mimetype, found.filename)
    response.headers["Link"] = links
    return response
