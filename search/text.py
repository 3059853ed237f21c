"""Plain text for the index: Markdown without its markup, and the text of documents.

Indexing plain text rather than Markdown keeps ``**``, ``|`` and link targets
out of snippets; a few regular expressions are enough for that and cost far
less than a full render of every page on a rebuild.
"""

from __future__ import annotations

import re

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


# The text of attached documents is read in ``documents``, within a budget; these names stay importable from here.
from .documents import (  # noqa: E402, F401
    INDEXED_SUFFIXES,
    MAX_DOCUMENT_TEXT,
    MAX_PDF_PAGES,
    ODF_SUFFIXES,
    PLAIN_SUFFIXES,
    document_text,
)
