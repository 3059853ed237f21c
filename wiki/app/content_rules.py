"""What a page must be before it is committed, whoever sends it (browser, API, push).

Problems are returned as codes with details rather than raised one by one, so
the editor can show them all at once and a refused push can list them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from repo_store.errors import N_, Gettext, InvalidContent
from repo_store.pages import FrontMatterError, load_front_matter, split_front_matter

from ..render.markdown_shape import measure
from .conflicts import has_conflict_markers
from .front_matter_errors import explain
from .licences import find_licence

PROBLEM_MESSAGES = {
    "too_large": N_("The page is too large (the limit is %(limit)s bytes)."),
    "too_deep": N_("The page nests lists or quotes more than %(limit)s levels deep; reduce the nesting."),
    "too_many_cells": N_("The page's tables have more than %(limit)s cells in all; split the table or the page."),
    "not_text": N_("The page contains binary data."),
    "front_matter": N_("The front matter (the block between the “---” lines) cannot be read: %(detail)s"),
    "bad_title": N_("The title in the front matter must be text."),
    "bad_tags": N_("The tags in the front matter must be a list of words."),
    "unknown_licence": N_("“%(licence)s” is not a licence this wiki knows; use an SPDX id such as CC-BY-SA-4.0."),
    "conflict_markers": N_(
        "The text still holds two versions of a passage between conflict marks (a line starting with “<<<<<<<”, "
        "then a line “=======”, then a line starting with “>>>>>>>”), left by a conflicting change. "
        "Keep the right text, delete the three marker lines, then save again."
    ),
}


@dataclass(frozen=True)
class Problem:
    code: str  # too_large, too_many_cells, too_deep, not_text, front_matter, bad_title, bad_tags, unknown_licence,
    # conflict_markers
    detail: str = ""
    reason: str = ""  # front_matter: the kind of YAML mistake, and its line (``repo_store.pages.FrontMatterError``)
    line: int | None = None

    @property
    def too_large(self) -> bool:
        """A size limit (answered 413 ``too_large``) rather than a malformed page (400 ``invalid``).

        Too many table cells is a size: like too many bytes, the remedy is to
        split the page. Too deep a nesting is the page's shape, not its size.
        """
        return self.code in ("too_large", "too_many_cells")

    def describe(self, gettext: Gettext) -> str:
        """The sentence for this problem in the language of ``gettext``."""
        key = PROBLEM_MESSAGES.get(self.code, N_("The page cannot be saved as it is."))
        detail = explain(gettext, self.reason, self.line, self.detail) if self.reason else self.detail
        return gettext(key, limit=self.detail, detail=detail, licence=self.detail)


class ContentRejected(InvalidContent):
    """A page that breaks the content rules; ``problems`` says every way it does.

    A size limit is answered 413 ``too_large``, conflict markers left in the
    text 400 ``conflict_markers`` (a script can tell an unresolved merge from
    a malformed page), anything else 400 ``invalid``; the JSON answer lists
    the problems' codes.
    """

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.code}: {p.detail}" if p.detail else p.code for p in problems))
        self.problems = problems
        too_large = any(problem.too_large for problem in problems)
        markers = any(problem.code == "conflict_markers" for problem in problems)
        self.code = "conflict_markers" if markers else "too_large" if too_large else "invalid"
        self.status = 413 if too_large and not markers else 400

    def describe(self, gettext: Gettext) -> str:
        return " ".join(self.problems_for(gettext))

    def problems_for(self, gettext: Gettext) -> list[str]:
        """A sentence per problem, for the editor's list."""
        return [problem.describe(gettext) for problem in self.problems]

    def details(self) -> Mapping[str, Any]:
        return {"problems": [problem.code for problem in self.problems]}


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
    if has_conflict_markers(markdown):  # the whole text: a conflict in the front matter counts too
        problems.insert(0, Problem("conflict_markers"))
    if front is None:
        return problems
    try:
        meta = load_front_matter(front)
    except FrontMatterError as error:
        return [*problems, Problem("front_matter", str(error), error.reason, error.line)]
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
