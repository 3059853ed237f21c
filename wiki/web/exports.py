"""Downloads in open formats: a page as Markdown, standalone HTML, ODT or PDF; a folder as PDF; the whole wiki as a zip."""

from __future__ import annotations

import base64
import re
import urllib.parse
from collections.abc import Mapping

from flask import Blueprint, Response, render_template, url_for

from ..app.attachments import mimetype_of
from ..app.errors import N_, DomainError, PageNotFound
from ..app.export import STATIC, attribution_line, page_body
from ..app.git_access import zip_archive
from ..app.licences import Licence
from ..app.page_names import check_path
from ..app.service import PageRecord
from ..render.odt import page_odt
from ..render.pdf import ExportBusy, ExportTooCostly, html_to_pdf
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
    for suffix, export in ((".html", _as_html), (".odt", _as_odt), (".md", _as_markdown), (".pdf", _as_pdf)):
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


# -- PDF ------------------------------------------------------------------------

# A folder in one PDF holds at most this many pages; the images, at most this much each and together.
MAX_PDF_PAGES = 100
MAX_PDF_IMAGE_BYTES = 4 * 1024 * 1024
MAX_PDF_IMAGES_BYTES = 16 * 1024 * 1024
MAX_PDF_BYTES = 100 * 1024 * 1024
_IMAGE_SOURCE = re.compile(r'src="/files/([^"?#]+)"')


class PdfRefused(DomainError):
    """A PDF export past its budget (too many pages, too long to lay out, too large)."""

    code = "too_large"
    status = 413
    message_key = N_(
        "This document is too long to be made into a PDF here: export its pages one by one, "
        "or as OpenDocument (.odt), or print the page from the browser."
    )


class PdfBusy(DomainError):
    """Other PDF exports are being made and no turn came in time."""

    code = "busy"
    status = 503
    message_key = N_("Other PDF documents are being made right now; please try again in a minute.")

    def headers(self) -> Mapping[str, str]:
        return {"Retry-After": "60"}


def _as_pdf(path: str) -> Response:
    """A page as PDF; where there is no page but a folder of pages, the folder in one PDF with its contents."""
    site = settings()["site"]
    if wiki().page(path) is not None:
        paths = [path]
        contents = False
    else:
        records = wiki().catalog.pages(path, templates=False)
        if not records:
            raise PageNotFound(path)
        if len(records) > MAX_PDF_PAGES:
            raise PdfRefused(path)
        paths = [record.path for record in records]
        contents = True
    base = origin()
    sections = []
    all_authors: list[str] = []
    images = [MAX_PDF_IMAGES_BYTES]
    for page_path in paths:
        record, authors, licence, url, credit = _context(page_path)
        html = _inline_images(wiki().view(page_path).rendered.html, images)
        sections.append(
            {
                "title": record.title,
                "language": str(record.meta.get("lang") or site["language"]),
                "html": _absolute_links(html, base),
                "authors": authors,
                "licence": licence,
                "url": url,
                "credit": credit,
            }
        )
        all_authors += [author for author in authors if author not in all_authors]
    document = render_template(
        "export_pdf.html",
        language=sections[0]["language"] if not contents else str(site["language"]),
        title=path.rsplit("/", 1)[-1] if contents else sections[0]["title"],
        site_name=site["name"],
        source_url=absolute_url(url_for("pages.all_pages", folder=path)) if contents else sections[0]["url"],
        sections=sections,
        contents=contents,
        all_authors=all_authors,
        css=(STATIC / "trousse.css").read_text(encoding="utf-8") + (STATIC / "print.css").read_text(encoding="utf-8"),
    )
    try:
        pdf = html_to_pdf(document, seconds=float(settings()["limits"]["export_seconds"]), max_bytes=MAX_PDF_BYTES)
    except ExportTooCostly as error:
        raise PdfRefused(f"{path}: {error}") from None
    except ExportBusy:
        raise PdfBusy(path) from None
    return download(pdf, "application/pdf", path.rsplit("/", 1)[-1] + ".pdf")


def _inline_images(html: str, budget: list[int]) -> str:
    """Attached images as data: URIs (the PDF maker fetches nothing), within ``budget[0]`` bytes; others are left out."""

    def inline(match: re.Match[str]) -> str:
        path = urllib.parse.unquote(match.group(1))
        mimetype = mimetype_of(path)
        if not mimetype.startswith("image/") or mimetype == "image/svg+xml":
            return 'src=""'
        try:
            data, _blob = wiki().store.read_file(check_path(path))
        except DomainError:
            return 'src=""'
        if len(data) > min(MAX_PDF_IMAGE_BYTES, budget[0]):
            return 'src=""'
        budget[0] -= len(data)
        return f'src="data:{mimetype};base64,{base64.b64encode(data).decode("ascii")}"'

    return _IMAGE_SOURCE.sub(inline, html)
