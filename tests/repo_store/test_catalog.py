"""The derived catalog: always what git says, however the repository changed."""

from __future__ import annotations

import subprocess

import pytest
from conftest import git

from repo_store import FileChange, Identity
from repo_store.catalog import Catalog, parse_raw_log
from repo_store.gitcmd import git_environment

LEA = Identity("Léa Dubois", "lea@noreply.example")
HUGO = Identity("Hugo Bernard", "hugo@noreply.example")


@pytest.fixture
def catalog(store, tmp_path):
    catalog = Catalog(tmp_path / "index" / "catalog.sqlite", store)
    yield catalog
    catalog.close()


def test_pages_titles_and_last_change(store, catalog):
    store.commit([FileChange("home.md", b"---\ntitle: Accueil\ntags: [a, b]\n---\nTexte\n")], author=LEA, message="start")
    second = store.save_page("guides/elus", "# Élus\n", author=HUGO, message="élus", base_revision=None)
    catalog.sync()
    home = catalog.page("home")
    assert (home.title, home.tags, home.author) == ("Accueil", ["a", "b"], "Léa Dubois")
    elus = catalog.page("guides/elus")
    assert (elus.title, elus.revision, elus.author) == ("Élus", second.commit, "Hugo Bernard")
    assert [p.path for p in catalog.pages()] == ["guides/elus", "home"]
    assert [p.path for p in catalog.pages("guides")] == ["guides/elus"]
    assert catalog.path_for_title("élus") == "guides/elus"


def test_known_commits_give_the_same_catalog_as_git_log(store, tmp_path):
    fast = Catalog(tmp_path / "fast.sqlite", store)
    records = [store.commit([FileChange("home.md", b"# Home\n")], author=LEA, message="one")]
    fast.sync(records)
    for n in range(5):
        result = store.save_page(
            "a",
            f"# A\n\nversion {n}\n",
            author=HUGO if n % 2 else LEA,
            message=f"v{n}",
            base_revision=store.head() if n else None,
        )
        fast.sync([result.record])
    slow = Catalog(tmp_path / "slow.sqlite", store)
    slow.sync()
    for catalog in (fast, slow):
        assert catalog.indexed_head() == store.head()
    assert fast.page("a") == slow.page("a")
    assert fast.authors("a.md") == slow.authors("a.md") == ["Léa Dubois", "Hugo Bernard"]
    fast.close()
    slow.close()


def test_deleted_pages_leave_the_catalog(store, catalog):
    store.commit([FileChange("a.md", b"x"), FileChange("b.md", b"y")], author=LEA, message="two")
    catalog.sync()
    store.commit([FileChange("a.md")], author=LEA, message="delete a")
    report = catalog.sync()
    assert report.changed == {"a.md": None}
    assert catalog.page("a") is None and catalog.page("b") is not None


def test_renames_are_followed(store, catalog):
    store.save_page("old", "# Titre\n", author=LEA, message="create", base_revision=None)
    blob = store.lookup(store.head(), "old.md").sha
    store.commit([FileChange("old.md"), FileChange("new.md", blob=blob)], author=HUGO, message="move")
    store.save_page("new", "# Titre\n\nplus\n", author=HUGO, message="edit", base_revision=store.head())
    catalog.sync()
    assert catalog.names_of("new.md") == ["old.md", "new.md"]
    assert catalog.authors("new.md") == ["Léa Dubois", "Hugo Bernard"]


def test_commits_made_behind_its_back_are_caught_up(store, catalog, bare_repo, tmp_path):
    store.commit([FileChange("home.md", b"# Home\n")], author=LEA, message="start")
    catalog.sync()
    work = tmp_path / "work"
    env = git_environment(
        {
            "GIT_AUTHOR_NAME": "Zoé",
            "GIT_AUTHOR_EMAIL": "z@example.org",
            "GIT_COMMITTER_NAME": "Zoé",
            "GIT_COMMITTER_EMAIL": "z@example.org",
        }
    )
    subprocess.run(["git", "clone", "-q", str(bare_repo), str(work)], check=True, env=env)
    (work / "pushed.md").write_text("# Poussée\n", encoding="utf-8")
    (work / "home.md").unlink()
    subprocess.run(["git", "-C", str(work), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(work), "commit", "-qm", "from git"], check=True, env=env)
    subprocess.run(["git", "-C", str(work), "push", "-q", "origin", "main"], check=True, env=env)
    report = catalog.sync()
    assert set(report.changed) == {"pushed.md", "home.md"}
    assert catalog.page("pushed").author == "Zoé"
    assert catalog.page("home") is None


def test_rewritten_history_is_rebuilt(store, catalog, bare_repo):
    store.commit([FileChange("a.md", b"a")], author=LEA, message="a")
    first = store.head()
    store.commit([FileChange("b.md", b"b")], author=LEA, message="b")
    catalog.sync()
    git(bare_repo, "update-ref", "refs/heads/main", first)
    store.commit([FileChange("c.md", b"c")], author=LEA, message="c")
    report = catalog.sync()
    assert report.rebuilt
    assert sorted(p.path for p in catalog.pages()) == ["a", "c"]


def test_deleting_the_file_loses_nothing(store, tmp_path):
    path = tmp_path / "cat.sqlite"
    store.commit([FileChange("a.md", b"# A\n")], author=LEA, message="a")
    catalog = Catalog(path, store)
    catalog.sync()
    catalog.close()
    path.unlink()
    for leftover in tmp_path.glob("cat.sqlite-*"):
        leftover.unlink()
    again = Catalog(path, store)
    again.sync()
    assert again.page("a").title == "A"
    again.close()


def test_corrupt_file_is_replaced(store, tmp_path):
    path = tmp_path / "cat.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    store.commit([FileChange("a.md", b"# A\n")], author=LEA, message="a")
    catalog = Catalog(path, store)
    catalog.sync()
    assert catalog.page("a").title == "A"
    catalog.close()


def test_raw_log_parser_handles_merges_and_renames(tmp_path):
    repo = tmp_path / "r"
    env = git_environment(
        {"GIT_AUTHOR_NAME": "A Été", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@x"}
    )

    def run(*args):
        return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env).stdout

    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=env)
    (repo / "a.md").write_text("1\n2\n3\n4\n5\n6\n7\n8\n")
    run("add", ".")
    run("commit", "-qm", "one\n\nbody")
    run("mv", "a.md", "b.md")
    run("commit", "-qm", "two")
    run("checkout", "-qb", "side")
    (repo / "c.md").write_text("c\n")
    run("add", ".")
    run("commit", "-qm", "side")
    run("checkout", "-q", "main")
    (repo / "d.md").write_text("d\n")
    run("add", ".")
    run("commit", "-qm", "three")
    run("merge", "-q", "--no-edit", "side")
    output = run(
        "log",
        "--reverse",
        "--topo-order",
        "-c",
        "--raw",
        "-M",
        "--no-abbrev",
        "-z",
        "--date=iso-strict",
        "--format=%x1e%H%x1f%P%x1f%an%x1f%ae%x1f%at%x1f%ad%x1f%B%x1d",
        "main",
        "--",
    )
    commits = list(parse_raw_log(output))
    assert [c.info.message.strip() for c in commits][:2] == ["one\n\nbody", "two"]
    assert commits[0].info.author_name == "A Été"
    assert [(c.status, c.old_path, c.path) for c in commits[1].changes] == [("R", "a.md", "b.md")]
    merge = commits[-1]
    assert len(merge.info.parents) == 2 and merge.changes == ()
