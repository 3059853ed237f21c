"""Plain text for the index: Markdown without its markup, and the text of documents.

Indexing plain text rather than Markdown keeps ``**``, ``|`` and link targets
out of snippets; a few regular expressions are enough for that and cost far
less than a full render of every page on a rebuild.
"""

from __future__ import annotations

import io
import re
import zipfile
from xml.etree import ElementTree

MAX_DOCUMENT_TEXT = 500_000
MAX_PDF_PAGES = 300

_FENCE = re.compile(r"^ {0,3}(```|~~~).*$", re.MULTILINE)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_WIKILINK = re.compile(r"\[\[(?:[^\]|]*\|)?([^\]]+)\]\]")
_AUTOLINK = re.compile(r"<(https?://[^>]+)>")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_HEADING = re.compile(r"^ {0,3}#{1,6}\s*", re.MULTILINE)
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?", re.MULTILINE)
_QUOTE = re.compile(r"^\s*>\s?", re.MULTILINE)
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$", re.MULTILINE)
_EMPHASIS = re.compile(r"(\*\*|__|~~|\*|_|`)")
_FOOTNOTE = re.compile(r"\[\^[^\]]*\]:?")
_SPACES = re.compile(r"[ \t]+")


def markdown_text(body: str) -> str:
    """The readable text of a page body (front matter already removed), without markup."""
    text = _FENCE.sub("", body)
    text = _IMAGE.sub(r"\1", text)
    text = _WIKILINK.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _HTML_TAG.sub(" ", text)
    text = _FOOTNOTE.sub("", text)
    text = _TABLE_RULE.sub("", text)
    text = _HEADING.sub("", text)
    text = _LIST_MARK.sub("", text)
    text = _QUOTE.sub("", text)
    text = _EMPHASIS.sub("", text)
    text = text.replace("|", " ")
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.splitlines() if line.strip())


ODF_SUFFIXES = (".odt", ".ods", ".odp", ".odg")
PLAIN_SUFFIXES = (".txt", ".csv")
# The attachments whose text is indexed: the only ones ``document_text`` reads.
INDEXED_SUFFIXES = (".pdf", *ODF_SUFFIXES, *PLAIN_SUFFIXES)


def document_text(name: str, data: bytes) -> str | None:
    """Text of a PDF, OpenDocument or plain-text file, or None when it has none we can read."""
    lowered = name.lower()
    try:
        if lowered.endswith(".pdf") and data.startswith(b"%PDF"):
            return _pdf_text(data)
        if lowered.endswith(ODF_SUFFIXES) and data.startswith(b"PK"):
            return _odf_text(data)
        if lowered.endswith(PLAIN_SUFFIXES):
            return data.decode("utf-8", "replace")[:MAX_DOCUMENT_TEXT]
    except Exception:  # noqa: BLE001 - a damaged document is indexed by name only
        return None
    return None


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    parts: list[str] = []
    size = 0
    for page in reader.pages[:MAX_PDF_PAGES]:
        text = page.extract_text() or ""
        parts.append(text)
        size += len(text)
        if size > MAX_DOCUMENT_TEXT:
            break
    return "\n".join(parts)[:MAX_DOCUMENT_TEXT]


def _odf_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("content.xml")
        if info.file_size > 20 * MAX_DOCUMENT_TEXT:
            return ""
        content = archive.read(info)
    root = ElementTree.fromstring(content)
    text_ns = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
    blocks = []
    for element in root.iter():
        if element.tag in (f"{{{text_ns}}}p", f"{{{text_ns}}}h"):
            blocks.append("".join(element.itertext()))
    return "\n".join(blocks)[:MAX_DOCUMENT_TEXT]
