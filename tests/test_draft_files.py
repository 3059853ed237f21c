"""Documents added in the editor of a page not saved yet: kept per account, previewed, committed with the first save.

An attachment needs its page, so before the first save a document waits on the
server (``/api/v1/draft-files/<page>/<name>``); the first save commits the page
and its documents in one commit. Without JavaScript, the new-page editor's own
file input posts them with the text.
"""

from __future__ import annotations

import io
import re
import sqlite3
import threading

import pytest
from conftest import api_save, bearer, csrf_token, git

from wiki.app.drafts import Drafts

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4 compte rendu"


def put_file(client, headers, page, name, data):
    return client.put(f"/api/v1/draft-files/{page}/{name}", data=data, headers=headers)


def commits_touching(data_dir, path):
    return git(data_dir / "wiki.git", "log", "--format=%H", "main", "--", path).split()


def test_a_document_waits_then_comes_with_the_first_save_in_one_commit(client, token, data_dir):
    headers = bearer(token)
    added = put_file(client, headers, "lieux/la-grange", "Façade Été.PNG", PNG)
    assert added.status_code == 201, added.text
    assert added.json == {"name": "facade-ete.png", "size": len(PNG), "url": "/api/v1/draft-files/lieux/la-grange/facade-ete.png"}
    assert put_file(client, headers, "lieux/la-grange", "statuts.pdf", PDF).status_code == 201
    # Nothing is in git yet; the owner gets the file back for the preview, with an attached file's care.
    assert git(data_dir / "wiki.git", "ls-tree", "-r", "--name-only", "main").count("la-grange") == 0
    served = client.get("/api/v1/draft-files/lieux/la-grange/facade-ete.png", headers=headers)
    assert served.status_code == 200 and served.data == PNG and served.mimetype == "image/png"
    assert "sandbox" in served.headers["Content-Security-Policy"] and served.headers["X-Content-Type-Options"] == "nosniff"

    revision = api_save(client, token, "lieux/la-grange", "# La grange\n\n![Façade](facade-ete.png)\n")
    assert commits_touching(data_dir, "lieux/la-grange.md") == [revision]
    assert commits_touching(data_dir, "lieux/la-grange/facade-ete.png") == [revision]
    assert commits_touching(data_dir, "lieux/la-grange/statuts.pdf") == [revision]
    shown = git(data_dir / "wiki.git", "show", "--format=", "--name-only", revision).split()
    assert sorted(shown) == ["lieux/la-grange.md", "lieux/la-grange/facade-ete.png", "lieux/la-grange/statuts.pdf"]
    # Saved: nothing waits any more, and the page shows the photo from its folder.
    assert client.get("/api/v1/draft-files/lieux/la-grange/facade-ete.png", headers=headers).status_code == 404
    assert client.get("/files/lieux/la-grange/facade-ete.png").data == PNG


def test_the_preview_shows_the_owners_waiting_documents(client, auth, token):
    put_file(client, bearer(token), "lieux/la-grange", "plan.png", PNG)
    body = {"path": "lieux/la-grange", "markdown": "![plan](plan.png) [autre](autre.pdf)"}
    html = client.post("/api/v1/preview", json=body, headers=bearer(token)).json["html"]
    assert 'src="/api/v1/draft-files/lieux/la-grange/plan.png"' in html
    assert 'href="/files/lieux/la-grange/autre.pdf"' in html
    # Another account has no such document: its preview points where the page's documents will be.
    auth.create("dominique", "editor", "Dominique")
    other = auth.token("dominique")
    html = client.post("/api/v1/preview", json=body, headers=bearer(other)).json["html"]
    assert 'src="/files/lieux/la-grange/plan.png"' in html
    assert client.get("/api/v1/draft-files/lieux/la-grange/plan.png", headers=bearer(other)).status_code == 404


def test_another_accounts_save_does_not_take_them(client, auth, token, data_dir):
    put_file(client, bearer(token), "lieux/la-grange", "plan.png", PNG)
    auth.create("dominique", "editor", "Dominique")
    api_save(client, auth.token("dominique"), "lieux/autre", "# Autre\n")
    revision = api_save(client, auth.token("dominique"), "lieux/la-grange", "# Créée par Dominique\n")
    assert "lieux/la-grange/plan.png" not in git(data_dir / "wiki.git", "show", "--name-only", revision)
    assert client.get("/api/v1/draft-files/lieux/la-grange/plan.png", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize(
    ("name", "data", "status", "words"),
    [
        ("faux.pdf", b"<html><script>x</script>", 400, "ne correspond pas"),
        ("page.html", b"<html></html>", 400, "Ce type de fichier"),
        ("con.png", PNG, 400, "Windows"),
        ("vide.png", b"", 400, "vide"),
    ],
)
def test_checked_like_any_attachment(client, token, name, data, status, words):
    refused = put_file(client, bearer(token) | {"Accept-Language": "fr"}, "lieux/la-grange", name, data)
    assert refused.status_code == status, refused.text
    assert refused.json["error"] == "invalid" and words in refused.json["message"], refused.json


def test_size_limit_and_per_account_cap(app_factory, monkeypatch):
    from wiki.app import drafts as drafts_module

    app = app_factory({"storage": {"fsync": False}, "limits": {"max_file_bytes": 100}})
    client = app.test_client()
    app.extensions["trousse.accounts"].add_user("camille", role="editor", password="x" * 12)
    headers = bearer(app.extensions["trousse.accounts"].create_token("camille", "tests"))
    too_big = put_file(client, headers, "lieux/grange", "gros.png", PNG + b"\x00" * 100)
    assert too_big.status_code == 413 and too_big.json["error"] == "too_large"
    monkeypatch.setattr(drafts_module, "MAX_PENDING_FILES_PER_ACCOUNT", 2)
    assert put_file(client, headers, "lieux/grange", "a.png", PNG).status_code == 201
    assert put_file(client, headers, "lieux/autre", "b.png", PNG).status_code == 201
    assert put_file(client, headers, "lieux/grange", "a.png", PNG).status_code == 201  # the same name replaces
    full = put_file(client, headers, "lieux/grange", "c.png", PNG)
    assert full.status_code == 413 and full.json["error"] == "too_large", full.text
    # Bytes too: five times one file's limit in all.
    monkeypatch.setattr(drafts_module, "MAX_PENDING_FILES_PER_ACCOUNT", 30)
    client.delete("/api/v1/drafts/lieux/grange", headers=headers)
    client.delete("/api/v1/drafts/lieux/autre", headers=headers)
    ninety = PNG + b"\x00" * (90 - len(PNG))
    for name in ("a.png", "b.png", "n0.png", "n1.png", "n2.png"):
        assert put_file(client, headers, "lieux/grange", name, ninety).status_code == 201
    assert put_file(client, headers, "lieux/grange", "trop.png", ninety).status_code == 413


def test_a_page_that_exists_takes_its_documents_directly(client, token):
    refused = put_file(client, bearer(token), "home", "plan.png", PNG)
    assert refused.status_code == 409 and refused.json["error"] == "conflict"


def test_discarding_the_draft_discards_them(client, token):
    headers = bearer(token)
    client.put("/api/v1/drafts/lieux/grange", json={"markdown": "# Grange\n"}, headers=headers)
    put_file(client, headers, "lieux/grange", "plan.png", PNG)
    assert client.get("/api/v1/drafts/lieux/grange", headers=headers).json["files"][0]["name"] == "plan.png"
    assert client.delete("/api/v1/drafts/lieux/grange", headers=headers).status_code == 204
    assert client.get("/api/v1/draft-files/lieux/grange/plan.png", headers=headers).status_code == 404
    # Waiting documents alone (no draft written yet) are discarded the same way.
    put_file(client, headers, "lieux/grange", "plan.png", PNG)
    assert client.delete("/api/v1/drafts/lieux/grange", headers=headers).status_code == 204
    assert client.get("/api/v1/draft-files/lieux/grange/plan.png", headers=headers).status_code == 404
    # One document can go alone.
    put_file(client, headers, "lieux/grange", "plan.png", PNG)
    assert client.delete("/api/v1/draft-files/lieux/grange/plan.png", headers=headers).status_code == 204
    assert client.delete("/api/v1/draft-files/lieux/grange/plan.png", headers=headers).status_code == 404


def test_they_expire_with_their_draft(app, monkeypatch):
    from datetime import timedelta

    from wiki.app import drafts as drafts_module

    drafts = app.extensions["trousse.drafts"]
    monkeypatch.setattr(drafts_module, "MAX_DRAFTS_PER_ACCOUNT", 1)
    drafts.save(7, "lieux/a", "# A\n")
    drafts.add_file(7, "lieux/a", "plan.png", PNG)
    drafts.add_file(7, "lieux/b", "plan.png", PNG)  # no draft written for b yet
    assert [item.name for item in drafts.files(7, "lieux/a")] == ["plan.png"]
    # A newer draft pushes a's out; once the grace is over, a's documents and b's go, c's (with a draft) stay.
    drafts.save(7, "lieux/c", "# C\n")
    drafts.add_file(7, "lieux/c", "plan.png", PNG)
    monkeypatch.setattr(drafts_module, "PENDING_GRACE", timedelta(seconds=-5))
    drafts.save(7, "lieux/c", "# C\n\nsuite\n")
    assert drafts.files(7, "lieux/a") == [] and drafts.files(7, "lieux/b") == []
    assert [item.name for item in drafts.files(7, "lieux/c")] == ["plan.png"]


def test_without_javascript_the_new_page_editor_posts_a_file_with_the_text(client, editor, data_dir):
    page = client.get("/edit/lieux/la-grange?title=La+grange")
    assert 'enctype="multipart/form-data"' in page.text and 'form="editor-form"' in page.text
    token = csrf_token(page.text)
    form = {"csrf_token": token, "markdown": "# La grange\n\nTexte.\n", "base_revision": "", "is_new": "1", "message": ""}
    added = client.post(
        "/edit/lieux/la-grange",
        data={**form, "action": "attach", "file": (io.BytesIO(PNG), "Façade.png")},
        content_type="multipart/form-data",
    )
    assert added.status_code == 200, added.text
    assert "Le document « facade.png » sera joint à l’enregistrement de la page." in added.text
    textarea = re.search(r'<textarea id="markdown"[^>]*>(.*?)</textarea>', added.text, re.S).group(1)
    assert textarea.endswith("Texte.\n\n![Façade](facade.png)\n"), textarea
    assert '<span class="pending-name">facade.png</span>' in added.text
    # The preview button shows it from where it waits.
    previewed = client.post("/edit/lieux/la-grange", data={**form, "markdown": textarea, "action": "preview"})
    assert 'src="/api/v1/draft-files/lieux/la-grange/facade.png"' in previewed.text
    # A refused file says why, and keeps the text.
    refused = client.post(
        "/edit/lieux/la-grange",
        data={**form, "markdown": textarea, "action": "attach", "file": (io.BytesIO(b"<html>"), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400 and "![Façade](facade.png)" in refused.text
    saved = client.post("/edit/lieux/la-grange", data={**form, "markdown": textarea, "action": "save"})
    assert saved.status_code == 302, saved.text
    revision = commits_touching(data_dir, "lieux/la-grange.md")
    assert revision == commits_touching(data_dir, "lieux/la-grange/facade.png") and len(revision) == 1


def test_without_javascript_a_waiting_document_can_be_taken_back(client, editor, data_dir):
    page = client.get("/edit/lieux/la-grange")
    form = {"csrf_token": csrf_token(page.text), "markdown": "# La grange\n", "is_new": "1", "base_revision": ""}
    client.post("/edit/lieux/la-grange", data={**form, "action": "attach", "file": (io.BytesIO(PDF), "cr.pdf")})
    again = client.post("/edit/lieux/la-grange", data={**form, "remove_pending": "cr.pdf"})
    assert again.status_code == 200 and 'class="pending-name"' not in again.text
    client.post("/edit/lieux/la-grange", data={**form, "action": "save"})
    assert commits_touching(data_dir, "lieux/la-grange/cr.pdf") == []


def test_the_editor_lists_waiting_documents_after_a_reload(client, editor):
    page = client.get("/edit/lieux/la-grange")
    client.put("/api/v1/draft-files/lieux/la-grange/plan.png", data=PNG, headers={"X-CSRFToken": csrf_token(page.text)})
    again = client.get("/edit/lieux/la-grange")
    assert '<span class="pending-name">plan.png</span>' in again.text
    assert client.get("/edit/home").text.count("pending-name") == 0


def test_drafts_keep_the_fiche_form(client, token):
    headers = bearer(token)
    fields = {"champ-commune": "Hourtin", "champ-negocie": "Travaux\npris en charge", "champ-oui": ""}
    saved = client.put(
        "/api/v1/drafts/loyers/x", json={"markdown": "---\nmodele: fiche-loyer\n---\n", "fields": fields}, headers=headers
    )
    assert saved.status_code == 200, saved.text
    assert client.get("/api/v1/drafts/loyers/x", headers=headers).json["fields"] == fields
    assert client.put("/api/v1/drafts/loyers/x", json={"markdown": "x", "fields": {"a": 3}}, headers=headers).status_code == 400
    assert client.put("/api/v1/drafts/loyers/x", json={"markdown": "x", "fields": ["a"]}, headers=headers).status_code == 400
    # A draft without fields answers an empty object.
    client.put("/api/v1/drafts/loyers/x", json={"markdown": "x"}, headers=headers)
    assert client.get("/api/v1/drafts/loyers/x", headers=headers).json["fields"] == {}


# -- the database under several workers -------------------------------------------------------


def test_workers_starting_together_upgrade_an_old_database_once(tmp_path):
    """Each worker of ``trousse serve`` opens the drafts at once: the second to add a column must not fail."""
    for round_ in range(30):  # the race is short: several rounds make a regression show
        database = tmp_path / f"trousse-{round_}.sqlite"
        with sqlite3.connect(database) as db:  # drafts as they were before the fiche form was kept
            db.execute(
                "CREATE TABLE drafts (user_id INTEGER NOT NULL, path TEXT NOT NULL, markdown TEXT NOT NULL,"
                " base_revision TEXT, saved TEXT NOT NULL, PRIMARY KEY (user_id, path))"
            )
        start = threading.Barrier(6)
        failures: list[BaseException] = []

        def open_drafts(database=database, start=start, failures=failures) -> None:
            start.wait()
            try:
                Drafts(database, 1_000_000).close()
            except BaseException as error:  # noqa: BLE001 - collected for the assertion below
                failures.append(error)

        threads = [threading.Thread(target=open_drafts) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        with sqlite3.connect(database) as db:
            assert "fields" in {row[1] for row in db.execute("PRAGMA table_info(drafts)")}
