"""The wiki's links as a graph: backlinks of a page, orphan pages, wanted pages.

A link names its target by path, by title or by a title turned into a path,
the same three ways the renderer resolves it; pages that were renamed still
receive the links written to their old name.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .catalog import Catalog, PageRecord
from .history import History
from .links import title_key
from .paths import page_file


@dataclass(frozen=True)
class Wanted:
    target: str
    count: int
    sources: tuple[str, ...]


class LinkGraph:
    def __init__(self, catalog: Catalog, history: History) -> None:
        self.catalog = catalog
        self.history = history

    def backlinks(self, path: str) -> list[tuple[str, str]]:
        """(path, title) of the pages linking to ``path``, by any of its names."""
        record = self.catalog.page(path)
        if record is None:
            return []
        names = [name[:-3] for name, _since, _until in self.catalog.name_spans(page_file(path)) if name.endswith(".md")]
        marks = ",".join("?" * len(names))
        rows = self.catalog.connection().execute(
            "SELECT DISTINCT l.source, p.title FROM links l JOIN pages p ON p.path = l.source"
            f" WHERE (l.target_path IN ({marks}) OR l.target_slug IN ({marks}) OR l.target_key = ?)"
            " AND l.source != ? AND substr(l.source, 1, 11) != '_templates/' ORDER BY p.title",
            (*names, *names, title_key(record.title), path),
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def _resolved_targets(self) -> tuple[set[str], dict[tuple[str, str, str], list[str]]]:
        """Pages that receive at least one link, and the targets that lead nowhere (with their sources)."""
        db = self.catalog.connection()
        paths = {row[0] for row in db.execute("SELECT path FROM pages")}
        by_title = {row[0]: row[1] for row in db.execute("SELECT title_key, MIN(path) FROM pages GROUP BY title_key")}
        linked: set[str] = set()
        missing: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        for source, target_path, target_key, target_slug in db.execute(
            "SELECT source, target_path, target_key, target_slug FROM links"
        ):
            page = (target_path if target_path in paths else by_title.get(target_key)
                    or (target_slug if target_slug in paths else None))
            if page is None:
                moved = self.history.renamed_to(page_file(target_path))
                page = moved[:-3] if moved and moved.endswith(".md") else None
            if page is None:
                missing[(target_path, target_key, target_slug)].append(source)
            elif page != source:
                linked.add(page)
        return linked, missing

    def orphans(self, home: str) -> list[PageRecord]:
        """Pages no other page links to (the home page and templates aside)."""
        linked, _missing = self._resolved_targets()
        return [record for record in self.catalog.pages()
                if record.path not in linked and record.path != home and not record.path.startswith("_templates/")]

    def wanted(self) -> list[Wanted]:
        """Link targets with no page yet, most wanted first."""
        _linked, missing = self._resolved_targets()
        found = [Wanted(key[0], len(sources), tuple(sorted(set(sources)))) for key, sources in missing.items()]
        return sorted(found, key=lambda item: (-item.count, item.target.casefold()))
