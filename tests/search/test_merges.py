"""Saves find what they replace without opening every segment; merges are built with no lock held and lose nothing."""

from __future__ import annotations

from pathlib import Path

from whoosh.writing import NO_MERGE

from search import Document, SearchIndex
from search.index import INDEX_NAME, MAINTAIN_ABOVE, MERGE_FACTOR, UPDATE_MEMORY_MB, Plan
from search.merges import build_in_child, install


def page(n: int, version: int = 0) -> Document:
    return Document(f"pages/p{n}", f"Page {n}", f"mot{n} version{version} commun")


def save(index: SearchIndex, commit: str, *documents: Document, deletes: tuple[str, ...] = ()) -> None:
    index.update(lambda _last: Plan(commit, list(documents), list(deletes)))


def single_segments(index: SearchIndex, count: int) -> None:
    """``count`` pages, each in a segment of its own, as saves leave them."""
    for n in range(count):
        save(index, f"{n:040x}", page(n))


def paths_found(index: SearchIndex, text: str) -> list[str]:
    return sorted(hit.path for hit in index.search(text, limit=100).hits)


def test_a_save_replaces_the_page_in_whichever_segment_holds_it(tmp_path):
    index = SearchIndex(tmp_path)
    index.update(lambda _last: Plan("0" * 40, [page(n) for n in range(5)], rebuild=True))
    single_segments(index, 3)  # pages 0-2 again, each in a new segment
    save(index, "a" * 40, page(1, version=2), deletes=("pages/p4",))
    assert paths_found(index, "commun") == [f"pages/p{n}" for n in range(4)]
    assert paths_found(index, "version2") == ["pages/p1"]
    assert index.indexed_commit() == "a" * 40
    index.close()
    reopened = SearchIndex(tmp_path)  # a process that wrote none of the segments finds the same
    save(reopened, "b" * 40, page(0, version=3))
    assert paths_found(reopened, "commun") == [f"pages/p{n}" for n in range(4)]
    assert paths_found(reopened, "version3") == ["pages/p0"]
    assert reopened.indexed_commit() == "b" * 40
    reopened.close()


def test_maintenance_merges_the_segments_saves_leave(tmp_path):
    index = SearchIndex(tmp_path)
    index.update(lambda _last: Plan("0" * 40, [], rebuild=True))
    single_segments(index, 14)
    assert index.segment_count() >= 14
    assert index.maintain() is True
    assert index.segment_count() <= MAINTAIN_ABOVE
    assert paths_found(index, "commun") == sorted(f"pages/p{n}" for n in range(14))
    assert index.indexed_commit() == f"{13:040x}"
    assert not list(Path(tmp_path).glob(".merge-*"))
    save(index, "e" * 40, page(3, version=7))  # found in the merged segment by the paths its merge told
    assert paths_found(index, "version7") == ["pages/p3"]
    assert paths_found(index, "version0") == sorted(f"pages/p{n}" for n in range(14) if n != 3)
    assert index.indexed_commit() == "e" * 40
    index.close()


def test_documents_replaced_while_a_merge_was_built_stay_replaced(tmp_path):
    index = SearchIndex(tmp_path)
    index.update(lambda _last: Plan("0" * 40, [], rebuild=True))
    single_segments(index, 10)
    root = tmp_path / ".merge-test"
    root.mkdir()
    built = build_in_child(
        tmp_path,
        root,
        index_name=INDEX_NAME,
        above=MAINTAIN_ABOVE,
        factor=MERGE_FACTOR,
        max_docs=4096,
        limitmb=UPDATE_MEMORY_MB,
        seconds=120,
    )
    assert built
    # Meanwhile, saves replace two merged pages and delete a third.
    save(index, "c" * 40, page(2, version=5), page(7, version=5), deletes=("pages/p3",))
    writer = index._index().writer()
    installed = install(writer, built, tmp_path)
    assert installed is not None
    assert paths_found(index, "commun") == sorted(f"pages/p{n}" for n in range(10) if n != 3)
    assert paths_found(index, "version0") == sorted(f"pages/p{n}" for n in range(10) if n not in (2, 3, 7))
    assert paths_found(index, "version5") == ["pages/p2", "pages/p7"]
    assert index.indexed_commit() == "c" * 40
    for merged in built:
        merged.discard()
    index.close()


def test_a_merge_whose_segments_went_meanwhile_is_thrown_away(tmp_path):
    index = SearchIndex(tmp_path)
    index.update(lambda _last: Plan("0" * 40, [], rebuild=True))
    single_segments(index, 10)
    root = tmp_path / ".merge-test"
    root.mkdir()
    built = build_in_child(
        tmp_path,
        root,
        index_name=INDEX_NAME,
        above=MAINTAIN_ABOVE,
        factor=MERGE_FACTOR,
        max_docs=4096,
        limitmb=UPDATE_MEMORY_MB,
        seconds=120,
    )
    writer = index._index().writer()  # another process merged everything first
    writer.commit(optimize=True)
    generation = index._index().latest_generation()
    writer = index._index().writer()
    assert install(writer, built, tmp_path) is None
    writer.cancel()
    assert index._index().latest_generation() == generation
    assert paths_found(index, "commun") == sorted(f"pages/p{n}" for n in range(10))
    index.close()


def test_without_maintenance_saves_keep_segments_bounded(tmp_path):
    index = SearchIndex(tmp_path)
    index.update(lambda _last: Plan("0" * 40, [], rebuild=True))
    for n in range(40):
        save(index, f"{n:040x}", page(n % 9, version=n))
    assert index.segment_count() <= 15
    assert paths_found(index, "commun") == sorted(f"pages/p{n}" for n in range(9))
    assert paths_found(index, "version39") == ["pages/p3"]
    index.close()


def test_whoosh_segments_written_elsewhere_are_read_as_they_are(tmp_path):
    """Segments written by Whoosh's own writer (a rebuild, another version of this code) are looked into with a reader."""
    index = SearchIndex(tmp_path)
    index.update(lambda _last: Plan("0" * 40, [], rebuild=True))
    ix = index._index()
    for n in range(3):
        writer = ix.writer()
        writer.update_document(**page(n).fields())
        writer.commit(mergetype=NO_MERGE)
    save(index, "d" * 40, page(1, version=9))
    assert paths_found(index, "commun") == ["pages/p0", "pages/p1", "pages/p2"]
    assert paths_found(index, "version9") == ["pages/p1"]
    index.close()
