"""Paging through results with ``offset``: pages 1, 2, 3… together are the whole list, ties in path order."""

from __future__ import annotations

import random

import pytest

from search import Document, SearchIndex
from search.index import Plan


def every_page(index: SearchIndex, query: str, limit: int, **options) -> list[str]:
    found: list[str] = []
    total = index.search(query, limit=limit, **options).total
    for offset in range(0, total + limit, limit):
        found += [hit.path for hit in index.search(query, limit=limit, offset=offset, **options).hits]
    return found


@pytest.fixture
def identical(tmp_path):
    """Thirty pages with the same title and text, written in shuffled order over two segments."""
    paths = [f"lieux/fiche-{n:02d}" for n in range(30)]
    shuffled = paths[:]
    random.Random(12).shuffle(shuffled)
    documents = [Document(path, "Fiche", "Un quokkarium au jardin partagé.", updated=1000) for path in shuffled]
    index = SearchIndex(tmp_path / "index")
    index.update(lambda _last: Plan("a" * 40, documents[:15], rebuild=True))
    index.update(lambda _last: Plan("b" * 40, documents[15:]))
    yield index, paths
    index.close()


@pytest.mark.parametrize("order", ["relevance", "date"])
def test_tied_results_page_in_path_order_with_nothing_repeated_or_lost(identical, order):
    index, paths = identical
    assert every_page(index, "quokkarium", 7, order=order) == paths


def test_ties_at_every_page_boundary_among_several_scores(tmp_path):
    """Three levels of score (and of date), each shared by many pages: the classic repeat-and-skip case."""
    generator = random.Random(3)
    documents = []
    for n in range(200):
        times = generator.choice([1, 2, 3])
        documents.append(Document(f"lieux/p{n:03d}", "Fiche", "quokkarium " * times + "et un autre texte", updated=1000 + times))
    generator.shuffle(documents)
    index = SearchIndex(tmp_path / "index")
    index.update(lambda _last: Plan("a" * 40, documents, rebuild=True))
    expected = [document.path for document in sorted(documents, key=lambda item: (-item.updated, item.path))]
    try:
        assert every_page(index, "quokkarium", 7) == expected  # more occurrences, higher score
        assert every_page(index, "quokkarium", 7, order="date") == expected
        assert every_page(index, "path:lieux", 13) == expected  # no words to rank by: newest first
    finally:
        index.close()
