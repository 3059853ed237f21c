"""What a page file means: YAML front matter, body and title.

Front matter is loaded with PyYAML's safe loader and YAML aliases are refused,
so a hostile header can neither build objects nor expand into a billion laughs
when it is later turned into JSON.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

MAX_FRONT_MATTER_BYTES = 64 * 1024
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# A level-one heading's opening: its text is what follows, less a closing run of ``#``.
_ATX_H1 = re.compile(r" {0,3}#[ \t]++")


class FrontMatterError(ValueError):
    """The front matter block exists but is not a YAML mapping we accept.

    ``reason`` names the mistake in words a catalogue can explain (an unclosed
    quotation mark, a tab…) and ``line`` is the line of the page to look at,
    counted from the file's first ``---``, when YAML says where it is.
    """

    def __init__(self, message: str, reason: str = "other", line: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.line = line


# What a YAML error means for a person, by words of its context or problem:
# (reason, whether the context's line, where the construct began, is the one to show).
_YAML_MISTAKES = (
    ("quoted scalar", "unclosed_quote", True),
    ("flow sequence", "unclosed_bracket", True),
    ("flow mapping", "unclosed_bracket", True),
    ("mapping values are not allowed", "colon_in_value", False),
    ("could not find expected ':'", "missing_colon", True),
    ("tab character", "tab", False),
    ("'\\t'", "tab", False),
    ("cannot start any token", "reserved_character", False),
    ("alias", "alias", False),
    ("expected <block end>", "indentation", False),
    ("expected key", "indentation", False),
    ("document start", "indentation", False),
)


def _yaml_mistake(error: yaml.YAMLError) -> tuple[str, int | None]:
    """(reason, line of the page) of a YAML error; the front matter starts on the page's second line."""
    context = str(getattr(error, "context", None) or "")
    problem = str(getattr(error, "problem", None) or error)
    for words, reason, at_context in _YAML_MISTAKES:
        if words in context or words in problem:
            mark = getattr(error, "context_mark" if at_context else "problem_mark", None) or getattr(error, "problem_mark", None)
            return reason, (mark.line + 2 if mark is not None else None)
    mark = getattr(error, "problem_mark", None)
    return "other", (mark.line + 2 if mark is not None else None)


# libyaml's loader when PyYAML was built with it: ten times faster, same safety.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(slots=True)
class ParsedPage:
    meta: dict[str, Any]
    body: str
    front_matter: str | None
    error: str | None = None
    body_offset_lines: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def split_front_matter(markdown: str) -> tuple[str | None, str, int]:
    """Return (front matter text or None, body, number of lines before the body)."""
    text = markdown[1:] if markdown.startswith("\ufeff") else markdown
    if not (text.startswith("---\n") or text.startswith("---\r\n")):
        return None, text, 0
    lines = text.splitlines(keepends=True)
    for index in range(1, len(lines)):
        if lines[index].rstrip("\r\n") in ("---", "..."):
            front = "".join(lines[1:index])
            body = "".join(lines[index + 1 :])
            return front, body, index + 1
    return None, text, 0


def _jsonable(value: Any, seen: set[int] | None = None) -> Any:
    """A JSON-ready copy; a container met twice is a YAML alias, which is refused.

    Aliases are how a few lines of YAML expand into gigabytes once copied out
    ("billion laughs"), and front matter has no honest use for them.
    """
    if isinstance(value, (dict, list, tuple, set)):
        seen = set() if seen is None else seen
        if id(value) in seen:
            raise FrontMatterError("YAML aliases are not allowed in front matter", "alias")
        seen.add(id(value))
    if isinstance(value, dict):
        return {str(key): _jsonable(item, seen) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(item, seen) for item in value]
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float) and not math.isfinite(value):  # NaN and infinities (.inf) are not valid JSON
        return None
    return value


def load_front_matter(front: str) -> dict[str, Any]:
    """Parse a front matter block into a JSON-compatible dict, or raise FrontMatterError."""
    if len(front.encode("utf-8")) > MAX_FRONT_MATTER_BYTES:
        raise FrontMatterError("the front matter is too long", "too_long")
    try:
        data = yaml.load(front, Loader=_SafeLoader)  # noqa: S506 - the safe loader
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        where = f" (line {mark.line + 2})" if mark is not None else ""
        raise FrontMatterError(f"{problem}{where}", *_yaml_mistake(error)) from None
    except RecursionError:
        raise FrontMatterError("the front matter is nested too deeply", "too_deep") from None
    except (ValueError, OverflowError, TypeError) as error:
        # PyYAML builds dates and numbers with Python's own types, which refuse
        # 2024-02-30 or a 5,000-digit integer with plain ValueErrors.
        raise FrontMatterError(f"a value cannot be read ({str(error).splitlines()[0][:120]})", "bad_value") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FrontMatterError("the front matter must be a list of 'key: value' lines", "not_mapping")
    try:
        front_matter: dict[str, Any] = _jsonable(data)  # a dict's copy is a dict
    except RecursionError:
        raise FrontMatterError("the front matter is nested too deeply", "too_deep") from None
    return front_matter


def parse_page(markdown: str) -> ParsedPage:
    """Split and parse a page; a malformed header is reported, never raised."""
    front, body, offset = split_front_matter(markdown)
    if front is None:
        return ParsedPage({}, body, None, None, offset)
    try:
        meta = load_front_matter(front)
    except FrontMatterError as error:
        return ParsedPage({}, body, front, str(error), offset)
    return ParsedPage(meta, body, front, None, offset)


def first_heading(body: str) -> str | None:
    """The text of the first level-one ATX heading outside code fences."""
    fence: str | None = None
    for line in body.splitlines():
        match = _FENCE.match(line)
        if match:
            marker = match.group(1)
            if fence is None:
                fence = marker[0] * 3
            elif marker.startswith(fence):
                fence = None
            continue
        if fence is None:
            heading = _heading_text(line)
            if heading is not None:
                return heading
    return None


def _heading_text(line: str) -> str | None:
    """The text of ``# text`` or ``# text ##``, or None when ``line`` is no level-one heading.

    Done by hand, in one pass: the pattern ``#[ \\t]+(.+?)(?:[ \\t]+#+)?[ \\t]*$``
    that it replaces retried its ending at every character of the line,
    which made one heading of spaces cost minutes.
    """
    opening = _ATX_H1.match(line)
    if opening is None:
        return None
    text = line[opening.end() :].rstrip(" \t")
    if not text:
        # Nothing but spaces after ``#``: a heading of blanks when there are two of them.
        return "" if opening.end() - line.index("#") > 2 else None
    unclosed = text.rstrip("#")
    if unclosed != text and unclosed[-1:] in (" ", "\t"):
        text = unclosed  # the closing ``###`` (a whole-``#`` text, such as ``# ###``, stays)
    return text.strip()


def page_title(meta: dict[str, Any], body: str, path: str) -> str:
    """Front matter ``title``, else the first ``# heading``, else the path."""
    title = meta.get("title")
    if isinstance(title, (str, int, float)) and str(title).strip():
        return " ".join(str(title).split())
    heading = first_heading(body)
    if heading:
        return heading
    return path


def page_tags(meta: dict[str, Any]) -> list[str]:
    """Tags as a list of strings, whether written as a list or a comma-separated string."""
    tags = meta.get("tags")
    if isinstance(tags, str):
        items = tags.split(",")
    elif isinstance(tags, list):
        items = [str(item) for item in tags if isinstance(item, (str, int, float))]
    else:
        return []
    seen: dict[str, None] = {}  # ordered, and a lookup that does not grow with the number of tags
    for item in items:
        tag = " ".join(item.split()).strip()
        if tag:
            seen.setdefault(tag)
    return list(seen)
