"""Plain text for the index: Markdown without its markup, and the text of documents.

Indexing plain text rather than Markdown keeps ``**``, ``|`` and link targets
out of snippets; a few regular expressions are enough for that and cost far
less than a full render of every page on a rebuild.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Every pass below reads the text a bounded number of times, whatever it holds:
# the inline constructs by ``_replace_spans``, which finds closing delimiters with
# ``_Next`` (a forward-only ``str.find``: openers that share a closer share one
# search); the line constructs by patterns that start at a line start, may fail
# only within that line, and never backtrack (possessive quantifiers). Patterns
# such as ``\[([^\]]+)\]\([^)]*\)`` or ``^\s*>`` did the same work, but searched
# the rest of the page again at every ``[`` or blank line that led nowhere:
# quadratic on ``"[a](" * 50000`` or on a page of empty lines.
_FENCE = re.compile(r"^ {0,3}(```|~~~).*$", re.MULTILINE)
_LINE_SPACE = r"[^\S\n]"  # whitespace that does not end the line
_TABLE_CELL = rf":?+-{{3,}}+:?+{_LINE_SPACE}*+"
_TABLE_RULE = re.compile(
    rf"^{_LINE_SPACE}*+\|?+{_LINE_SPACE}*+{_TABLE_CELL}(?:\|{_LINE_SPACE}*+{_TABLE_CELL})*+\|?+{_LINE_SPACE}*+$",
    re.MULTILINE,
)
_HEADING = re.compile(r"^ {0,3}#{1,6}\s*+", re.MULTILINE)
_LIST_MARK = re.compile(rf"^{_LINE_SPACE}*+(?:[-*+]|\d++[.)])\s++(?:\[[ xX]\]\s++)?+", re.MULTILINE)
_QUOTE = re.compile(rf"^{_LINE_SPACE}*+>\s?", re.MULTILINE)
_EMPHASIS = re.compile(r"(\*\*|__|~~|\*|_|`)")
_SPACES = re.compile(r"[ \t]+")
_AUTOLINK_OPENER = re.compile(r"<https?://")
_HTML_TAG_OPENER = re.compile(r"</?[A-Za-z]")


class _Next:
    """``text.find(char, position)`` for positions that never move back: each character is read once."""

    __slots__ = ("char", "found", "start", "text")

    def __init__(self, text: str, char: str) -> None:
        self.text, self.char, self.start, self.found = text, char, -1, -1

    def __call__(self, position: int) -> int:
        if self.start < 0 or position < self.start or position > self.found != -1:
            self.start, self.found = position, self.text.find(self.char, position)
        return self.found


def _replace_spans(text: str, opener: str | re.Pattern[str], span: Callable[[int], tuple[int, str] | int]) -> str:
    """``text`` with each span that ``span(start)`` reads at an ``opener`` replaced, left to right as ``re.sub`` does.

    ``opener`` is a string or a pattern of bounded length; ``span`` returns
    where the span ends and what replaces it or, when there is none at
    ``start``, the position from which the next one may start: openers that
    share a missing or misplaced closer are skipped together.
    """
    if isinstance(opener, str):
        opener = re.compile(re.escape(opener))
    pieces: list[str] = []
    done = 0
    found_opener = opener.search(text)
    while found_opener is not None:
        start = found_opener.start()
        found = span(start)
        if isinstance(found, int):
            found_opener = opener.search(text, max(found, start + 1))
            continue
        end, replacement = found
        pieces += (text[done:start], replacement)
        done = end
        found_opener = opener.search(text, end)
    pieces.append(text[done:])
    return "".join(pieces)


def _images(text: str) -> str:
    """``![alt](src)`` becomes ``alt``."""
    bracket, paren = _Next(text, "]"), _Next(text, ")")

    def span(start: int) -> tuple[int, str] | int:
        close = bracket(start + 2)
        if close == -1:
            return len(text)
        if not text.startswith("(", close + 1):
            return close - 1  # every image opened before this ``]`` ends here too
        end = paren(close + 2)
        return len(text) if end == -1 else (end + 1, text[start + 2 : close])

    return _replace_spans(text, "![", span)


def _wikilinks(text: str) -> str:
    """``[[target]]`` becomes ``target``, ``[[target|label]]`` becomes ``label``."""
    bracket, pipe = _Next(text, "]"), _Next(text, "|")

    def span(start: int) -> tuple[int, str] | int:
        close = bracket(start + 2)
        if close == -1:
            return len(text)
        if not text.startswith("]", close + 1):
            return close - 1
        bar = pipe(start + 2)
        if -1 < bar < close - 1:
            return close + 2, text[bar + 1 : close]
        return (close + 2, text[start + 2 : close]) if close > start + 2 else start + 1

    return _replace_spans(text, "[[", span)


def _links(text: str) -> str:
    """``[text](url)`` becomes ``text``."""
    bracket, paren = _Next(text, "]"), _Next(text, ")")

    def span(start: int) -> tuple[int, str] | int:
        close = bracket(start + 1)
        if close == -1:
            return len(text)
        if close == start + 1:
            return start + 1
        if not text.startswith("(", close + 1):
            return close
        end = paren(close + 2)
        return len(text) if end == -1 else (end + 1, text[start + 1 : close])

    return _replace_spans(text, "[", span)


def _autolinks(text: str) -> str:
    """``<https://…>`` becomes the address."""
    angle = _Next(text, ">")

    def span(start: int) -> tuple[int, str] | int:
        address = text.index("://", start) + 3
        end = angle(address)
        if end == -1:
            return len(text)
        return (end + 1, text[start + 1 : end]) if end > address else start + 1

    return _replace_spans(text, _AUTOLINK_OPENER, span)


def _html_tags(text: str) -> str:
    """``<tag …>`` and ``</tag>`` become a space."""
    angle = _Next(text, ">")

    def span(start: int) -> tuple[int, str] | int:
        end = angle(start + 2)  # after ``<`` and the first letter or ``/``, which is not ``>``
        return len(text) if end == -1 else (end + 1, " ")

    return _replace_spans(text, _HTML_TAG_OPENER, span)


def _footnotes(text: str) -> str:
    """``[^note]`` and ``[^note]:`` go."""
    bracket = _Next(text, "]")

    def span(start: int) -> tuple[int, str] | int:
        close = bracket(start + 2)
        if close == -1:
            return len(text)
        return (close + 2 if text.startswith(":", close + 1) else close + 1), ""

    return _replace_spans(text, "[^", span)


_LINK_TARGET = re.compile(r"\]\(\s*<?([^)\s>]{1,300})|\[\[([^\]|\n]{1,200})\||<(https?://[^>\s]{1,300})>")
MAX_LINK_TARGETS = 200


def link_targets(body: str) -> str:
    """The targets of a page's links, one a line: addresses, page names (``[[target|label]]``).

    The link texts stay in ``markdown_text``; these are what the texts
    leave out. Each match reads a bounded number of characters: linear.
    """
    found: dict[str, None] = {}
    for match in _LINK_TARGET.finditer(body):
        target = match.group(1) or match.group(2) or match.group(3)
        found[target.strip()] = None
        if len(found) >= MAX_LINK_TARGETS:
            break
    return "\n".join(found)


def markdown_text(body: str) -> str:
    """The readable text of a page body (front matter already removed), without markup.

    Linear in the length of ``body`` whatever it holds: it runs on every page
    the index takes in.
    """
    text = _FENCE.sub("", body)
    text = _images(text)
    text = _wikilinks(text)
    text = _links(text)
    text = _autolinks(text)
    text = _html_tags(text)
    text = _footnotes(text)
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
