"""``POST /api/v1/preview``: the editor's live preview goes through the server's renderer and sanitiser."""

from __future__ import annotations

from conftest import bearer, csrf_token


def preview(client, token, **body):
    return client.post("/api/v1/preview", json=body, headers=bearer(token))


def test_renders_like_a_saved_page(client, token):
    answer = preview(client, token, path="lieux/atelier", markdown="# Atelier\n\n**gras** et [[Accueil]] et [[Nulle part]]\n")
    assert answer.status_code == 200, answer.text
    html = answer.json["html"]
    assert "<strong>gras</strong>" in html
    assert 'href="/home"' in html or "/home" in html
    assert "Nulle" in html and "new" in html.lower() or "/new?" in html
    assert answer.json["title"] == "Atelier"


def test_sanitised_like_a_saved_page(client, token):
    html = preview(
        client, token, path="p", markdown='<script>alert(1)</script>\n\n<a href="javascript:x" onclick="y">z</a>\n'
    ).json["html"]
    assert "<script" not in html and "onclick" not in html and "javascript:" not in html


def test_editors_only_and_csrf_for_sessions(client, auth, editor):
    page = client.get("/edit/home")
    assert client.post("/api/v1/preview", json={"markdown": "x"}).status_code == 400  # no CSRF header
    ok = client.post("/api/v1/preview", json={"markdown": "*x*"}, headers={"X-CSRFToken": csrf_token(page.text)})
    assert ok.status_code == 200 and "<em>x</em>" in ok.json["html"]
    auth.create("lou", "reader", "Lou")
    assert preview(client, auth.token("lou"), markdown="x").status_code == 403


def test_size_limit_and_bad_bodies(app_factory):
    app = app_factory({"storage": {"fsync": False}, "limits": {"max_page_bytes": 1000}})
    client = app.test_client()
    app.extensions["trousse.accounts"].add_user("camille", role="editor", password="x" * 12)
    token = app.extensions["trousse.accounts"].create_token("camille", "tests")
    assert preview(client, token, markdown="a" * 1001).status_code == 413
    assert preview(client, token, markdown=["x"]).status_code == 400
