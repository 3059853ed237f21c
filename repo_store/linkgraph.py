"""The wiki's links as a graph: backlinks of a page, orphan pages, wanted pages.

A link names its target by path, by title or by a title turned into a path,
the same three ways the renderer resolves it; pages that were renamed still
receive the links written to their old name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from .catalog import Catalog, PageRecord
from .history import History
from .links import Link, title_key
from .paths import TEMPLATES_PREFIX, page_file


@dataclass(frozen=True)
class Wanted:
    target: str
    count: int
    sources: tuple[str, ...]


class LinkGraph:
    def __init__(self, catalog: Catalog, history: History) -> None:
        self.catalog = catalog
        self.history = history

    def resolve(self, link: Link) -> str | None:
        """The page ``link`` leads to, as the renderer shows it, or None."""
        return _resolve(
            link, lambda path: self.catalog.page(path) is not None, self.catalog.path_for_title, self.history.renamed_page
        )

    def backlinks(self, path: str) -> list[tuple[str, str]]:
        """(path, title) of the pages whose links lead to ``path``, by any of its names."""
        record = self.catalog.page(path)
        if record is None:
            return []
        names = [name[:-3] for name, _since, _until in self.catalog.name_spans(page_file(path)) if name.endswith(".md")]
        marks = ",".join("?" * len(names))
        rows = (
            self.catalog.connection()
            .execute(
                "SELECT DISTINCT l.source, p.title, l.target_path, l.target_key, l.target_slug"
                " FROM links l JOIN pages p ON p.path = l.source"
                f" WHERE (l.target_path IN ({marks}) OR l.target_slug IN ({marks}) OR l.target_key = ?)"
                " AND l.source != ? AND substr(l.source, 1, ?) != ? ORDER BY p.title",
                (*names, *names, title_key(record.title), path, len(TEMPLATES_PREFIX), TEMPLATES_PREFIX),
            )
            .fetchall()
        )
        found = dict.fromkeys((source, title) for source, title, *link in rows if self.resolve(Link(*link)) == path)
        return list(found)

    def _resolved_targets(self) -> tuple[set[str], dict[Link, list[str]]]:
        """Pages that receive at least one link, and the links that lead nowhere (with their sources)."""
        db = self.catalog.connection()
        paths = {row[0] for row in db.execute("SELECT path FROM pages")}
        by_title = {row[0]: row[1] for row in db.execute("SELECT title_key, MIN(path) FROM pages GROUP BY title_key")}
        moved = lru_cache(maxsize=None)(self.history.renamed_page)
        linked: set[str] = set()
        missing: dict[Link, list[str]] = defaultdict(list)
        for source, *target in db.execute("SELECT source, target_path, target_key, target_slug FROM links"):
            link = Link(*target)
            page = _resolve(link, paths.__contains__, by_title.get, moved)
            if page is None:
                missing[link].append(source)
            elif page != source:
                linked.add(page)
        return linked, missing

    def curation(self, home: str) -> tuple[list[PageRecord], list[Wanted]]:
        """Orphan pages (no other page links to them; the home page and templates aside) and wanted pages
        (link targets with no page yet, most wanted first), from one pass over the links."""
        linked, missing = self._resolved_targets()
        orphans = [record for record in self.catalog.pages(templates=False) if record.path not in linked and record.path != home]
        wanted = [Wanted(link.path, len(sources), tuple(sorted(set(sources)))) for link, sources in missing.items()]
        return orphans, sorted(wanted, key=lambda item: (-item.count, item.target.casefold()))


def _resolve(
    link: Link,
    page_exists: Callable[[str], bool],
    page_for_title: Callable[[str], str | None],
    moved_page: Callable[[str], str | None],
) -> str | None:
    """By path, by title, by title turned into a path, then by following renames: the renderer's order."""
    if page_exists(link.path):
        return link.path
    titled = page_for_title(link.title_key)
    if titled is not None:
        return titled
    if link.slug and page_exists(link.slug):
        return link.slug
    return moved_page(link.path)
