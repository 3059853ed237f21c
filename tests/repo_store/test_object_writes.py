"""A commit's objects written together, each complete or absent; one tree entry found without parsing the tree."""

from __future__ import annotations

import os

import pytest
from conftest import git

from repo_store import FileChange, Identity, PageStore
from repo_store.objects import (
    MODE_FILE,
    MODE_TREE,
    LooseObjectWriter,
    TreeEntry,
    encode_object,
    find_entry,
    parse_tree,
    serialise_tree,
)

ME = Identity("Léa Dubois", "lea@noreply.example")


def test_objects_written_together_are_what_git_reads(bare_repo):
    writer = LooseObjectWriter(bare_repo / "objects", fsync=True)
    blob = b"# Page\n\nTexte accentu\xc3\xa9.\n"
    objects = [encode_object(b"blob", blob), encode_object(b"blob", blob), encode_object(b"blob", b"autre\n")]
    writer.write_all(objects)
    shas = [sha for sha, _raw in objects]
    writer.sync_directories(shas)
    assert shas[0] == shas[1] != shas[2]
    assert git(bare_repo, "cat-file", "-p", shas[0]).encode() == blob
    assert writer.write(b"blob", blob) == shas[0]  # already there: nothing rewritten
    assert not list((bare_repo / "objects").glob("??/tmp_obj_*"))
    git(bare_repo, "fsck", "--strict")


def test_objects_failing_to_be_written_leave_nothing_behind(bare_repo, monkeypatch):
    writer = LooseObjectWriter(bare_repo / "objects", fsync=False)
    renamed = []

    def replace_then_fail(source, target):
        if renamed:
            raise OSError(28, "No space left on device")
        renamed.append(target)
        os.rename(source, target)

    monkeypatch.setattr(os, "replace", replace_then_fail)
    with pytest.raises(OSError):
        writer.write_all([encode_object(b"blob", data) for data in (b"un\n", b"deux\n", b"trois\n")])
    monkeypatch.undo()
    assert not list((bare_repo / "objects").glob("??/tmp_obj_*"))
    for target in renamed:  # what went in is a complete object
        sha = target.parent.name + target.name
        assert git(bare_repo, "cat-file", "-t", sha) == "blob\n"


@pytest.mark.parametrize("name", [b"a.md", b"dossier", b"page avec espace.md", b"z\xc3\xa9.md", b"absent.md", b"a"])
def test_one_entry_is_found_as_parsing_the_tree_finds_it(name):
    entries = [
        TreeEntry(MODE_FILE, b"a.md", "1" * 40),
        TreeEntry(MODE_TREE, b"dossier", "2" * 40),
        TreeEntry(MODE_FILE, b"page avec espace.md", "3" * 40),
        TreeEntry(MODE_FILE, b"z\xc3\xa9.md", "4" * 40),
        TreeEntry(MODE_FILE, b"a.md.bak", "5" * 40),
    ]
    data = serialise_tree(entries)
    expected = {entry.name: entry for entry in parse_tree(data)}.get(name)
    assert find_entry(data, name) == expected


def test_a_look_into_an_old_commit_finds_the_same_and_keeps_nothing(bare_repo):
    with PageStore(bare_repo, fsync=False) as store:
        first = store.commit([FileChange("guides/a.md", b"un\n"), FileChange("guides/b.md", b"deux\n")], author=ME, message="un")
        store.commit([FileChange("guides/a.md", b"trois\n")], author=ME, message="deux")
    with PageStore(bare_repo, fsync=False) as store:  # nothing cached yet
        for path in ("guides/a.md", "guides/b.md", "guides/c.md", "guides", "autre/a.md"):
            assert store.lookup(first.sha, path, keep=False) == store.lookup(first.sha, path)
    with PageStore(bare_repo, fsync=False) as store:
        entry = store.lookup(first.sha, "guides/a.md", keep=False)
        assert entry is not None and git(bare_repo, "cat-file", "-p", entry.sha) == "un\n"
        assert len(store._trees) == 0
