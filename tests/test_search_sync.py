"""The search index follows git: every save, push, deletion, crash or lost index."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from conftest import git

from repo_store import FileChange, Identity
from repo_store.gitcmd import git_environment
from wiki.accounts.store import User
from wiki.app.config import load_settings
from wiki.app.datadir import DataDir
from wiki.app.service import Wiki

PROJECT_ROOT = Path(__file__).resolve().parents[1]
EDITOR = User(1, "camille", "Camille Été", "", False, "editor", False, 0, "")


@pytest.fixture
def wiki(data_dir):
    data = DataDir(data_dir)
    instance = Wiki(data, load_settings(data.root, {"storage": {"fsync": False}}))
    instance.sync()
    yield instance
    instance.close()


def save(wiki, path, text, base="head"):
    base_revision = wiki.store.head() if base == "head" else base
    return wiki.writes.save(path, text, user=EDITOR, base_revision=base_revision)


def found(wiki, query):
    return [hit.path for hit in wiki.search.search(query).hits]


def test_a_save_is_searchable_when_it_returns(wiki):
    save(wiki, "guides/zythologie", "# Zythologie\n\nUn atelier de brassage coopératif.\n", base=None)
    assert found(wiki, "zythologie") == ["guides/zythologie"]
    assert wiki.search.indexed_commit() == wiki.store.head()
    save(wiki, "guides/zythologie", "# Zythologie\n\nDésormais une malterie.\n")
    assert found(wiki, "brassage") == []
    assert found(wiki, "malterie") == ["guides/zythologie"]


def test_page_templates_are_never_search_results(wiki):
    save(wiki, "_templates/atelier", "# Atelier\n\nOrnithorynque à remplir.\n", base=None)
    save(wiki, "guides/atelier", "# Atelier\n\nUn ornithorynque véritable.\n", base=None)
    assert found(wiki, "ornithorynque") == ["guides/atelier"]
    wiki.rebuild_indexes()
    assert found(wiki, "ornithorynque") == ["guides/atelier"]
    assert not any(path.startswith("_templates/") for path in found(wiki, "loyer OR lieu OR formation"))


def test_renames_and_deletions_leave_the_index(wiki):
    save(wiki, "a", "# Quetzalcoatl\n", base=None)
    blob = wiki.store.lookup(wiki.store.head(), "a.md").sha
    record = wiki.store.commit([FileChange("a.md"), FileChange("b.md", blob=blob)], author=Identity("x", "x@x"), message="move")
    wiki.sync([record])
    assert found(wiki, "quetzalcoatl") == ["b"]
    record = wiki.store.commit([FileChange("b.md")], author=Identity("x", "x@x"), message="delete")
    wiki.sync([record])
    assert found(wiki, "quetzalcoatl") == []


def test_commit_behind_the_servers_back_is_caught_up(wiki, tmp_path, data_dir):
    work = tmp_path / "clone"
    env = git_environment(
        {
            "GIT_AUTHOR_NAME": "Zoé",
            "GIT_AUTHOR_EMAIL": "z@example.org",
            "GIT_COMMITTER_NAME": "Zoé",
            "GIT_COMMITTER_EMAIL": "z@example.org",
        }
    )
    subprocess.run(["git", "clone", "-q", str(data_dir / "wiki.git"), str(work)], check=True, env=env)
    (work / "guides").mkdir(exist_ok=True)
    (work / "guides" / "pousse.md").write_text("# Poussé\n\nUne ornithorynque arrive par git.\n", encoding="utf-8")
    subprocess.run(["git", "-C", str(work), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(work), "commit", "-qm", "direct"], check=True, env=env)
    subprocess.run(["git", "-C", str(work), "push", "-q", "origin", "main"], check=True, env=env)
    assert found(wiki, "ornithorynque") == []
    wiki.sync()  # what every request does first
    assert found(wiki, "ornithorynque") == ["guides/pousse"]


def test_server_start_catches_up_with_commits_made_while_down(data_dir):
    data = DataDir(data_dir)
    settings = load_settings(data.root, {"storage": {"fsync": False}})
    from repo_store import PageStore

    with PageStore(data.repository) as store:
        store.save_page(
            "hors-ligne", "# Hors ligne\n\nUn axolotl.\n", author=Identity("x", "x@x"), message="offline", base_revision=None
        )
    wiki = Wiki(data, settings)
    try:
        wiki.sync()
        assert found(wiki, "axolotl") == ["hors-ligne"]
    finally:
        wiki.close()


@pytest.mark.parametrize("damage", ["delete", "garbage"])
def test_a_lost_or_corrupt_index_is_rebuilt(data_dir, damage):
    data = DataDir(data_dir)
    settings = load_settings(data.root, {"storage": {"fsync": False}})
    index_dir = data.search_index
    if damage == "delete":
        import shutil

        shutil.rmtree(index_dir)
    else:
        for toc in index_dir.glob("*.toc"):
            toc.write_bytes(b"\x00garbage" * 50)
        for segment in index_dir.glob("*.seg"):
            segment.write_bytes(b"not a segment")
    wiki = Wiki(data, settings)
    try:
        wiki.sync()
        assert "guides/tiers-lieux-nourriciers" in found(wiki, "nourriciers")
    finally:
        wiki.close()


@pytest.mark.slow
def test_segments_stay_bounded(wiki):
    for n in range(120):
        save(wiki, f"essais/page-{n % 7}", f"# Essai {n % 7}\n\nversion{n}\n", base=None if n < 7 else "head")
    assert wiki.search.segment_count() <= 15
    assert found(wiki, "version119") == ["essais/page-0"]


def _pdf_with_text(text: str) -> bytes:
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _odt_with_text(text: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr(
            "content.xml",
            (
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
                'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
                f"<text:h>Statuts</text:h><text:p>{text}</text:p>"
                "</office:text></office:body></office:document-content>"
            ),
        )
    return out.getvalue()


def test_pdf_and_opendocument_text_is_indexed(wiki):
    record = wiki.store.commit(
        [
            FileChange("juridique/montages-et-gouvernance/modele-statuts.odt", _odt_with_text("Article premier : hippocampe")),
            FileChange("juridique/montages-et-gouvernance/convention.pdf", _pdf_with_text("Convention signee avec le pangolin")),
        ],
        author=Identity("x", "x@x"),
        message="documents",
    )
    wiki.sync([record])
    hits = wiki.search.search("hippocampe").hits
    assert [(h.path, h.kind, h.page) for h in hits] == [
        ("juridique/montages-et-gouvernance/modele-statuts.odt", "file", "juridique/montages-et-gouvernance")
    ]
    assert found(wiki, "pangolin") == ["juridique/montages-et-gouvernance/convention.pdf"]


WRITER = textwrap.dedent(
    """
    import sys
    from wiki.accounts.store import User
    from wiki.app.config import load_settings
    from wiki.app.datadir import DataDir
    from wiki.app.service import Wiki
    data = DataDir(__import__("pathlib").Path(sys.argv[1]))
    name = sys.argv[2]
    user = User(1, name, name, "", False, "editor", False, 0, "")
    wiki = Wiki(data, load_settings(data.root, {"storage": {"fsync": False}}))
    for n in range(20):
        wiki.writes.save(f"{name}/page-{n}", f"# {name} {n}\\n\\nmot{name}{n}\\n", user=user, message="save")
        while True:
            head = wiki.store.head()
            try:
                wiki.writes.save("shared", f"# Partagée\\n\\nrevision{name}{n}\\n", user=user, message="save",
                                 base_revision=head)
                break
            except Exception as error:  # a conflict: somebody saved in between; take theirs and retry
                if type(error).__name__ != "Conflict":
                    raise
    wiki.close()
    """
)


@pytest.mark.slow
def test_two_processes_leave_no_lost_or_stale_entry(wiki, data_dir):
    save(wiki, "shared", "# Partagée\n\ndébut\n", base=None)
    env = git_environment({"PYTHONPATH": str(PROJECT_ROOT)})
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(data_dir), name], env=env, stderr=subprocess.PIPE)
        for name in ("a", "b")
    ]
    for writer in writers:
        _, errors = writer.communicate(timeout=300)
        assert writer.returncode == 0, errors.decode()
    wiki.sync()
    assert wiki.search.indexed_commit() == wiki.store.head()
    for name in ("a", "b"):
        for n in range(20):
            assert found(wiki, f"mot{name}{n}") == [f"{name}/page-{n}"]
    final = wiki.store.read_page("shared").markdown.split("\n")[2]
    assert found(wiki, final) == ["shared"]
    stale = [f"revision{name}{n}" for name in ("a", "b") for n in range(20) if f"revision{name}{n}" != final]
    assert all(found(wiki, word) == [] for word in stale)
    # the starter pages, the shared page, then 2 × 20 new pages and 2 × 20 saves of the shared one
    assert git(data_dir / "wiki.git", "rev-list", "--count", "main").strip() == str(1 + 1 + 2 * 2 * 20)


def test_other_processes_catching_up_write_nothing(wiki, data_dir):
    """Every server process catches up after a save; only the first one may write to the index."""
    other = Wiki(DataDir(data_dir), load_settings(data_dir, {"storage": {"fsync": False}}))
    try:
        other.sync()
        save(wiki, "guides/zythologie", "# Zythologie\n\nBrassage.\n", base=None)
        generation = wiki.search._index().latest_generation()
        other.sync()
        assert other.search.indexed_commit() == wiki.store.head()
        assert wiki.search._index().latest_generation() == generation
    finally:
        other.close()


def test_an_update_that_found_the_index_busy_is_caught_up_by_maintenance(wiki):
    holder = wiki.search._index().writer()  # another process, busy with a long rebuild
    wiki.search.writer_timeout = 0.1
    try:
        save(wiki, "guides/zythologie", "# Zythologie\n\nBrassage.\n", base=None)
        assert found(wiki, "zythologie") == []
        wiki.sync()  # a request: main has not moved, nothing to redo here
    finally:
        holder.cancel()
    wiki.maintain()
    assert found(wiki, "zythologie") == ["guides/zythologie"]
    assert wiki.search.indexed_commit() == wiki.store.head()


def test_processes_finding_the_index_damaged_at_once_rebuild_it_once(tmp_path):
    """After a crash every server process finds the index unreadable; none may delete another's work."""
    import threading

    from search import Document, Plan, SearchIndex

    directory = tmp_path / "search"
    directory.mkdir()
    (directory / "_MAIN_1.toc").write_bytes(b"damaged")
    barrier = threading.Barrier(4)
    errors = []

    def process(n: int) -> None:
        index = SearchIndex(directory, writer_timeout=30)
        barrier.wait()
        try:
            index.update(lambda _last: Plan(f"c{n}", [Document(f"p{n}", f"T{n}", "texte", kind="page")]))
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)
        finally:
            index.close()

    threads = [threading.Thread(target=process, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    index = SearchIndex(directory)
    assert set(index.document_paths()) == {"p0", "p1", "p2", "p3"}
    index.close()


@pytest.mark.slow
def test_commits_of_another_process_are_never_taken_for_damage(wiki, data_dir):
    """While another process commits and merges segments, checking the index always finds it intact."""
    env = git_environment({"PYTHONPATH": str(PROJECT_ROOT)})
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(data_dir), "w"], env=env, stderr=subprocess.PIPE)
    verdicts = []
    try:
        while writer.poll() is None:
            verdicts.append(wiki.search.verify())
            wiki.search.close()  # and open it again, as a server process does after a change
    finally:
        _, errors = writer.communicate(timeout=300)
    assert writer.returncode == 0, errors.decode()
    assert len(verdicts) > 10 and all(verdicts), f"{verdicts.count(False)} of {len(verdicts)} checks said damaged"
    wiki.sync()
    assert found(wiki, "motw19") == ["w/page-19"]


@pytest.mark.slow
def test_a_save_never_waits_for_the_refill_of_a_lost_index(data_dir, monkeypatch):
    """In a server, refilling a lost index is the maintenance thread's work; saves go on meanwhile."""
    import shutil
    import time

    from wiki.app.search_sync import SearchUpdater

    slow = SearchUpdater._page_document

    def slow_page_document(self, record, data):
        time.sleep(0.4)  # a big wiki: the refill takes seconds
        return slow(self, record, data)

    data = DataDir(data_dir)
    shutil.rmtree(data.search_index)
    monkeypatch.setattr(SearchUpdater, "_page_document", slow_page_document)
    wiki = Wiki(data, load_settings(data.root, {"storage": {"fsync": False}}))
    try:
        wiki.start_maintenance(interval=0.05)
        time.sleep(0.3)  # the maintenance thread is refilling
        started = time.monotonic()
        save(wiki, "guides/pendant", "# Pendant\n\nEnregistrée pendant le remplissage.\n", base=None)
        assert time.monotonic() - started < 2.0
        deadline = time.monotonic() + 60
        while found(wiki, "remplissage") != ["guides/pendant"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert found(wiki, "remplissage") == ["guides/pendant"]
        assert "guides/tiers-lieux-nourriciers" in found(wiki, "nourriciers")
    finally:
        wiki.close()
