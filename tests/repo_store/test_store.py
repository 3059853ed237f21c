"""The page store's contract: round trips, merges, conflicts, concurrency, crashes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import git

from repo_store import (
    Conflict,
    FileChange,
    Identity,
    InvalidPath,
    InvalidRevision,
    PageExists,
    PageNotFound,
    PageStore,
    RevisionNotFound,
)
from repo_store.gitcmd import git_environment
from repo_store.refs import remove_stale_locks

ME = Identity("Léa Dubois", "lea@noreply.example")
OTHER = Identity("Hugo Bernard", "hugo@noreply.example")
PROJECT_ROOT = Path(__file__).resolve().parents[2]

PAGE = "\n".join(["# Élus et mairies", ""] + [f"Ligne {n} : négocier avec la mairie" for n in range(1, 11)]) + "\n"


def save(store, path, text, base=None, who=ME, message="test"):
    return store.save_page(path, text, author=who, message=message, base_revision=base)


def test_missing_page_is_not_found(store):
    with pytest.raises(PageNotFound):
        store.read_page("guides/absent")


def test_accented_text_and_title_round_trip(store, bare_repo):
    text = "---\ntitle: « Élus & mairies » — ça coûte 0 € ?\n---\n\n# Œuvre collective\n\nÀ bientôt, naïve Zoé ! 🌱\n"
    result = save(store, "guides/elus-mairies", text)
    page = store.read_page("guides/elus-mairies")
    assert page.markdown == text
    assert page.commit == result.commit == store.head()
    assert git(bare_repo, "show", "main:guides/elus-mairies.md") == text
    assert git(bare_repo, "log", "-1", "--format=%an <%ae>") == "Léa Dubois <lea@noreply.example>\n"


def test_one_change_is_one_commit_without_work_tree(store, bare_repo):
    save(store, "a", "one\n")
    first = store.head()
    save(store, "a", "two\n", base=first)
    assert git(bare_repo, "rev-list", "--count", "main").strip() == "2"
    assert git(bare_repo, "rev-parse", "main~1").strip() == first
    assert not (bare_repo / "index").exists()


def test_non_ascii_paths_are_stored_nfc(store, bare_repo):
    save(store, "cafe\u0301", "x\n")
    listed = git(bare_repo, "-c", "core.quotepath=false", "ls-tree", "--name-only", "main")
    assert listed == "caf\u00e9.md\n"
    assert store.read_page("caf\u00e9").markdown == "x\n"


def test_read_at_revision(store):
    first = save(store, "a", "v1\n").commit
    save(store, "a", "v2\n", base=first)
    assert store.read_page("a", first).markdown == "v1\n"
    assert store.read_page("a", first[:7]).markdown == "v1\n"
    assert store.read_page("a").markdown == "v2\n"


@pytest.mark.parametrize("revision", ["HEAD", "--output=x", "main~1", "zz"])
def test_malformed_revisions_are_refused(store, revision):
    save(store, "a", "v1\n")
    with pytest.raises(InvalidRevision):
        store.read_page("a", revision)


def test_unknown_revision_is_not_found(store):
    save(store, "a", "v1\n")
    with pytest.raises(RevisionNotFound):
        store.read_page("a", "0" * 40)


def test_list_pages(store):
    store.commit(
        [FileChange("home.md", b"h"), FileChange("guides/b.md", b"b"), FileChange("guides/b/doc.pdf", b"%PDF")],
        author=ME,
        message="init",
    )
    assert store.list_pages() == ["guides/b", "home"]


def test_saving_an_existing_page_without_base_is_a_conflict(store):
    save(store, "a", "mine\n")
    with pytest.raises(Conflict) as conflict:
        save(store, "a", "theirs\n")
    assert conflict.value.current_markdown == "mine\n"
    assert "theirs" in conflict.value.conflict_markdown
    assert store.read_page("a").markdown == "mine\n"


def test_create_refuses_existing(store):
    save(store, "a", "x\n")
    with pytest.raises(PageExists):
        store.create_page("a", "y\n", author=ME, message="again")


def test_fast_path_when_page_unchanged_since_base(store):
    base = save(store, "a", PAGE).commit
    save(store, "other", "x\n")  # main moved, but not this page
    result = save(store, "a", PAGE.replace("Ligne 1 ", "Ligne un "), base=base)
    assert result.commit and not result.merged


def test_non_overlapping_edits_are_merged(store):
    base = save(store, "a", PAGE).commit
    save(store, "a", PAGE.replace("Ligne 2 :", "Ligne deux :"), base=base, who=OTHER)
    result = save(store, "a", PAGE.replace("Ligne 9 :", "Ligne neuf :"), base=base)
    assert result.merged
    text = store.read_page("a").markdown
    assert "Ligne deux :" in text and "Ligne neuf :" in text


def test_overlapping_edits_conflict_with_both_texts(store):
    base = save(store, "a", PAGE).commit
    theirs = save(store, "a", PAGE.replace("Ligne 5 :", "Ligne CINQ :"), base=base, who=OTHER).commit
    mine = PAGE.replace("Ligne 5 :", "Ligne cinq (moi) :")
    with pytest.raises(Conflict) as raised:
        save(store, "a", mine, base=base)
    conflict = raised.value
    assert conflict.current_revision == theirs
    assert "Ligne CINQ :" in conflict.current_markdown
    assert "<<<<<<<" in conflict.conflict_markdown
    assert "Ligne CINQ :" in conflict.conflict_markdown and "Ligne cinq (moi) :" in conflict.conflict_markdown
    assert store.read_page("a").markdown == PAGE.replace("Ligne 5 :", "Ligne CINQ :")


def test_identical_save_commits_nothing(store):
    base = save(store, "a", "same\n").commit
    result = save(store, "a", "same\n", base=base)
    assert result.commit is None
    assert store.head() == base


def test_save_after_delete_is_a_conflict(store):
    base = save(store, "a", "x\n").commit
    store.commit([FileChange("a.md")], author=OTHER, message="delete")
    with pytest.raises(Conflict) as raised:
        save(store, "a", "y\n", base=base)
    assert raised.value.reason == "deleted"


def test_crlf_from_browsers_is_normalised(store):
    save(store, "a", "one\r\ntwo\r\n")
    assert store.read_page("a").markdown == "one\ntwo\n"


@pytest.mark.parametrize("path", ["../x", "-x", ".git/config", "a\nb", "a\\b"])
def test_hostile_paths_never_reach_git(store, bare_repo, path):
    with pytest.raises(InvalidPath):
        save(store, path, "x\n")
    with pytest.raises(InvalidPath):
        store.commit([FileChange(path + ".md", b"x")], author=ME, message="x")
    assert store.head() is None


def test_leading_dash_revision_cannot_write_files(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save(store, "a", "x\n")
    with pytest.raises(InvalidRevision):
        store.read_page("a", "--output=pwned.txt")
    assert not (tmp_path / "pwned.txt").exists()


def test_rename_detected_as_one_change(store):
    save(store, "old", "text\n")
    record = store.commit(
        [FileChange("old.md"), FileChange("new.md", blob=store.lookup(store.head(), "old.md").sha)],
        author=ME,
        message="move",
    )
    assert [(c.status, c.old_path, c.path) for c in record.changes] == [("R", "old.md", "new.md")]


def test_threads_lose_no_commit(store):
    import threading

    def writer(prefix):
        for n in range(25):
            store.commit([FileChange(f"{prefix}/p{n}.md", f"{prefix} {n}\n".encode())], author=ME, message="t")

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.list_pages()) == 75


WRITER = textwrap.dedent(
    """
    import sys
    from repo_store import FileChange, Identity, PageStore
    repo, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    who = Identity(name, name + "@noreply.example")
    with PageStore(repo, fsync=False) as store:
        for n in range(count):
            # a page of its own, and one shared page where each writer edits its own line
            store.commit([FileChange(f"{name}/page-{n}.md", f"{name} {n}\\n".encode())], author=who, message=f"{name} {n}")
            while True:
                head = store.head()
                page = store.read_page("shared", head)
                lines = page.markdown.split("\\n")
                index = (0 if name == "a" else 150) + n
                lines[index] = f"{name} edited line {index}"
                store.save_page("shared", "\\n".join(lines), author=who, message=f"{name} shared {n}",
                                base_revision=head)
                break
    """
)


def _spawn(script: str, *args: str) -> subprocess.Popen:
    env = git_environment({"PYTHONPATH": str(PROJECT_ROOT)})
    return subprocess.Popen([sys.executable, "-c", script, *args], env=env, stderr=subprocess.PIPE)


def test_two_processes_lose_no_commit_and_no_edit(store, bare_repo):
    count = 100
    save(store, "shared", "\n".join(f"line {n}" for n in range(300)) + "\n")
    writers = [_spawn(WRITER, str(bare_repo), name, str(count)) for name in ("a", "b")]
    for writer in writers:
        _, errors = writer.communicate(timeout=300)
        assert writer.returncode == 0, errors.decode()
    assert int(git(bare_repo, "rev-list", "--count", "main")) == 1 + 4 * count
    pages = store.list_pages()
    for name in ("a", "b"):
        for n in range(count):
            assert f"{name}/page-{n}" in pages
    shared = store.read_page("shared").markdown.split("\n")
    for n in range(count):
        assert shared[n] == f"a edited line {n}"
        assert shared[150 + n] == f"b edited line {150 + n}"
    git(bare_repo, "fsck", "--full", "--strict")


LOOP = textwrap.dedent(
    """
    import sys
    from repo_store import FileChange, Identity, PageStore
    who = Identity("Loop", "loop@noreply.example")
    with PageStore(sys.argv[1], fsync=True) as store:
        n = 0
        while True:
            n += 1
            store.commit([FileChange(f"p/{n % 50}.md", f"version {n}\\n".encode() * 200)], author=who, message=str(n))
    """
)


@pytest.mark.slow
def test_killed_writer_leaves_a_consistent_repository(bare_repo):
    rng = random.Random(4)
    with PageStore(bare_repo) as store:
        store.commit([FileChange("home.md", b"home\n")], author=ME, message="start")
    for _trial in range(6):
        process = _spawn(LOOP, str(bare_repo))
        time.sleep(0.3 + rng.random() * 0.7)
        os.kill(process.pid, signal.SIGKILL)
        process.communicate()
        # What the server does when it starts: no writer is alive, clear their locks.
        remove_stale_locks(bare_repo)
        fsck = subprocess.run(
            ["git", "--git-dir", str(bare_repo), "fsck", "--full", "--strict"], capture_output=True, env=git_environment()
        )
        assert fsck.returncode == 0, fsck.stderr.decode()
        git(bare_repo, "rev-parse", "--verify", "main^{commit}")
        with PageStore(bare_repo) as store:
            before = store.head()
            store.commit([FileChange("after.md", b"still works\n")], author=ME, message="after crash")
            assert store.head() != before


def test_a_lock_left_by_a_killed_writer_is_taken_over(store, bare_repo):
    save(store, "a", "x\n")
    lock = bare_repo / "refs" / "heads" / "main.lock"
    lock.write_text("garbage\n")
    old = time.time() - 120
    os.utime(lock, (old, old))
    assert save(store, "b", "y\n").commit == store.head()
    assert not lock.exists()


def test_a_fresh_lock_is_respected(bare_repo):
    from repo_store import refs

    with PageStore(bare_repo, fsync=False) as page_store:
        save(page_store, "a", "x\n")
        head = page_store.head()
    lock = bare_repo / "refs" / "heads" / "main.lock"
    lock.write_text("")
    with pytest.raises(refs.RefLockTimeout):
        refs.compare_and_swap(bare_repo, "refs/heads/main", "1" * 40, head, wait_seconds=0.2)
    assert lock.exists()
    lock.unlink()


@pytest.mark.parametrize("ref_moved", [True, False])
def test_a_writer_whose_lock_was_taken_over_leaves_the_new_lock_alone(bare_repo, monkeypatch, ref_moved):
    """A writer stalled past the stale limit must not delete the lock its successor now holds."""
    from repo_store import refs

    with PageStore(bare_repo, fsync=False) as page_store:
        save(page_store, "a", "x\n")
        head = page_store.head()
    lock = bare_repo / "refs" / "heads" / "main.lock"
    real_read_ref = refs.read_ref

    def read_ref_while_another_takes_over(git_dir, name):
        lock.unlink()  # what a waiter judging our lock stale does (rename, then unlink)
        lock.write_text("")  # and then its own, fresh lock
        return "2" * 40 if ref_moved else real_read_ref(git_dir, name)

    monkeypatch.setattr(refs, "read_ref", read_ref_while_another_takes_over)
    if ref_moved:
        assert refs.compare_and_swap(bare_repo, "refs/heads/main", "1" * 40, head) is False
    else:
        with pytest.raises(refs.RefLockTimeout):
            refs.compare_and_swap(bare_repo, "refs/heads/main", "1" * 40, head)
    assert lock.exists(), "the successor's lock was removed"
    monkeypatch.undo()
    assert refs.read_ref(bare_repo, "refs/heads/main") == head
    lock.unlink()


def test_nfd_named_imported_files_are_saved_and_deleted_as_one(bare_repo, tmp_path):
    import unicodedata

    work = tmp_path / "work"
    env = git_environment(
        {"GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x", "GIT_COMMITTER_NAME": "x", "GIT_COMMITTER_EMAIL": "x@x"}
    )
    subprocess.run(["git", "clone", "-q", str(bare_repo), str(work)], check=True, env=env)
    nfd = unicodedata.normalize("NFD", "élus.md")
    (work / nfd).write_text("# Élus\n", encoding="utf-8")
    subprocess.run(["git", "-C", str(work), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(work), "commit", "-qm", "nfd"], check=True, env=env)
    subprocess.run(["git", "-C", str(work), "push", "-q", "origin", "HEAD:main"], check=True, env=env)
    with PageStore(bare_repo, fsync=False) as page_store:
        assert page_store.read_page("élus").markdown == "# Élus\n"
        save(page_store, "élus", "# Élus\n\nmodifié\n", base=page_store.head())
        names = git(bare_repo, "ls-tree", "-z", "--name-only", "main").strip("\0").split("\0")
        assert names == ["élus.md"]
        page_store.commit([FileChange("élus.md")], author=ME, message="delete")
        with pytest.raises(PageNotFound):
            page_store.read_page("élus")
