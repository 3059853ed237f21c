"""The JSON API for pages: tokens, base revisions, merges, conflicts and the error format."""

from __future__ import annotations

import pytest
from conftest import bearer, csrf_token, git


def put(client, path, token, **body):
    return client.put(f"/api/v1/pages/{path}", json=body, headers=bearer(token))


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    assert response.is_json
    assert response.json["error"] == code
    assert isinstance(response.json["message"], str) and response.json["message"]


def test_list_pages(client):
    response = client.get("/api/v1/pages")
    assert response.status_code == 200
    pages = {page["path"]: page for page in response.json["pages"]}
    assert pages["home"]["title"] == "Accueil"
    assert len(pages["home"]["revision"]) == 40
    assert pages["home"]["updated"].endswith(("+01:00", "+02:00"))


def test_get_page_fields(client):
    response = client.get("/api/v1/pages/home")
    body = response.json
    assert set(body) == {"path", "title", "markdown", "html", "revision", "updated", "licence", "tags", "meta", "authors"} | {
        "template",
        "fields",
    }
    assert body["licence"] == "CC-BY-SA-4.0" and body["authors"] == ["Trousse"]
    assert body["markdown"].startswith("---\n") and "<h2" in body["html"]
    assert response.headers["ETag"] == f'"{body["revision"]}"'
    assert client.get("/api/v1/pages/home", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_create_then_save_with_base_revision(client, token, data_dir):
    created = put(client, "guides/elus", token, markdown="# Élus\n\nPremière version.\n", message="Crée la page")
    assert created.status_code == 201 and created.json["merged"] is False
    revision = created.json["revision"]
    assert git(data_dir / "wiki.git", "rev-parse", "main").strip() == revision
    saved = put(client, "guides/elus", token, markdown="# Élus\n\nDeuxième version.\n", base_revision=revision)
    assert saved.status_code == 200
    page = client.get("/api/v1/pages/guides/elus").json
    assert page["revision"] == saved.json["revision"]
    assert page["authors"] == ["Camille Été"]
    assert "Deuxième version." in page["markdown"]


def test_stale_base_merges_when_edits_do_not_overlap(client, token):
    text = "# Page\n\n" + "\n".join(f"ligne {n}" for n in range(12)) + "\n"
    base = put(client, "p", token, markdown=text).json["revision"]
    put(client, "p", token, markdown=text.replace("ligne 1\n", "ligne UN\n"), base_revision=base)
    merged = put(client, "p", token, markdown=text.replace("ligne 10\n", "ligne DIX\n"), base_revision=base)
    assert merged.status_code == 200 and merged.json["merged"] is True
    final = client.get("/api/v1/pages/p").json["markdown"]
    assert "ligne UN" in final and "ligne DIX" in final


def test_overlapping_edits_conflict(client, token):
    text = "# Page\n\nune ligne\n"
    base = put(client, "p", token, markdown=text).json["revision"]
    current = put(client, "p", token, markdown="# Page\n\nleur ligne\n", base_revision=base).json["revision"]
    response = put(client, "p", token, markdown="# Page\n\nma ligne\n", base_revision=base)
    assert_error(response, 409, "conflict")
    body = response.json
    assert body["current_revision"] == current
    assert "leur ligne" in body["current_markdown"]
    assert "ma ligne" in body["conflict_markdown"] and "<<<<<<<" in body["conflict_markdown"]


def test_saving_existing_page_without_base_is_a_conflict(client, token):
    assert_error(put(client, "home", token, markdown="écrasé"), 409, "conflict")


def test_writes_need_a_valid_token(client, token):
    assert_error(client.put("/api/v1/pages/x", json={"markdown": "x"}), 401, "unauthorized")
    assert_error(put(client, "x", "trousse_wrong"), 401, "unauthorized")
    assert_error(put(client, "x", "nonsense"), 401, "unauthorized")
    response = put(client, "x", "trousse_wrong", markdown="x")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_refused(app, client, token):
    accounts = app.extensions["trousse.accounts"]
    user = accounts.by_name("camille")
    accounts.revoke_token(user.id, accounts.tokens(user.id)[0].id)
    assert_error(put(client, "x", token, markdown="x"), 401, "unauthorized")


def test_reader_token_is_forbidden(auth, client):
    auth.create("lecteur", "reader")
    assert_error(put(client, "x", auth.token("lecteur"), markdown="x"), 403, "forbidden")


def test_session_writes_need_the_csrf_header(client, editor):
    assert_error(client.put("/api/v1/pages/x", json={"markdown": "# X\n"}), 400, "invalid")
    token = csrf_token(client.get("/edit/home").text)
    response = client.put("/api/v1/pages/x", json={"markdown": "# X\n"}, headers={"X-CSRFToken": token})
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("not json", 400, "invalid"),
        ({"markdown": 3}, 400, "invalid"),
        ({"markdown": "x", "base_revision": "HEAD"}, 400, "invalid"),
        ({"markdown": "x", "base_revision": "0" * 40}, 404, "not_found"),
        ({"markdown": "---\ntitle: [x\n---\n"}, 400, "invalid"),
        ({"markdown": "---\nlicence: Proprietary\n---\n"}, 400, "invalid"),
    ],
)
def test_bad_bodies(client, token, body, status, code):
    if isinstance(body, str):
        response = client.put("/api/v1/pages/new-page", data=body, headers={**bearer(token), "Content-Type": "application/json"})
    else:
        response = put(client, "new-page", token, **body)
    assert_error(response, status, code)


@pytest.mark.parametrize("path", ["..%2Fx", "-x", "Guides/Élus", ".git/config", "a%09b", "x" * 300])
def test_hostile_paths(client, token, path):
    assert_error(client.put(f"/api/v1/pages/{path}", json={"markdown": "x"}, headers=bearer(token)), 400, "invalid")


def test_newline_in_path_matches_no_route(client, token):
    assert_error(client.put("/api/v1/pages/a%0Ab", json={"markdown": "x"}, headers=bearer(token)), 404, "not_found")


def test_missing_page_and_revision(client):
    assert_error(client.get("/api/v1/pages/absent"), 404, "not_found")
    assert_error(client.get("/api/v1/pages/home?rev=zzz"), 400, "invalid")
    assert_error(client.get(f"/api/v1/pages/home?rev={'0' * 40}"), 404, "not_found")


def test_page_at_old_revision(client, token):
    first = put(client, "p", token, markdown="# P\n\nv1\n").json["revision"]
    put(client, "p", token, markdown="# P\n\nv2\n", base_revision=first)
    old = client.get(f"/api/v1/pages/p?rev={first}").json
    assert "v1" in old["markdown"] and old["revision"] == first


def test_too_large_page(app_factory, auth):
    app = app_factory({"limits": {"max_page_bytes": 100}, "storage": {"fsync": False}})
    auth.app = app
    auth.create()
    client = app.test_client()
    assert_error(put(client, "big", auth.token(), markdown="x" * 500), 413, "too_large")


def test_unknown_api_route_is_json(client):
    assert_error(client.get("/api/v1/nothing"), 404, "not_found")
    assert_error(client.post("/api/v1/pages", headers={"Authorization": "Bearer trousse_x"}), 405, "invalid")


def test_private_wiki_needs_an_account(app_factory, auth):
    app = app_factory({"access": {"read": "accounts"}, "storage": {"fsync": False}})
    client = app.test_client()
    assert_error(client.get("/api/v1/pages"), 401, "unauthorized")
    assert client.get("/wiki/home").status_code == 302
    assert client.get("/raw/home").status_code == 302
    assert client.get("/healthz").status_code == 200
    auth.app = app
    auth.create("lecteur", "reader")
    assert client.get("/api/v1/pages", headers=bearer(auth.token("lecteur"))).status_code == 200


def test_out_of_range_parameters_say_their_own_range(client):
    response = client.get("/api/v1/changes?limit=1000", headers={"Accept-Language": "fr"})
    assert_error(response, 400, "invalid")
    assert "limit" in response.json["message"] and "1 à 500" in response.json["message"]
    response = client.get("/api/v1/pages/home/history?limit=5000", headers={"Accept-Language": "en"})
    assert_error(response, 400, "invalid")
    assert "from 1 to 1000" in response.json["message"]
