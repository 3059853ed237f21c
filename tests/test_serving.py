"""``trousse serve`` as it runs in production: several workers, JSON access log, graceful stop."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow


def _get(url: str, headers: dict | None = None):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


def _put_page(base: str, token: str, path: str, markdown: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{base}/api/v1/pages/{path}",
        method="PUT",
        data=json.dumps({"markdown": markdown}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {}


def _main_contains(data, revision: str) -> bool:
    result = subprocess.run(["git", "--git-dir", str(data / "wiki.git"), "merge-base", "--is-ancestor", revision, "main"])
    return result.returncode == 0


def test_the_access_log_is_one_json_object_per_request(serve_wiki, tmp_path):
    base, _data = serve_wiki(workers=2)
    status, headers, _body = _get(base + "/wiki/home", {"User-Agent": "essai/1.0"})
    assert status == 200
    status, headers, _body = _get(base + "/healthz")
    assert status == 200 and json.loads(_body)["status"] == "ok"
    deadline = time.monotonic() + 10
    records = []
    while time.monotonic() < deadline:
        lines = (tmp_path / "data.log").read_text(encoding="utf-8", errors="replace").splitlines()
        records = [json.loads(line) for line in lines if line.startswith("{")]
        if any(record["path"] == "/healthz" for record in records):
            break
        time.sleep(0.1)
    page = next(record for record in records if record["path"] == "/wiki/home")
    assert page["method"] == "GET" and page["status"] == 200 and page["bytes"] > 0
    assert page["agent"] == "essai/1.0" and page["ms"] >= 0
    assert "client" not in page  # addresses are personal data: off unless asked for


def test_a_graceful_stop_finishes_the_saves_in_flight(serve_wiki):
    base, data = serve_wiki(workers=2)
    master = serve_wiki.servers[-1]
    token = run_cli(data, "token", "create", "camille").strip().splitlines()[-1]
    results: list[tuple[float, float, int, str]] = []
    lock = threading.Lock()
    failures: list = []
    stop = threading.Event()

    def writer(number: int) -> None:
        for round_ in range(200):
            if stop.is_set():
                return
            started = time.monotonic()
            try:
                status, body = _put_page(base, token, f"notes/arret-{number}-{round_}", f"# Arrêt {number}\n\nTour {round_}.\n")
            except OSError as error:
                with lock:
                    failures.append((started, time.monotonic(), repr(error)))
                return  # the listening socket is closed: the server stopped taking requests
            with lock:
                results.append((started, time.monotonic(), status, body.get("revision", "")))

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    signalled = time.monotonic()
    master.send_signal(signal.SIGTERM)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert master.wait(timeout=40) == 0

    assert results, "some saves were made"
    assert all(status < 500 for _s, _e, status, _r in results), results
    acknowledged = [revision for _s, _e, status, revision in results if status in (200, 201)]
    assert all(_main_contains(data, revision) for revision in acknowledged)
    in_flight = [r for r in results if r[0] < signalled < r[1] and r[2] in (200, 201)]
    assert in_flight, "a save that was running when the stop came was finished and acknowledged"
    check = subprocess.run(["git", "--git-dir", str(data / "wiki.git"), "fsck", "--no-progress"], capture_output=True)
    assert check.returncode == 0, check.stderr
    assert "Tout est en ordre" in run_cli(data, "check")


def test_two_workers_share_one_data_directory(serve_wiki):
    base, data = serve_wiki(workers=2)
    token = run_cli(data, "token", "create", "camille").strip().splitlines()[-1]
    revisions = []
    for number in range(12):
        status, body = _put_page(base, token, f"notes/partage-{number}", f"# Partagé {number}\n\nmot{number}unique\n")
        assert status in (200, 201)
        revisions.append(body["revision"])
    # Every process sees every save at once: reads and searches spread over both workers.
    for number in range(12):
        status, _headers, body = _get(f"{base}/api/v1/search?q=mot{number}unique")
        assert status == 200 and json.loads(body)["total"] == 1
    assert all(_main_contains(data, revision) for revision in revisions)
