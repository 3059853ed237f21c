"""A page as an OpenDocument text (ODT), the open format office suites read and write.

The Markdown tokens (the same parser as the web pages) are mapped to ODF
elements: headings, paragraphs, lists, tables, quotations, code, emphasis and
links. The document carries the page's title, authors and licence in its
metadata and in a closing paragraph, so the credit travels with the file.
A page the web would not render (over the limits or the render budget) is
exported as its text, in preformatted paragraphs: a moment's work, whatever it holds.
"""

from __future__ import annotations

import io
import re
import zipfile
from xml.sax.saxutils import escape, quoteattr

from markdown_it.token import Token

from .rendering import DEFAULT_BUDGET, RenderBudget, RenderTooCostly, body_tokens, obstacle

_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" office:version="1.3"'
)

# XML 1.0 cannot carry most control characters, nor U+FFFE and U+FFFF, even escaped; a page's text may.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _style(name: str, family: str, properties: str) -> str:
    return f'<style:style style:name="{name}" style:family="{family}">{properties}</style:style>'


_STYLES = (
    "<office:automatic-styles>"
    + "".join(
        (
            _style("Strong", "text", '<style:text-properties fo:font-weight="bold"/>'),
            _style("Emphasis", "text", '<style:text-properties fo:font-style="italic"/>'),
            _style("Struck", "text", '<style:text-properties style:text-line-through-style="solid"/>'),
            _style("Code", "text", '<style:text-properties fo:font-family="monospace"/>'),
            _style("Preformatted", "paragraph", '<style:text-properties fo:font-family="monospace" fo:font-size="9pt"/>'),
            _style(
                "Quotation",
                "paragraph",
                '<style:paragraph-properties fo:margin-left="1cm"/><style:text-properties fo:font-style="italic"/>',
            ),
            _style("Small", "paragraph", '<style:text-properties fo:font-size="9pt"/>'),
        )
    )
    + "</office:automatic-styles>"
)
_SPAN_STYLES = {"strong_open": "Strong", "em_open": "Emphasis", "s_open": "Struck"}
# Tokens that always become the same markup, whatever they hold.
_INLINE_MARKUP = {
    "strong_close": "</text:span>",
    "em_close": "</text:span>",
    "s_close": "</text:span>",
    "link_close": "</text:a>",
    "softbreak": " ",
    "hardbreak": "<text:line-break/>",
    "html_inline": "",
}
_BLOCK_MARKUP = {
    "bullet_list_open": "<text:list>",
    "ordered_list_open": "<text:list>",
    "bullet_list_close": "</text:list>",
    "ordered_list_close": "</text:list>",
    "list_item_open": "<text:list-item>",
    "list_item_close": "</text:list-item>",
    "table_close": "</table:table>",
    "tr_open": "<table:table-row>",
    "tr_close": "</table:table-row>",
    "hr": '<text:p text:style-name="Text_20_body"/>',
}


def _inline(children: list[Token]) -> str:
    out: list[str] = []
    for token in children:
        kind = token.type
        if kind in _INLINE_MARKUP:
            out.append(_INLINE_MARKUP[kind])
        elif kind == "text":
            out.append(escape(token.content))
        elif kind == "code_inline":
            out.append(f'<text:span text:style-name="Code">{escape(token.content)}</text:span>')
        elif kind in _SPAN_STYLES:
            out.append(f'<text:span text:style-name="{_SPAN_STYLES[kind]}">')
        elif kind == "link_open":
            out.append(f'<text:a xlink:type="simple" xlink:href={quoteattr(str(token.attrGet("href") or ""))}>')
        elif kind == "image":
            out.append(escape(f"[{token.content or token.attrGet('alt') or 'image'}]"))
        elif kind == "wikilink":
            out.append(escape(token.meta.get("label", "")))
        elif kind == "footnote_ref":
            out.append(escape(f"[{token.meta.get('id', 0) + 1}]"))
        elif token.content:
            out.append(escape(token.content))
    return "".join(out)


def _body(tokens: list[Token]) -> str:
    out: list[str] = []
    paragraph_style = ["Text_20_body"]
    in_cell = False
    for index, token in enumerate(tokens):
        kind = token.type
        if kind in _BLOCK_MARKUP:
            out.append(_BLOCK_MARKUP[kind])
        elif kind == "heading_open":
            level = int(token.tag[1])
            out.append(f'<text:h text:outline-level="{level}">{_inline(tokens[index + 1].children or [])}</text:h>')
        elif kind == "paragraph_open" and not in_cell:
            prefix = ""
            if index > 0 and tokens[index - 1].type == "list_item_open" and "checked" in tokens[index - 1].meta:
                prefix = "☑ " if tokens[index - 1].meta["checked"] else "☐ "
            children = tokens[index + 1].children or []
            out.append(f'<text:p text:style-name="{paragraph_style[-1]}">{escape(prefix)}{_inline(children)}</text:p>')
        elif kind == "blockquote_open":
            paragraph_style.append("Quotation")
        elif kind == "blockquote_close":
            paragraph_style.pop()
        elif kind in ("fence", "code_block"):
            lines = token.content.rstrip("\n").split("\n")
            text = "<text:line-break/>".join(escape(line) for line in lines)
            out.append(f'<text:p text:style-name="Preformatted">{text}</text:p>')
        elif kind == "table_open":
            columns = 0
            for following in tokens[index + 1 :]:
                if following.type in ("th_open", "td_open"):
                    columns += 1
                if following.type == "tr_close":
                    break
            out.append("<table:table>" + "<table:table-column/>" * max(1, columns))
        elif kind in ("th_open", "td_open"):
            in_cell = True
            cell = _inline(tokens[index + 1].children or [])
            out.append(f'<table:table-cell office:value-type="string"><text:p>{cell}</text:p>')
        elif kind in ("th_close", "td_close"):
            in_cell = False
            out.append("</table:table-cell>")
    return "".join(out)


_SPACES = re.compile("  +")


def _preformatted(text: str) -> str:
    """Text as written, one preformatted paragraph per block, spaces kept (ODF collapses runs of them)."""
    paragraphs = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = escape(block.strip("\n")).replace("\t", "<text:tab/>")
        lines = _SPACES.sub(lambda run: f' <text:s text:c="{len(run.group()) - 1}"/>', lines)
        paragraphs.append(f'<text:p text:style-name="Preformatted">{lines.replace(chr(10), "<text:line-break/>")}</text:p>')
    return "".join(paragraphs)


def _content(title: str, markdown_body: str, budget: RenderBudget) -> str:
    """The document's body: the page laid out, or, past the render budget, its text as written."""
    if obstacle(markdown_body, markdown_body, budget) is None:
        try:
            return _body(body_tokens(markdown_body, title, budget=budget))
        except RenderTooCostly:
            pass
    return _preformatted(markdown_body)


def page_odt(
    *,
    title: str,
    markdown_body: str,
    authors: list[str],
    licence_name: str,
    licence_url: str,
    credit: str,
    source_url: str,
    language: str = "fr",
    budget: RenderBudget = DEFAULT_BUDGET,
) -> bytes:
    """The ODT file of a page (front matter already removed from ``markdown_body``), within the render ``budget``."""
    closing = (
        f'<text:p text:style-name="Small">{escape(credit)}</text:p>'
        f'<text:p text:style-name="Small"><text:a xlink:type="simple" xlink:href={quoteattr(licence_url)}>'
        f'{escape(licence_name)}</text:a> — <text:a xlink:type="simple" xlink:href={quoteattr(source_url)}>'
        f"{escape(source_url)}</text:a></text:p>"
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_NS}>{_STYLES}'
        f'<office:body><office:text><text:h text:outline-level="1">{escape(title)}</text:h>'
        f"{_content(title, markdown_body, budget)}{closing}</office:text></office:body></office:document-content>"
    )
    meta = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-meta {_NS}><office:meta>'
        f"<dc:title>{escape(title)}</dc:title><dc:creator>{escape(', '.join(authors))}</dc:creator>"
        f"<dc:language>{escape(language)}</dc:language>"
        f'<meta:user-defined meta:name="licence">{escape(licence_name)} {escape(licence_url)}</meta:user-defined>'
        "</office:meta></office:document-meta>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        '<manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        # The mimetype entry comes first and uncompressed, as the ODF specification requires.
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", _NOT_XML.sub("", content), compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("meta.xml", _NOT_XML.sub("", meta), compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()
