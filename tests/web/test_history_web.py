"""History, diffs, restore, move, delete and recent changes through the test client."""

from __future__ import annotations

import feedparser
import pytest
from conftest import api_save, bearer, csrf_token, git


def test_history_page_lists_revisions(client, token):
    first = api_save(client, token, "guides/essai", "# Essai\n\nÉlus\n", message="Crée l'essai")
    second = api_save(client, token, "guides/essai", "# Essai\n\nÉlus et mairies\n", first, "Complète l'essai")
    html = client.get("/history/guides/essai").text
    assert html.index(second[:7]) < html.index(first[:7])
    assert "Complète l&#39;essai" in html and "Camille Été" in html and "<time datetime=" in html
    assert 'name="from"' in html and 'name="to"' in html


def test_diff_of_accented_text_marks_changed_words(client, token):
    first = api_save(client, token, "guides/essai", "# Essai\n\nLes élus ont négocié un loyer.\n")
    second = api_save(client, token, "guides/essai", "# Essai\n\nLes élues ont négocié un bail précaire.\n", first)
    html = client.get(f"/diff/guides/essai?from={first}&to={second}").text
    assert "<del>élus</del>" in html and "<ins>élues</ins>" in html
    assert "<ins>bail précaire</ins>" in html or ("<ins>bail</ins>" in html and "précaire" in html)
    default = client.get("/diff/guides/essai").text
    assert "<ins>élues</ins>" in default
    api = client.get(f"/api/v1/pages/guides/essai/diff?from={first}&to={second}").json
    assert "-Les élus ont négocié un loyer." in api["diff"] and "+Les élues ont négocié un bail précaire." in api["diff"]


def test_front_matter_changes_are_in_the_diff(client, token):
    first = api_save(client, token, "p", "---\ntitle: Avant\n---\n\ntexte\n")
    second = api_save(client, token, "p", "---\ntitle: Après\n---\n\ntexte\n", first)
    assert "title: Après" in client.get(f"/api/v1/pages/p/diff?from={first}&to={second}").json["diff"]


@pytest.mark.parametrize("revision", ["--output=x", "HEAD", "zz", "a" * 41, "..", "main~1"])
def test_hostile_revisions_are_invalid(client, revision):
    for url in (
        f"/wiki/home?rev={revision}",
        f"/raw/home?rev={revision}",
        f"/diff/home?from={revision}",
        f"/diff/home?to={revision}",
        f"/api/v1/pages/home/diff?to={revision}",
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "Traceback" not in response.text


def test_unknown_revisions_are_not_found(client):
    unknown = "0" * 40
    for url in (
        f"/wiki/home?rev={unknown}",
        f"/raw/home?rev={unknown}",
        f"/diff/home?to={unknown}",
        f"/api/v1/pages/home?rev={unknown}",
    ):
        assert client.get(url).status_code == 404, url


def test_restore_makes_a_new_commit_and_rewrites_nothing(client, editor, data_dir):
    repo = data_dir / "wiki.git"
    token = editor.token()
    first = api_save(client, token, "guides/r", "# R\n\nversion une\n")
    api_save(client, token, "guides/r", "# R\n\nversion deux\n", first)
    before = git(repo, "rev-list", "main").split()
    page = client.get(f"/diff/guides/r?from={first}")
    response = client.post("/restore/guides/r", data={"csrf_token": csrf_token(page.text), "revision": first})
    assert response.status_code == 302
    after = git(repo, "rev-list", "main").split()
    assert after[1:] == before and len(after) == len(before) + 1
    assert git(repo, "log", "-1", "--format=%s").strip() == f"Restaure « R » à la révision {first[:7]}"
    assert "version une" in client.get("/raw/guides/r").text


def test_delete_then_restore(client, editor, data_dir):
    token = editor.token()
    api_save(client, token, "guides/d", "# À supprimer\n\ncontenu précieux\n")
    page = client.get("/delete/guides/d")
    response = client.post(
        "/delete/guides/d",
        data={"csrf_token": csrf_token(page.text), "base_revision": client.get("/api/v1/pages/guides/d").json["revision"]},
    )
    assert response.status_code == 302
    gone = client.get("/wiki/guides/d")
    assert gone.status_code == 404 and "Camille" in gone.text and "/history/guides/d" in gone.text
    assert 'action="/restore/guides/d"' in gone.text
    assert client.get("/history/guides/d").status_code == 200
    revision = gone.text.split('name="revision" value="')[1].split('"')[0]
    client.post("/restore/guides/d", data={"csrf_token": csrf_token(gone.text), "revision": revision})
    assert "contenu précieux" in client.get("/raw/guides/d").text


def test_api_delete_needs_a_current_base_revision(client, token):
    first = api_save(client, token, "x", "# X\n")
    assert client.delete("/api/v1/pages/x", headers=bearer(token)).status_code == 409
    second = api_save(client, token, "x", "# X\n\nchangé\n", first)
    stale = client.delete(f"/api/v1/pages/x?base_revision={first}", headers=bearer(token))
    assert stale.status_code == 409 and stale.json["error"] == "conflict"
    done = client.delete(f"/api/v1/pages/x?base_revision={second}", headers=bearer(token))
    assert done.status_code == 200 and len(done.json["revision"]) == 40
    assert client.get("/api/v1/pages/x").status_code == 404


def test_move_keeps_links_and_old_urls_working(client, token, data_dir):
    api_save(client, token, "guides/ancien", "# Ancien nom\n")
    api_save(client, token, "guides/lien", "# Lien\n\nVoir [[guides/ancien]].\n")
    moved = client.post("/api/v1/pages/guides/ancien/move", json={"to": "guides/nouveau"}, headers=bearer(token))
    assert moved.status_code == 200 and moved.json["path"] == "guides/nouveau"
    status = git(data_dir / "wiki.git", "show", "--name-status", "-M", "--format=", "main").strip()
    assert status.startswith("R100") and "guides/nouveau.md" in status
    old = client.get("/wiki/guides/ancien")
    assert old.status_code == 301 and old.headers["Location"] == "/wiki/guides/nouveau"
    api_old = client.get("/api/v1/pages/guides/ancien")
    assert api_old.status_code == 301 and api_old.headers["Location"] == "/api/v1/pages/guides/nouveau"
    assert 'href="/wiki/guides/nouveau"' in client.get("/wiki/guides/lien").text
    history = client.get("/api/v1/pages/guides/nouveau/history").json["revisions"]
    assert len(history) == 2


def test_move_carries_attachments(app, client, token, data_dir):
    from repo_store import FileChange, Identity

    api_save(client, token, "guides/doc", "# Doc\n")
    wiki = app.extensions["trousse"]
    wiki.store.commit([FileChange("guides/doc/modele.odt", b"PK fake")], author=Identity("x", "x@x"), message="pj")
    client.post("/api/v1/pages/guides/doc/move", json={"to": "juridique/doc"}, headers=bearer(token))
    files = git(data_dir / "wiki.git", "ls-tree", "-r", "--name-only", "main").split()
    assert "juridique/doc/modele.odt" in files and "guides/doc/modele.odt" not in files


def test_move_refuses_to_overwrite(client, token):
    api_save(client, token, "a", "# A\n")
    api_save(client, token, "b", "# B\n")
    response = client.post("/api/v1/pages/a/move", json={"to": "b"}, headers=bearer(token))
    assert response.status_code == 409 and response.json["error"] == "conflict"
    assert "# B" in client.get("/raw/b").text and "# A" in client.get("/raw/a").text
    assert client.post("/api/v1/pages/a/move", json={"to": "../etc"}, headers=bearer(token)).status_code == 400
    assert client.post("/api/v1/pages/a/move", json={"to": "Pas Un Slug"}, headers=bearer(token)).status_code == 400


def test_move_form_shows_a_refusal_and_keeps_what_was_typed(client, editor):
    api_save(client, editor.token(), "a", "# A\n")
    api_save(client, editor.token(), "b", "# B\n")
    form = client.get("/move/a")
    taken = client.post("/move/a", data={"csrf_token": csrf_token(form.text), "to": "b"})
    assert taken.status_code == 409
    assert 'role="alert"' in taken.text and 'value="b"' in taken.text and "existe déjà" in taken.text
    bad = client.post("/move/a", data={"csrf_token": csrf_token(form.text), "to": "Pas Un Slug"})
    assert bad.status_code == 400
    assert 'role="alert"' in bad.text and 'value="Pas Un Slug"' in bad.text
    assert "# A" in client.get("/raw/a").text


def test_the_old_address_of_a_moved_then_deleted_page_tells_what_became_of_it(client, token):
    api_save(client, token, "guides/x", "# X\n")
    moved = client.post("/api/v1/pages/guides/x/move", json={"to": "guides/y"}, headers=bearer(token)).json
    deleted = client.delete(f"/api/v1/pages/guides/y?base_revision={moved['revision']}", headers=bearer(token))
    assert deleted.status_code == 200
    old = client.get("/wiki/guides/x")
    assert old.status_code == 301 and old.headers["Location"] == "/wiki/guides/y"
    gone = client.get("/wiki/guides/y")
    assert gone.status_code == 404 and "Cette page a été supprimée" in gone.text


def test_blame_page(client, token):
    first = api_save(client, token, "bl", "# B\n\nligne une\n")
    api_save(client, token, "bl", "# B\n\nligne une\nligne deux\n", first)
    html = client.get("/blame/bl").text
    assert "ligne deux" in html and "Camille Été" in html


def test_recent_changes_page_and_filters(client, token):
    api_save(client, token, "loyers/test-loyer", "# Test loyer\n", message="Ajoute un loyer")
    html = client.get("/changes").text
    assert "Ajoute un loyer" in html and "/wiki/loyers/test-loyer" in html
    assert "Ajoute un loyer" in client.get("/changes?folder=loyers").text
    assert "Ajoute un loyer" not in client.get("/changes?folder=guides").text
    assert "Ajoute un loyer" in client.get("/changes?author=Camille Été").text
    assert "Ajoute un loyer" not in client.get("/changes?author=Personne").text
    api = client.get("/api/v1/changes?limit=1").json["changes"]
    assert api[0]["paths"] == ["loyers/test-loyer"] and api[0]["message"] == "Ajoute un loyer"


def test_atom_feed_is_valid_and_newest_first(client, token):
    api_save(client, token, "guides/flux", "# Flux\n", message="Premier changement")
    api_save(client, token, "guides/flux-2", "# Flux 2\n", message="Dernier changement")
    response = client.get("/changes.atom")
    assert response.headers["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title.endswith("Réseau des tiers-lieux")
    assert feed.entries[0].title == "Dernier changement"
    assert feed.entries[1].title == "Premier changement"
    assert feed.entries[0].author == "Camille Été"
    assert feed.entries[0].link.startswith("http://localhost/diff/guides/flux-2")  # no site.base_url: the request's address
    assert len(feed.entries) <= 50


def test_api_history_shape(client, token):
    first = api_save(client, token, "h", "# H\n", message="un")
    api_save(client, token, "h", "# H\n\n2\n", first, "deux")
    revisions = client.get("/api/v1/pages/h/history").json["revisions"]
    assert [r["message"] for r in revisions] == ["deux", "un"]
    assert set(revisions[0]) == {"revision", "author", "date", "message"}
    assert client.get("/api/v1/pages/absent/history").status_code == 404


def test_recent_changes_tell_pages_with_dots_from_files(app, client):
    """Imported wikis may name pages like ``notes/v1.2``: still pages, not attachments."""
    from repo_store import FileChange, Identity

    wiki = app.extensions["trousse"]
    wiki.store.commit(
        [FileChange("notes/v1.2.md", b"# Version 1.2\n"), FileChange("notes/plan.pdf", b"%PDF-1.4\n")],
        author=Identity("Zoé", "zoe@example.org"),
        message="import",
    )
    wiki.sync()
    html = client.get("/changes").text
    assert 'href="/wiki/notes/v1.2"' in html
    assert 'href="/files/notes/plan.pdf"' in html
    feed = feedparser.parse(client.get("/changes.atom").data)
    assert feed.entries[0].link.endswith("/diff/notes/v1.2?to=" + wiki.store.head())
