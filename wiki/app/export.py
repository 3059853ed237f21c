"""Taking the commons away: a page as standalone HTML or ODT, the whole wiki as a static site.

The static copy opens from a USB stick: every link is relative, documents sit
beside the pages that hold them, and each page states its licence, its
authors and how to credit it, as the open licences require.
"""

from __future__ import annotations

import datetime as _dt
import posixpath
import shutil
import urllib.parse
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from flask import Flask, render_template

from repo_store.pages import split_front_matter

from ..render.rendering import LinkTarget, RenderBudget, render
from .collection_export import export_collections
from .discussions import discussion_page_of
from .licences import Licence
from .map_export import export_map
from .service import Wiki

STATIC = Path(__file__).parent.parent / "static"


def relative(from_page: str, to_path: str) -> str:
    """The relative URL from the HTML file of ``from_page`` to the file ``to_path`` (both repository-relative)."""
    start = posixpath.dirname(from_page) or "."
    return urllib.parse.quote(posixpath.relpath(to_path, start))


def page_body(markdown: str) -> str:
    """A page's Markdown without its front matter: what a standalone export (ODT) shows as text."""
    return split_front_matter(markdown)[1]


def attribution_line(title: str, authors: list[str], site_name: str, licence: Licence | None, url: str) -> str:
    """A ready-to-paste credit line, as the open licences ask for (pages, exports and the static copy)."""
    from flask_babel import gettext as _

    by = _(" by %(authors)s", authors=", ".join(authors)) if authors else ""
    return f"« {title} »{by} — {site_name}, {licence.short if licence else ''}, {url}"


def _inside(out: Path, relative_path: str) -> Path:
    """Where a repository path goes in the copy; never outside it, whatever an imported tree holds."""
    target = (out / relative_path).resolve()
    if not target.is_relative_to(out.resolve()):
        raise ValueError(f"{relative_path!r} would be written outside the export")
    return target


def export_static_site(wiki: Wiki, app: Flask, out: Path) -> int:
    """Write every page as ``OUT/<path>.html`` with its documents; return the number of pages."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "static").mkdir(exist_ok=True)
    shutil.copyfile(STATIC / "trousse.css", out / "static" / "trousse.css")
    settings = wiki.settings
    site = settings["site"]
    base_url = site["base_url"]
    records = wiki.catalog.pages(templates=False)
    existing = {record.path for record in records}
    budget = RenderBudget.from_limits(settings["limits"])  # a page over it is copied as its preformatted text
    folders: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with app.test_request_context(base_url=base_url):
        for record in records:
            path = record.path
            markdown = wiki.store.blob(record.blob).decode("utf-8", "replace")
            rendered = render(
                markdown,
                path=path,
                resolve_link=_static_resolver(wiki, path, existing),
                rewrite_url=_static_rewriter(path),
                budget=budget,
            )
            authors = wiki.authors(path)
            licence = wiki.licence_of(record.meta)
            attachments = []
            for file_path, blob, _size in wiki.catalog.files_under(path):
                if discussion_page_of(file_path) is not None:
                    continue  # a discussion is not a document of the page
                target = _inside(out, file_path)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(wiki.store.blob(blob))
                attachments.append((file_path.rsplit("/", 1)[-1], relative(path, file_path)))
            page_url = f"{base_url}/wiki/{urllib.parse.quote(path)}"  # url_for would add base_url's path again
            html = render_template(
                "export_page.html",
                language=str(record.meta.get("lang") or site["language"]),
                title=record.title,
                site_name=site["name"],
                html=rendered.html,
                tags=record.tags,
                authors=authors,
                licence=licence,
                attachments=attachments,
                source_url=page_url,
                attribution=attribution_line(record.title, authors, site["name"], licence, page_url),
                stylesheet=relative(path, "static/trousse.css"),
                home_href=relative(path, "index.html"),
                index_href=relative(path, "index.html"),
            )
            target = _inside(out, path + ".html")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(html, encoding="utf-8")
            folder = path.rsplit("/", 1)[0] if "/" in path else ""
            folders[folder].append((urllib.parse.quote(path + ".html"), record.title))
        home = site["home"]
        index = render_template(
            "export_index.html",
            language=site["language"],
            site_name=site["name"],
            date=_dt.date.today().isoformat(),
            home=urllib.parse.quote(home + ".html") if home in existing else None,
            folders=sorted(folders.items()),
            map_href="map.html" if export_map(wiki, records, out) else None,
            collections=export_collections(wiki, out, base_url),
        )
    (out / "index.html").write_text(index, encoding="utf-8")
    return len(records)


def _static_resolver(wiki: Wiki, from_page: str, existing: set[str]) -> Callable[[str], LinkTarget]:
    def resolve(target: str) -> LinkTarget:
        found = wiki.resolve_link(target)
        if found.exists and found.path in existing:
            fragment = found.href.partition("#")[2]
            href = relative(from_page, found.path + ".html") + ("#" + fragment if fragment else "")
            return LinkTarget(href, True, found.path)
        return LinkTarget("#", False, found.path)

    return resolve


def _static_rewriter(from_page: str) -> Callable[[str, str], str]:
    """Site-absolute links (``/wiki/…``, ``/files/…``) and page-relative ones become file-relative."""
    from .service import relative_url_rewriter

    web = relative_url_rewriter(from_page)

    def rewrite(url: str, kind: str) -> str:
        url = web(url, kind)
        target, hash_mark, fragment = url.partition("#")
        if target.startswith("/wiki/"):
            return relative(from_page, urllib.parse.unquote(target[len("/wiki/") :]) + ".html") + hash_mark + fragment
        if target.startswith("/files/"):
            return relative(from_page, urllib.parse.unquote(target[len("/files/") :])) + hash_mark + fragment
        return url

    return rewrite
