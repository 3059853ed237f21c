"""Which pages a page links to, read from its Markdown without rendering it.

The catalog keeps these links so that backlinks, orphan pages and wanted
pages are queries; a few regular expressions over the text cost far less
than rendering every page when a repository is imported.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass

from .paths import slugify

_FENCED = re.compile(r"^ {0,3}(`{3,}|~{3,})[^\n]*\n.*?^ {0,3}\1[^\n]*$", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_WIKILINK = re.compile(r"\[\[([^\]\[|#\n]*)(?:#[^\]\[|\n]*)?(?:\|[^\]\[\n]*)?\]\]")
_MARKDOWN_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


@dataclass(frozen=True)
class Link:
    """A link's target in the three forms it may match a page by."""

    path: str  # as a page path
    title_key: str  # as a title, folded
    slug: str  # as a title turned into a path

    @classmethod
    def named(cls, target: str) -> Link | None:
        """The link ``[[target]]`` makes (None when it names nothing)."""
        target = unicodedata.normalize("NFC", target.strip().strip("/"))
        if target.endswith(".md"):
            target = target[:-3]
        return cls(target, title_key(target), slug_path(target)) if target else None


def title_key(title: str) -> str:
    """How titles are compared when a wikilink names one: case, spacing and form folded."""
    return " ".join(unicodedata.normalize("NFC", title).casefold().split())


def slug_path(text: str) -> str:
    return "/".join(filter(None, (slugify(part) for part in text.split("/"))))


def extract_links(body: str, page_path: str) -> set[Link]:
    """The wikilinks and relative page links of a page body (code left out)."""
    text = _INLINE_CODE.sub("", _FENCED.sub("", body))
    links: set[Link] = set()
    for match in _WIKILINK.finditer(text):
        link = Link.named(match.group(1))
        if link is not None:
            links.add(link)
    folder = posixpath.dirname(page_path)
    for match in _MARKDOWN_LINK.finditer(text):
        url = match.group(1).split("#", 1)[0]
        if not url or ":" in url.split("/", 1)[0]:
            continue
        url = urllib.parse.unquote(url)
        if url.startswith("/wiki/"):
            target = url[len("/wiki/"):]
        elif url.endswith(".md") and not url.startswith("/"):
            target = posixpath.normpath(posixpath.join(folder, url[:-3]))
            if target.startswith(".."):
                continue
        else:
            continue
        target = unicodedata.normalize("NFC", target.strip("/"))
        if target:
            links.add(Link(target, title_key(target), target))
    return links
