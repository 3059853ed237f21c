"""Page history, renames, recent changes and blame, from the catalog."""

from __future__ import annotations

import pytest

from repo_store import FileChange, Identity
from repo_store.catalog import Catalog
from repo_store.history import History

LEA = Identity("Léa Dubois", "lea@noreply.example")
HUGO = Identity("Hugo Bernard", "hugo@noreply.example")


@pytest.fixture
def history(store, tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite", store)
    yield History(catalog, store)
    catalog.close()


def save(store, history, path, text, who=LEA, message="edit"):
    result = store.save_page(
        path, text, author=who, message=message, base_revision=store.head() if store.page_exists(path) else None
    )
    history.catalog.sync()
    return result.commit


def move(store, history, old, new, who=HUGO):
    blob = store.lookup(store.head(), old + ".md").sha
    record = store.commit([FileChange(old + ".md"), FileChange(new + ".md", blob=blob)], author=who, message="move")
    history.catalog.sync([record])
    return record.sha


def test_history_newest_first_with_sizes(store, history):
    first = save(store, history, "a", "# A\n", message="crée")
    second = save(store, history, "a", "# A\n\nplus de texte\n", who=HUGO, message="complète")
    revisions = history.revisions("a.md")
    assert [r.revision for r in revisions] == [second, first]
    assert [r.author for r in revisions] == ["Hugo Bernard", "Léa Dubois"]
    assert [r.subject for r in revisions] == ["complète", "crée"]
    assert revisions[1].size_change == 4 and revisions[0].size_change == len("\nplus de texte\n")


def test_history_follows_renames(store, history):
    first = save(store, history, "old", "# Titre\n")
    moved = move(store, history, "old", "new")
    third = save(store, history, "new", "# Titre\n\nsuite\n")
    assert [r.revision for r in history.revisions("new.md")] == [third, moved, first]
    assert history.revisions("new.md")[1].status == "R"
    assert history.renamed_to("old.md") == "new.md"


def test_a_reused_old_name_keeps_its_own_history(store, history):
    save(store, history, "old", "# Premier\n")
    move(store, history, "old", "new")
    reused = save(store, history, "old", "# Une autre page\n")
    assert [r.revision for r in history.revisions("old.md")][0] == reused
    assert reused not in [r.revision for r in history.revisions("new.md")]
    assert history.renamed_to("old.md") is None


def test_authors_and_revisions_of_a_renamed_page_ignore_a_later_page_with_its_old_name(store, history):
    save(store, history, "old", "# Premier\n", who=LEA)
    moved = move(store, history, "old", "new", who=HUGO)
    zoe = Identity("Zoé Martin", "zoe@noreply.example")
    reused = save(store, history, "old", "# Une autre page\n", who=zoe)
    catalog = history.catalog
    assert catalog.authors("new.md") == ["Léa Dubois", "Hugo Bernard"]
    assert catalog.revision_at("new.md", reused) == moved
    assert catalog.authors("old.md") == ["Zoé Martin"]


def test_a_page_moved_away_and_back_keeps_its_whole_history(store, history):
    first = save(store, history, "a", "# A\n")
    there = move(store, history, "a", "b")
    back = move(store, history, "b", "a")
    last = save(store, history, "a", "# A\n\nsuite\n")
    assert [r.revision for r in history.revisions("a.md")] == [last, back, there, first]
    assert history.count("a.md") == 4


def test_the_old_name_of_a_moved_page_keeps_its_history_until_the_move(store, history):
    first = save(store, history, "a", "# A\n")
    second = save(store, history, "a", "# A\n\nsuite\n")
    move(store, history, "a", "b")
    assert [r.revision for r in history.revisions("a.md")] == [second, first]
    assert history.catalog.revision_at("a.md", second) == second
    assert history.catalog.authors("a.md", until=second) == ["Léa Dubois"]


def test_a_page_moved_then_deleted_is_not_said_to_live_elsewhere(store, history):
    save(store, history, "x", "# X\n")
    move(store, history, "x", "y")
    record = store.commit([FileChange("y.md")], author=LEA, message="delete y")
    history.catalog.sync([record])
    assert history.renamed_to("x.md") is None


def test_pagination(store, history):
    commits = [save(store, history, "p", f"# P\n\n{n}\n") for n in range(7)]
    page = history.revisions("p.md", limit=3, offset=3)
    assert [r.revision for r in page] == list(reversed(commits))[3:6]
    assert history.count("p.md") == 7


def test_recent_changes_filters(store, history):
    save(store, history, "loyers/a", "# A\n", who=LEA)
    save(store, history, "guides/b", "# B\n", who=HUGO)
    save(store, history, "loyers/c", "# C\n", who=HUGO)
    everything = history.changes()
    assert [c.paths for c in everything] == [("loyers/c",), ("guides/b",), ("loyers/a",)]
    assert [c.paths for c in history.changes(folder="loyers")] == [("loyers/c",), ("loyers/a",)]
    assert [c.paths for c in history.changes(author="Hugo Bernard")] == [("loyers/c",), ("guides/b",)]
    assert [c.paths for c in history.changes(folder="loyers", author="Léa Dubois")] == [("loyers/a",)]
    assert history.changes(folder="loyer") == []


def test_blame_attributes_each_line(store, history):
    save(store, history, "b", "un\ndeux\ntrois\n", who=LEA)
    save(store, history, "b", "un\ndeux modifié\ntrois\nquatre\n", who=HUGO)
    lines = history.blame("b.md")
    assert [(line.text, line.revision.author) for line in lines if line.text] == [
        ("un", "Léa Dubois"),
        ("deux modifié", "Hugo Bernard"),
        ("trois", "Léa Dubois"),
        ("quatre", "Hugo Bernard"),
    ]


def test_deleted_page_history(store, history):
    first = save(store, history, "d", "# D\n")
    record = store.commit([FileChange("d.md")], author=HUGO, message="supprime")
    history.catalog.sync([record])
    last = history.last_change("d.md")
    assert last.status == "D" and last.author == "Hugo Bernard"
    assert history.revision_before("d.md", last.seq).revision == first
