"""``/healthz``: status words for everyone, commit ids and counts for accounts only."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, bearer, csrf_token, git

from repo_store import FileChange, Identity
from wiki.app import catch_up, service

HEX40 = re.compile(r"[0-9a-f]{40}")
WORDS = {"status", "search", "indexed"}


@pytest.fixture
def private_app(app_factory):
    return app_factory({"access": {"read": "accounts"}, "storage": {"fsync": False}})


def login(app, client, name: str = "camille", role: str = "reader") -> None:
    app.extensions["trousse.accounts"].add_user(name, role=role, password=PASSWORD)
    page = client.get("/login")
    response = client.post("/login", data={"name": name, "password": PASSWORD, "next": "/", "csrf_token": csrf_token(page.text)})
    assert response.status_code == 302


def commit_pages(app, count: int) -> None:
    store = app.extensions["trousse"].store
    for number in range(count):
        store.commit(
            [FileChange(f"lot/page-{number}.md", f"# Page {number}\n".encode())],
            author=Identity("Inès", "ines@example.org"),
            message=f"page {number}",
        )


def test_anonymous_callers_of_a_private_wiki_get_status_words_only(private_app):
    client = private_app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "search": "ready", "indexed": True}
    assert not HEX40.search(response.text)
    assert response.headers["Cache-Control"] == "no-store"


def test_anonymous_callers_of_a_public_wiki_get_no_commit_ids_either(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and set(response.json) == WORDS
    assert not HEX40.search(response.text)


def test_a_wrong_token_gets_status_words_only(private_app):
    response = private_app.test_client().get("/healthz", headers=bearer("trousse_wrong"))
    assert response.status_code == 200 and set(response.json) == WORDS


def test_accounts_get_the_revision_and_the_lag(private_app, data_dir):
    client = private_app.test_client()
    login(private_app, client)
    body = client.get("/healthz").json
    assert body["revision"] == git(data_dir / "wiki.git", "rev-parse", "main").strip()
    assert body["behind_by"] == 0 and body["skipped"] == [] and body["search"] == "ready"


def test_a_token_shows_the_revision_too(private_app, data_dir):
    private_app.extensions["trousse.accounts"].add_user("robot", role="reader", password=PASSWORD)
    token = private_app.extensions["trousse.accounts"].create_token("robot", "supervision")
    body = private_app.test_client().get("/healthz", headers=bearer(token)).json
    assert body["revision"] == git(data_dir / "wiki.git", "rev-parse", "main").strip()
    assert body["behind_by"] == 0


def test_search_lagging_a_little_is_catching_up_then_behind(app, client, monkeypatch):
    wiki = app.extensions["trousse"]
    login(app, client)
    wiki.listeners.remove(wiki.search_updater)  # the index stops following main, as if its updates kept failing
    commit_pages(app, 3)
    body = client.get("/healthz").json
    assert (body["status"], body["search"], body["indexed"], body["behind_by"]) == ("ok", "catching_up", False, 3)
    monkeypatch.setattr(service, "BEHIND_AFTER_SECONDS", 0.0)  # no progress for too long
    body = client.get("/healthz").json
    assert (body["status"], body["search"], body["behind_by"]) == ("degraded", "behind", 3)
    assert client.get("/healthz").status_code == 200  # pages still read


def test_search_lagging_by_many_commits_is_behind(app, client, monkeypatch):
    wiki = app.extensions["trousse"]
    wiki.listeners.remove(wiki.search_updater)
    monkeypatch.setattr(service, "REQUEST_SYNC_COMMITS", 2)
    monkeypatch.setattr(catch_up, "REQUEST_SYNC_COMMITS", 2)
    commit_pages(app, 3)
    wiki.sync()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "degraded", "search": "behind", "indexed": False}


def test_skipped_files_are_listed_to_accounts_and_degrade_the_status(app, client, monkeypatch):
    updater = app.extensions["trousse"].search_updater
    monkeypatch.setattr(updater, "unreadable_files", lambda: [("licence/scan.pdf", "timeout")], raising=False)
    anonymous = client.get("/healthz")
    assert anonymous.status_code == 200 and anonymous.json["status"] == "degraded"
    assert "scan.pdf" not in anonymous.text
    login(app, client)
    assert client.get("/healthz").json["skipped"] == [{"path": "licence/scan.pdf", "reason": "timeout"}]


def test_unreadable_pages_answer_503(app, client, data_dir):
    git(data_dir / "wiki.git", "update-ref", "-d", "refs/heads/main")
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json["status"] == "unavailable"
    assert set(response.json) == WORDS
