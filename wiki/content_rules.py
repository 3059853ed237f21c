"""What a page must be before it is committed, whoever sends it (browser, API, push).

Problems are returned as codes with details rather than raised one by one, so
the editor can show them all at once and a refused push can list them.
"""

from __future__ import annotations

from dataclasses import dataclass

from repo_store.errors import InvalidContent
from repo_store.pages import FrontMatterError, load_front_matter, split_front_matter

from .licences import find_licence


@dataclass(frozen=True)
class Problem:
    code: str  # too_large, not_text, front_matter, bad_title, bad_tags, unknown_licence
    detail: str = ""


class ContentRejected(InvalidContent):
    """A page that breaks the content rules; ``problems`` says every way it does."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.code}: {p.detail}" if p.detail else p.code for p in problems))
        self.problems = problems


def page_problems(markdown: str, *, max_bytes: int) -> list[Problem]:
    """Everything wrong with a page's text, or an empty list."""
    try:
        size = len(markdown.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate, as JSON can carry ("\ud800")
        return [Problem("not_text")]
    if size > max_bytes:
        return [Problem("too_large", str(max_bytes))]
    if "\0" in markdown:
        return [Problem("not_text")]
    front, _body, _ = split_front_matter(markdown)
    if front is None:
        return []
    try:
        meta = load_front_matter(front)
    except FrontMatterError as error:
        return [Problem("front_matter", str(error))]
    problems = []
    title = meta.get("title")
    if title is not None and not isinstance(title, (str, int, float)):
        problems.append(Problem("bad_title"))
    tags = meta.get("tags")
    if tags is not None and not (
        isinstance(tags, str) or (isinstance(tags, list) and all(isinstance(t, (str, int, float)) for t in tags))
    ):
        problems.append(Problem("bad_tags"))
    licence = meta.get("licence")
    if licence is not None and find_licence(licence) is None:
        problems.append(Problem("unknown_licence", str(licence)[:100]))
    return problems


def check_page(markdown: str, *, max_bytes: int) -> None:
    problems = page_problems(markdown, max_bytes=max_bytes)
    if problems:
        raise ContentRejected(problems)
