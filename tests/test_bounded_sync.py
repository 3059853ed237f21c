"""The catch-up with main before each request is bounded: no request waits long for another's work."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import bearer, git

from repo_store.gitcmd import git_environment
from wiki.app.catch_up import REQUEST_SYNC_COMMITS


def push_history(repository: Path, commits: int, folder: str = "lot") -> str:
    """``commits`` commits on main, as a push from another process would bring them; returns the new head."""
    head = git(repository, "rev-parse", "main").strip()
    stream = []
    for number in range(commits):
        text = f"# Fiche {number % 20}\n\nVersion {number} de la fiche, mot-{folder}.\n".encode()
        message = f"fiche {number}".encode()
        stream += [
            b"commit refs/heads/main\n",
            f"committer Inès Simon <ines@example.org> {1_700_000_000 + number} +0100\n".encode(),
            b"data %d\n%s\n" % (len(message), message),
            *([f"from {head}\n".encode()] if number == 0 else []),
            f"M 100644 inline {folder}/fiche-{number % 20}.md\n".encode(),
            b"data %d\n%s\n" % (len(text), text),
        ]
    subprocess.run(
        ["git", "--git-dir", str(repository), "fast-import", "--quiet"], input=b"".join(stream), check=True, env=git_environment()
    )
    return git(repository, "rev-parse", "main").strip()


class BlockingListener:
    """A sync listener that holds the catch-up (and so the sync lock) until released, like a slow update."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.threads: list[str] = []

    def __call__(self, report) -> None:
        if report.moved:
            self.threads.append(threading.current_thread().name)
            self.entered.set()
            assert self.release.wait(60), "the test never released the catch-up"


def timed_get(app, url: str, timeout: float = 15.0, **options):
    """GET in another thread, so that a request that hangs fails the test instead of hanging it."""
    answer: dict = {}

    def run() -> None:
        started = time.monotonic()
        answer["response"] = app.test_client().get(url, **options)
        answer["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"GET {url} still waiting after {timeout} s"
    return answer["response"], answer["seconds"]


def wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the wiki did not catch up"
        time.sleep(0.05)


@pytest.fixture
def wiki(app):
    return app.extensions["trousse"]


@pytest.mark.slow
def test_a_request_waits_briefly_for_another_threads_catch_up(app, wiki, data_dir):
    slow = BlockingListener()
    wiki.listeners.insert(0, slow)  # before the search index's update
    push_history(data_dir / "wiki.git", 3)
    try:
        first = threading.Thread(target=lambda: app.test_client().get("/wiki/home"), daemon=True)
        first.start()
        assert slow.entered.wait(10)  # the first request is catching up, and stalls there
        response, seconds = timed_get(app, "/wiki/home")
        assert response.status_code == 200 and seconds < 6, seconds
        health, _seconds = timed_get(app, "/healthz")
        assert health.status_code == 200 and health.json["search"] == "catching_up"
    finally:
        slow.release.set()
    first.join(10)
    wait_for(lambda: app.test_client().get("/api/v1/pages/lot/fiche-2").status_code == 200)


def test_a_long_history_is_caught_up_in_the_background_not_in_a_request(app, wiki, data_dir, token):
    slow = BlockingListener()
    wiki.listeners.insert(0, slow)  # before the search index's update
    count = REQUEST_SYNC_COMMITS + 50
    head = push_history(data_dir / "wiki.git", count)
    try:
        response, seconds = timed_get(app, "/wiki/home")
        assert response.status_code == 200 and seconds < 6, seconds
        assert slow.entered.wait(10)
        assert slow.threads == ["trousse-catch-up"]  # not the request's thread
        # Meanwhile search answers as of the last catch-up: stale, never wrong.
        assert timed_get(app, "/api/v1/search?q=mot-lot")[0].json["total"] == 0
        health, _seconds = timed_get(app, "/healthz", headers=bearer(token))
        assert health.json["status"] == "ok" and health.json["search"] == "catching_up"
        assert health.json["revision"] == head and health.json["behind_by"] == count
    finally:
        slow.release.set()
    wait_for(lambda: app.test_client().get("/healthz").json["search"] == "ready")
    assert app.test_client().get("/api/v1/pages/lot/fiche-1").status_code == 200
    found = app.test_client().get("/api/v1/search", query_string={"q": "mot-lot"}).json
    assert found["total"] == 20


def test_a_save_after_a_long_push_elsewhere_returns_searchable(app, client, wiki, data_dir, token):
    push_history(data_dir / "wiki.git", REQUEST_SYNC_COMMITS + 50)
    response = client.put(
        "/api/v1/pages/guides/ornithorynque", json={"markdown": "# Ornithorynque\n\nUn ovipare.\n"}, headers=bearer(token)
    )
    assert response.status_code == 201, response.text
    assert wiki.synced_head == git(data_dir / "wiki.git", "rev-parse", "main").strip()
    hits = client.get("/api/v1/search", query_string={"q": "ovipare"}).json["results"]
    assert [hit["path"] for hit in hits] == ["guides/ornithorynque"]
    assert client.get("/api/v1/search", query_string={"q": "mot-lot"}).json["total"] == 20


def test_a_short_catch_up_still_happens_in_the_request(app, client, wiki, data_dir):
    push_history(data_dir / "wiki.git", 5, folder="court")
    assert client.get("/api/v1/pages/court/fiche-4").status_code == 200
    assert client.get("/api/v1/search", query_string={"q": "mot-court"}).json["total"] == 5


def test_a_search_index_far_behind_is_caught_up_in_the_background_too(app, wiki, data_dir):
    wiki.listeners.remove(wiki.search_updater)  # the index stops following main for a while
    push_history(data_dir / "wiki.git", REQUEST_SYNC_COMMITS + 50)
    wiki.sync()
    slow = BlockingListener()
    wiki.listeners[:0] = [slow, wiki.search_updater]
    push_history(data_dir / "wiki.git", 1, folder="dernier")  # the catalog lags by one commit only
    try:
        response, seconds = timed_get(app, "/wiki/home")
        assert response.status_code == 200 and seconds < 6, seconds
        assert slow.entered.wait(10) and slow.threads == ["trousse-catch-up"]
    finally:
        slow.release.set()
    wait_for(lambda: app.test_client().get("/healthz").json["search"] == "ready")
    assert app.test_client().get("/api/v1/search", query_string={"q": "mot-lot"}).json["total"] == 20
