"""Changing a page's title in its text, touching only the line that holds it.

A page's title is its front matter ``title``, else its first ``# heading``
(see ``repo_store.pages.page_title``); renaming a page rewrites that one line
and leaves every other byte as it was, so the change reads as one line in git.
"""

from __future__ import annotations

import json
import re

_FRONT_TITLE = re.compile(r"title[ \t]*:")
_HEADING = re.compile(r" {0,3}#[ \t]")
_FENCE = re.compile(r" {0,3}(```|~~~)")


def _line_end(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :] or "\n"


def with_title(markdown: str, title: str) -> str:
    """``markdown`` with ``title`` as its title: the front matter's line, else the first heading, else a new heading."""
    lines = markdown.splitlines(keepends=True)
    front_end = 0
    if lines and lines[0].lstrip("\ufeff").rstrip("\r\n") == "---":
        front_end = next((i for i in range(1, len(lines)) if lines[i].rstrip("\r\n") in ("---", "...")), 0)
    if front_end:
        for index in range(1, front_end):
            if _FRONT_TITLE.match(lines[index]):
                end = index + 1
                while end < front_end and lines[end][:1] in (" ", "\t"):  # a value folded over several lines
                    end += 1
                # A JSON string is a YAML double-quoted scalar: any title is written safely.
                lines[index:end] = [f"title: {json.dumps(title, ensure_ascii=False)}{_line_end(lines[index])}"]
                return "".join(lines)
    start = front_end + 1 if front_end else 0
    fenced = False
    for index in range(start, len(lines)):
        line = lines[index].lstrip("\ufeff")
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and _HEADING.match(line):
            prefix = "\ufeff" if lines[index].startswith("\ufeff") else ""
            lines[index] = f"{prefix}# {title}{_line_end(lines[index])}"
            return "".join(lines)
    lines.insert(start, f"# {title}\n\n")
    return "".join(lines)
