"""Which pages a page links to, read from its Markdown without rendering it.

The catalog keeps these links so that backlinks, orphan pages and wanted
pages are queries; one pass over the text costs far less than rendering every
page when a repository is imported.

The scan runs before requests are answered, on text anyone with an account
can write, so it must cost time linear in the page whatever the page holds:
code blocks are found line by line, wikilinks with a pattern that never
backtracks, and Markdown links by a small scanner that looks at each
character a bounded number of times (a regular expression for them retried
the rest of the page at every ``](`` of ``"[a](" * 50000``).
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import cast

from .paths import slugify

# An opening code fence: up to three spaces, then three or more backticks or tildes.
_FENCE_OPEN = re.compile(r" {0,3}+(`{3,}+|~{3,}+)")
_INLINE_CODE = re.compile(r"`[^`\n]*+`")
# Possessive throughout, and no class admits ``[``: a match attempt stops at the
# next bracket, so attempts never scan the same characters twice.
_WIKILINK = re.compile(r"\[\[([^\]\[|#\n]*+)(?:#[^\]\[|\n]*+)?+(?:\|[^\]\[\n]*+)?+\]\]")
# Matches at every position (spaces or nothing), so its match is never None.
_spaces_at = cast(Callable[[str, int], re.Match[str]], re.compile(r"\s*+").match)
_URL_END = re.compile(r"[)\s>]")


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
    text = _INLINE_CODE.sub("", _without_fenced_code(body))
    links: set[Link] = set()
    named: dict[str, Link | None] = {}  # a target named again is not slugified again
    for match in _WIKILINK.finditer(text):
        target = match.group(1)
        if target not in named:
            named[target] = Link.named(target)
        link = named[target]
        if link is not None:
            links.add(link)
    folder = posixpath.dirname(page_path)
    for url in _markdown_link_urls(text):
        url = url.split("#", 1)[0]
        if not url or ":" in url.split("/", 1)[0]:
            continue
        url = urllib.parse.unquote(url)
        if url.startswith("/wiki/"):
            target = url[len("/wiki/") :]
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


def _without_fenced_code(body: str) -> str:
    """The body with the lines of its fenced code blocks emptied, as CommonMark (and so the page) reads them.

    A block closes at a line of at least as many of the same fence characters
    and nothing else; one left open runs to the end of the page.
    """
    lines = body.split("\n")
    fence = ""  # the opening run of the block we are in, "" outside one
    for number, line in enumerate(lines):
        if fence:
            indent = len(line) - len(line.lstrip(" "))
            rest = line[indent:].rstrip(" \t\r")
            if indent <= 3 and rest.startswith(fence) and not rest.strip(fence[0]):
                fence = ""
            lines[number] = ""
            continue
        opening = _FENCE_OPEN.match(line)
        if opening and not (opening.group(1)[0] == "`" and "`" in line[opening.end() :]):
            fence = opening.group(1)
            lines[number] = ""
    return "\n".join(lines)


def _markdown_link_urls(text: str) -> Iterator[str]:
    r"""The URL of each ``](url)``, ``](<url>)`` or ``](url "title")``, left to right.

    What the pattern ``\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`` finds, in
    linear time: every ``](`` whose URL is not yet ended shares the end of the
    previous one, so that end (and whether a link closes after it) is looked
    for once, not once per ``](``.
    """
    url_end = -1  # where the URL that the last search started in ends
    closes_at: int | None = None  # just after the link when one closes after url_end
    position = text.find("](")
    while position != -1:
        start = _spaces_at(text, position + 2).end()
        if start > url_end:
            found = _URL_END.search(text, start)
            url_end = found.start() if found else len(text)
            closes_at = _link_close(text, url_end)
        if text.startswith("<", start) and start + 1 < url_end:
            start += 1
        if start < url_end and closes_at is not None:
            yield text[start:url_end]
            position = text.find("](", closes_at)
        else:
            position = text.find("](", position + 1)


def _link_close(text: str, url_end: int) -> int | None:
    """Just after ``>? ("title")? )`` starting at ``url_end``, or None when no link closes there."""
    position = url_end + 1 if text.startswith(">", url_end) else url_end
    after_spaces = _spaces_at(text, position).end()
    if text.startswith(")", after_spaces):
        return after_spaces + 1
    if after_spaces > position and text.startswith('"', after_spaces):
        quote = text.find('"', after_spaces + 1)
        if quote != -1:
            end = _spaces_at(text, quote + 1).end()
            if text.startswith(")", end):
                return end + 1
    return None
