"""Downloads in open formats: a page as Markdown, standalone HTML or ODT; the whole wiki as a zip."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, url_for

from ..app.errors import PageNotFound
from ..app.export import STATIC, attribution_line, page_body
from ..app.git_access import zip_archive
from ..app.licences import Licence
from ..app.page_names import check_path
from ..app.service import PageRecord
from ..render.odt import page_odt
from ..render.rendering import RenderBudget
from .addresses import absolute_url, origin
from .auth import settings, wiki
from .downloads import download

blueprint = Blueprint("exports", __name__)


@blueprint.route("/export/wiki.zip")
def whole_wiki() -> Response:
    """The repository's current files as a zip, streamed by ``git archive`` (nothing held in memory)."""
    head = wiki().store.head()
    if head is None:
        raise PageNotFound("wiki.zip")
    return download(zip_archive(wiki().data.repository, head), "application/zip", "wiki.zip")


@blueprint.route("/export/<path:path>")
def page(path: str) -> Response:
    for suffix, export in ((".html", _as_html), (".odt", _as_odt), (".md", _as_markdown)):
        if path.endswith(suffix):
            return export(check_path(path[: -len(suffix)]))
    raise PageNotFound(path)


def _context(path: str) -> tuple[PageRecord, list[str], Licence | None, str, str]:
    record = wiki().existing_page(path)
    site = settings()["site"]
    authors = wiki().authors(path)
    licence = wiki().licence_of(record.meta)
    url = absolute_url(url_for("pages.view", path=path))
    credit = attribution_line(record.title, authors, site["name"], licence, url)
    return record, authors, licence, url, credit


def _as_markdown(path: str) -> Response:
    record, *_rest = _context(path)
    return download(wiki().store.blob(record.blob), "text/markdown", path.rsplit("/", 1)[-1] + ".md")


def _as_html(path: str) -> Response:
    record, authors, licence, url, credit = _context(path)
    view = wiki().view(path)
    base = origin()
    attachments = [(item.name, base + url_for("files.serve", path=item.path)) for item in wiki().attachments(path)]
    html = render_template(
        "export_page.html",
        language=str(record.meta.get("lang") or settings()["site"]["language"]),
        title=record.title,
        site_name=settings()["site"]["name"],
        html=_absolute_links(view.rendered.html, base),
        tags=record.tags,
        authors=authors,
        licence=licence,
        attachments=attachments,
        source_url=url,
        attribution=credit,
        stylesheet=None,
        inline_css=(STATIC / "trousse.css").read_text(encoding="utf-8"),
        home_href=None,
        index_href=None,
    )
    response = download(html, "text/html", path.rsplit("/", 1)[-1] + ".html")
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src https: http:"
    return response


def _absolute_links(html: str, base: str) -> str:
    """Standalone files are opened anywhere: site-relative links must carry the wiki's address."""
    return html.replace('href="/', f'href="{base}/').replace('src="/', f'src="{base}/')


def _as_odt(path: str) -> Response:
    record, authors, licence, url, credit = _context(path)
    markdown = wiki().store.blob(record.blob).decode("utf-8", "replace")
    data = page_odt(
        title=record.title,
        markdown_body=page_body(markdown),
        authors=authors,
        licence_name=licence.name if licence else "",
        licence_url=licence.url if licence else "",
        credit=credit,
        source_url=url,
        language=str(record.meta.get("lang") or settings()["site"]["language"]),
        budget=RenderBudget.from_limits(settings()["limits"]),
    )
    return download(data, "application/vnd.oasis.opendocument.text", path.rsplit("/", 1)[-1] + ".odt")
