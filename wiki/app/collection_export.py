"""The collections in the static copy of the wiki: each as an HTML table beside its downloads.

They go under ``_collections/`` (no page name starts with ``_``), one
``<folder>.html`` per collection with ``<folder>.csv``, ``.tableur.csv``,
``.ods``, ``.json``, ``.datapackage.json`` and, when they apply,
``.geojson`` and ``.ics``, and an ``index.html`` that lists them, so the copy
holds the same open data as the wiki, with the same licences.
"""

from __future__ import annotations

import posixpath
import urllib.parse
from pathlib import Path

from flask import render_template
from flask_babel import gettext

from .collections import Collection, build_all, cell_text, is_number
from .open_data import download, formats, header
from .page_templates import template_declarations
from .service import Wiki

FOLDER = "_collections"


def _relative(from_file: str, to_file: str) -> str:
    """The relative URL from the file of ``from_file`` to ``to_file`` (both paths inside the copy)."""
    return urllib.parse.quote(posixpath.relpath(to_file, posixpath.dirname(from_file) or "."))


def export_collections(wiki: Wiki, out: Path, base_url: str, stylesheet: str = "static/trousse.css") -> str | None:
    """Write every collection under ``OUT/_collections/``; the index's path, or None when there is none.

    Runs inside a request context (``export_static_site`` opens one) so that
    templates and translations work.
    """
    settings = wiki.settings
    site = settings["site"]
    catalog = wiki.catalog
    collections = build_all(catalog.pages(templates=False), site["default_licence"], template_declarations(catalog))
    if not collections:
        return None
    root = out / FOLDER
    index_name = f"{FOLDER}/index"
    entries = []
    for collection in collections:
        name = f"{FOLDER}/{collection.folder}"
        links = _write_downloads(wiki, collection, out, name, base_url)
        authors = list(dict.fromkeys(author for row in collection.rows for author in wiki.authors(row["path"])))
        html = render_template(
            "collection_export.html",
            language=site["language"],
            site_name=site["name"],
            collection=collection,
            downloads=links,
            authors=authors,
            header=lambda column, found=collection: header(found.column(column), gettext),
            cell_text=cell_text,
            is_number=is_number,
            page_href=lambda path, here=name: _relative(here, path + ".html"),
            stylesheet=_relative(name, stylesheet),
            home_href=_relative(name, "index.html"),
            index_href=_relative(name, index_name + ".html"),
            source_url=f"{base_url}/collections/{urllib.parse.quote(collection.folder)}",
        )
        target = (root / (collection.folder + ".html")).resolve()
        if not target.is_relative_to(root.resolve()):
            continue  # an imported folder name that would leave the copy
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
        links = [(label, _relative(index_name, name + suffix)) for label, suffix in _suffixes(collection)]
        entries.append((collection, _relative(index_name, name + ".html"), links))
    index = render_template(
        "collections_export_index.html",
        language=site["language"],
        site_name=site["name"],
        entries=entries,
        stylesheet=_relative(index_name, stylesheet),
        home_href=_relative(index_name, "index.html"),
    )
    (root / "index.html").write_text(index, encoding="utf-8")
    return f"{FOLDER}/index.html"


def _suffixes(collection: Collection) -> list[tuple[str, str]]:
    return [(gettext(label), suffix) for _key, label, suffix in formats(collection)]


def _write_downloads(wiki: Wiki, collection: Collection, out: Path, name: str, base_url: str) -> list[tuple[str, str]]:
    """Write each download beside the collection's page; (label, relative link) of each."""
    links = []
    for key, label, suffix in formats(collection):
        found = download(
            collection,
            key,
            gettext=gettext,
            source_url=f"{base_url}/collections/{urllib.parse.quote(collection.folder)}",
            page_url=lambda path: f"{base_url}/wiki/{urllib.parse.quote(path)}",
        )
        if found is None:
            continue
        target = (out / (name + suffix)).resolve()
        if not target.is_relative_to(out.resolve()):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(found.body)
        links.append((gettext(label), _relative(name, name + suffix)))
    return links
