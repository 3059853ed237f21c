"""``/api/v1/drafts/<path>``: each account's own draft of a page, dropped once that account saves it."""

from __future__ import annotations

from conftest import api_save, bearer, csrf_token


def put_draft(client, token, path, markdown, **more):
    return client.put(f"/api/v1/drafts/{path}", json={"markdown": markdown, **more}, headers=bearer(token))


def test_save_read_and_discard_a_draft(client, token):
    revision = client.get("/api/v1/pages/home").json["revision"]
    saved = put_draft(client, token, "home", "# Accueil\n\nEn cours…\n", base_revision=revision)
    assert saved.status_code == 200, saved.text
    assert saved.json["saved"].endswith("+00:00")
    got = client.get("/api/v1/drafts/home", headers=bearer(token))
    assert got.json == {
        "markdown": "# Accueil\n\nEn cours…\n",
        "base_revision": revision,
        "saved": saved.json["saved"],
        "fields": {},
        "files": [],
    }
    # A second save replaces the first: one draft per account and page.
    put_draft(client, token, "home", "v2")
    assert client.get("/api/v1/drafts/home", headers=bearer(token)).json["markdown"] == "v2"
    assert client.delete("/api/v1/drafts/home", headers=bearer(token)).status_code == 204
    missing = client.get("/api/v1/drafts/home", headers=bearer(token))
    assert missing.status_code == 404 and missing.json["error"] == "not_found"
    assert client.delete("/api/v1/drafts/home", headers=bearer(token)).status_code == 404


def test_a_draft_of_a_page_not_created_yet(client, token):
    assert put_draft(client, token, "lieux/nouveau", "# Nouveau\n").status_code == 200
    assert client.get("/api/v1/drafts/lieux/nouveau", headers=bearer(token)).json["base_revision"] is None


def test_another_account_cannot_read_or_drop_it(client, auth, token):
    put_draft(client, token, "home", "secret en cours")
    auth.create("dominique", "editor", "Dominique")
    other = auth.token("dominique")
    assert client.get("/api/v1/drafts/home", headers=bearer(other)).status_code == 404
    assert client.delete("/api/v1/drafts/home", headers=bearer(other)).status_code == 404
    put_draft(client, other, "home", "le sien")
    assert client.get("/api/v1/drafts/home", headers=bearer(token)).json["markdown"] == "secret en cours"
    assert client.get("/api/v1/drafts/home", headers=bearer(other)).json["markdown"] == "le sien"


def test_readers_and_visitors_have_no_drafts(client, auth):
    assert client.get("/api/v1/drafts/home").status_code == 401
    assert client.put("/api/v1/drafts/home", json={"markdown": "x"}).status_code == 401
    auth.create("lou", "reader", "Lou")
    assert put_draft(client, auth.token("lou"), "home", "x").status_code == 403


def test_saving_the_page_removes_only_that_accounts_draft(client, auth, token):
    auth.create("dominique", "editor", "Dominique")
    other = auth.token("dominique")
    put_draft(client, token, "home", "brouillon de Camille")
    put_draft(client, other, "home", "brouillon de Dominique")
    page = client.get("/api/v1/pages/home").json
    api_save(client, token, "home", page["markdown"] + "\nAjout.\n", base=page["revision"])
    assert client.get("/api/v1/drafts/home", headers=bearer(token)).status_code == 404
    assert client.get("/api/v1/drafts/home", headers=bearer(other)).status_code == 200


def test_saving_through_the_editor_form_removes_the_draft(client, editor):
    page = client.get("/edit/home")
    token = csrf_token(page.text)
    headers = {"X-CSRFToken": token}
    assert client.put("/api/v1/drafts/home", json={"markdown": "x"}, headers=headers).status_code == 200
    current = client.get("/api/v1/pages/home").json
    saved = client.post(
        "/edit/home",
        data={
            "csrf_token": token,
            "markdown": current["markdown"] + "\nAjout.\n",
            "base_revision": current["revision"],
            "is_new": "0",
            "action": "save",
        },
    )
    assert saved.status_code == 302, saved.text
    assert client.get("/api/v1/drafts/home").status_code == 404


def test_the_session_needs_its_csrf_header(client, editor):
    assert client.put("/api/v1/drafts/home", json={"markdown": "x"}).status_code == 400


def test_size_limit(app_factory, auth):
    app = app_factory({"storage": {"fsync": False}, "limits": {"max_page_bytes": 1000}})
    client = app.test_client()
    app.extensions["trousse.accounts"].add_user("camille", role="editor", password="x" * 12)
    token = app.extensions["trousse.accounts"].create_token("camille", "tests")
    assert put_draft(client, token, "home", "é" * 500).status_code == 200
    refused = put_draft(client, token, "home", "é" * 501)
    assert refused.status_code == 413 and refused.json["error"] == "too_large"
    assert client.get("/api/v1/drafts/home", headers=bearer(token)).json["markdown"] == "é" * 500


def test_bad_bodies_and_paths(client, token):
    assert put_draft(client, token, "home", 3).status_code == 400
    assert put_draft(client, token, "home", "x", base_revision="pas-une-revision").status_code == 400
    assert put_draft(client, token, "../etc", "x").status_code in (400, 404)


def test_the_editor_offers_the_draft_back(client, editor):
    page = client.get("/edit/home")
    assert "draft-offer" not in page.text
    client.put("/api/v1/drafts/home", json={"markdown": "x"}, headers={"X-CSRFToken": csrf_token(page.text)})
    again = client.get("/edit/home")
    assert 'class="draft-offer"' in again.text


def test_an_account_keeps_a_bounded_number_of_drafts(app, monkeypatch):
    from wiki.app import drafts as drafts_module

    monkeypatch.setattr(drafts_module, "MAX_DRAFTS_PER_ACCOUNT", 3)
    drafts = app.extensions["trousse.drafts"]
    for n in range(5):
        drafts.save(7, f"p{n}", "x")
    assert drafts.get(7, "p4").markdown == "x"
    assert not drafts.delete(7, "p0") and not drafts.delete(7, "p1")
    assert drafts.delete(7, "p2")
