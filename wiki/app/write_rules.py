"""The rules every write must pass, whoever sends it: the browser, the API or a git push.

One object holds them, built from the site's limits, so that a rule added
here refuses the same input on the three paths with the same sentence: the
application service (``wiki.app.writes``) raises the domain error, the git
hook (``wiki.app.hooks``) prints its description to the pusher.
"""

from __future__ import annotations

import posixpath
import unicodedata
from typing import Any

from repo_store.errors import ContentTooLarge
from repo_store.paths import check_attachment_name, check_new_page_path, check_path

from .attachments import check_content
from .content_rules import ContentRejected, Problem, page_problems
from .discussions import check_discussion
from .fiches import TemplateReader, check_fields

MAX_MESSAGE_CHARS = 2000


class WriteRules:
    """Names, texts, files and messages as the wiki accepts them."""

    def __init__(self, limits: dict[str, Any]) -> None:
        self.limits = limits

    def page_name(self, path: str, *, new: bool) -> str:
        """A page's path, checked; a new page's path must also be a slug path (``InvalidPath``)."""
        path = check_path(path)
        return check_new_page_path(path) if new else path

    def page_problems(self, markdown: str) -> list[Problem]:
        """Everything wrong with a page's text (size, shape, front matter), or an empty list."""
        return page_problems(
            markdown,
            max_bytes=self.limits["max_page_bytes"],
            max_nesting=self.limits["max_nesting"],
            max_table_cells=self.limits["max_table_cells"],
        )

    def page_text(self, markdown: str) -> str:
        """The text to commit, with Unix line ends; ``ContentRejected`` with every problem found."""
        problems = self.page_problems(markdown)
        if problems:
            raise ContentRejected(problems)
        return markdown.replace("\r\n", "\n").replace("\r", "\n")

    @staticmethod
    def fiche_fields(path: str, markdown: str, read_template: TemplateReader) -> None:
        """A fiche's declared fields hold values of their types (``InvalidFields``, a sentence per field).

        ``read_template`` gives a template's text by name: from ``main`` for the
        editor and the API, from the pushed commit for a push.
        """
        check_fields(path, markdown, read_template)

    def attachment(self, path: str, data: bytes) -> None:
        """A file to attach at ``path``: an accepted name, within the size limit, really of its type."""
        name = posixpath.basename(check_path(path))
        check_attachment_name(name)
        limit = self.limits["max_file_bytes"]
        if len(data) > limit:
            raise ContentTooLarge(name, limit)
        check_content(name, data)

    def discussion(self, data: bytes) -> None:
        """A page's discussion file as a push leaves it: the format of ``wiki.app.discussions`` (``DiscussionRejected``)."""
        check_discussion(data, self.limits)

    @staticmethod
    def message(message: str | None) -> str:
        """A commit message without control characters (newlines kept), at most 2,000 characters."""
        if not message:
            return ""
        text = message.replace("\r\n", "\n")
        kept = "".join(char for char in text if char == "\n" or unicodedata.category(char)[0] != "C")
        return kept.strip()[:MAX_MESSAGE_CHARS]
