"""What a page must be before it is committed, whoever sends it (browser, API, push).

Problems are returned as codes with details rather than raised one by one, so
the editor can show them all at once and a refused push can list them.
"""

from __future__ import annotations

from dataclasses import dataclass

from repo_store.errors import InvalidContent
from repo_store.pages import FrontMatterError, load_front_matter, split_front_matter

from ..render.markdown_shape import measure
from .licences import find_licence


@dataclass(frozen=True)
class Problem:
    code: str  # too_large, too_many_cells, too_deep, not_text, front_matter, bad_title, bad_tags, unknown_licence
    detail: str = ""

    @property
    def too_large(self) -> bool:
        """A size limit (answered 413 ``too_large``) rather than a malformed page (400 ``invalid``).

        Too many table cells is a size: like too many bytes, the remedy is to
        split the page. Too deep a nesting is the page's shape, not its size.
        """
        return self.code in ("too_large", "too_many_cells")


class ContentRejected(InvalidContent):
    """A page that breaks the content rules; ``problems`` says every way it does."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.code}: {p.detail}" if p.detail else p.code for p in problems))
        self.problems = problems


def page_problems(markdown: str, *, max_bytes: int, max_nesting: int, max_table_cells: int) -> list[Problem]:
    """Everything wrong with a page's text, or an empty list.

    The Markdown's nesting and table cells are measured by a linear scan, not
    by parsing it: refusing a page must cost far less than rendering it would.
    """
    try:
        size = len(markdown.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate, as JSON can carry ("\ud800")
        return [Problem("not_text")]
    if size > max_bytes:
        return [Problem("too_large", str(max_bytes))]
    if "\0" in markdown:
        return [Problem("not_text")]
    front, body, _ = split_front_matter(markdown)
    problems = shape_problems(body, max_nesting=max_nesting, max_table_cells=max_table_cells)
    if front is None:
        return problems
    try:
        meta = load_front_matter(front)
    except FrontMatterError as error:
        return [*problems, Problem("front_matter", str(error))]
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


def shape_problems(body: str, *, max_nesting: int, max_table_cells: int) -> list[Problem]:
    """Lists and quotes nested too deep, tables too large: what makes Markdown costly to render."""
    shape = measure(body, stop_depth=max_nesting, stop_cells=max_table_cells)
    problems = []
    if shape.depth > max_nesting:
        problems.append(Problem("too_deep", str(max_nesting)))
    if shape.cells > max_table_cells:
        problems.append(Problem("too_many_cells", str(max_table_cells)))
    return problems


def check_page(markdown: str, *, max_bytes: int, max_nesting: int, max_table_cells: int) -> None:
    problems = page_problems(markdown, max_bytes=max_bytes, max_nesting=max_nesting, max_table_cells=max_table_cells)
    if problems:
        raise ContentRejected(problems)
