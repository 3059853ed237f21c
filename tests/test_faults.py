"""Faults while serving: killed workers, a lost or damaged index, a full disk, a server stopped mid-push.

Each test runs the real ``trousse serve`` (gunicorn, several processes) on its
own data directory, breaks something the way a machine does, and then checks
what users were promised: the repository is valid, every change the server
acknowledged is on ``main``, and the wiki recovers by itself or ``trousse
check`` says what to do.
"""

from __future__ import annotations

import errno
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from conftest import HOLD_MAIN_LOCK, PASSWORD, PROJECT_ROOT, csrf_token, form_value, free_port, git, run_cli

from repo_store.gitcmd import git_environment

pytestmark = pytest.mark.slow

AUTHOR = {
    "GIT_AUTHOR_NAME": "Inès Simon",
    "GIT_AUTHOR_EMAIL": "ines@example.org",
    "GIT_COMMITTER_NAME": "Inès Simon",
    "GIT_COMMITTER_EMAIL": "ines@example.org",
}


# -- a server we can start, stop and kill -----------------------------------


def prepare(root: Path, template: Path) -> Path:
    """A data directory copied from the initialised template, with the editor Camille."""
    shutil.copytree(template, root, dirs_exist_ok=True)
    run_cli(
        root,
        "user",
        "add",
        "camille",
        "--role",
        "editor",
        "--display-name",
        "Camille Été",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    return root


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (for gunicorn's master: its workers)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(child) for child in handle.read().split()]
        except FileNotFoundError:
            continue
    return found


def descendants(pid: int) -> list[int]:
    found = []
    for child in children(pid):
        found.append(child)
        found += descendants(child)
    return found


def command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


class Server:
    """``trousse serve`` on an existing data directory, as a subprocess we can signal."""

    def __init__(self, data: Path, log: Path, workers: int = 2) -> None:
        self.data = data
        self.log = log
        self.workers = workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> Server:
        env = git_environment(
            {"PYTHONPATH": str(PROJECT_ROOT), "TROUSSE_STORAGE_FSYNC": "false", "TROUSSE_SITE_BASE_URL": self.base}
        )
        with open(self.log, "ab") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "wiki",
                    "--data",
                    str(self.data),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + 30
        while True:
            if status(self.base + "/healthz") == 200 and len(self.worker_pids()) == self.workers:
                return self
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                pytest.fail("the server did not start:\n" + self.log_text())
            time.sleep(0.1)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        return children(self.process.pid)

    def stop(self, timeout: float = 40) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL to the master, its workers and whatever git they were running, as a crash would."""
        if self.process is None:
            return
        everyone: list[int] = []
        for _pass in range(2):  # frozen first, so that none of them starts another process meanwhile
            for pid in [self.process.pid, *descendants(self.process.pid)]:
                if pid not in everyone:
                    everyone.append(pid)
                    signal_quietly(pid, signal.SIGSTOP)
        for pid in everyone:
            signal_quietly(pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        wait_gone(everyone)


def signal_quietly(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass


def wait_gone(pids: list[int], timeout: float = 10) -> None:
    """Wait until the processes are dead (zombies waiting for their parent count as dead)."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                with open(f"/proc/{pid}/stat") as handle:
                    if handle.read().rsplit(")", 1)[-1].split()[0] == "Z":
                        break
            except FileNotFoundError:
                break
            time.sleep(0.02)


@pytest.fixture
def servers():
    started: list[Server] = []

    def start(data: Path, log: Path, workers: int = 2) -> Server:
        server = Server(data, log, workers)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop(timeout=15)


# -- HTTP and git clients ----------------------------------------------------


def status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        error.close()
        return error.code
    except (OSError, http.client.HTTPException):
        return None


def call(
    method: str, url: str, body: dict | None = None, token: str | None = None, timeout: float = 30, opener=None
) -> tuple[int, dict, str]:
    """(status, JSON body or {}, raw text); a dropped connection raises ConnectionError."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with (opener.open if opener else urllib.request.urlopen)(request, timeout=timeout) as response:
            code, text, kind = (
                response.status,
                response.read().decode("utf-8", "replace"),
                response.headers.get("Content-Type", ""),
            )
    except urllib.error.HTTPError as error:
        with error:
            code, text, kind = error.code, error.read().decode("utf-8", "replace"), error.headers.get("Content-Type", "")
    except (OSError, http.client.HTTPException) as error:
        raise ConnectionError(str(error)) from error
    parsed = json.loads(text) if kind.startswith("application/json") and text else {}
    return code, parsed, text


def token_for(data: Path) -> str:
    return run_cli(data, "token", "create", "camille").strip().splitlines()[-1]


def client_git(cwd: Path | None, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env=git_environment({**AUTHOR, "GIT_TERMINAL_PROMPT": "0"})
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def push_url(base: str, token: str) -> str:
    return base.replace("http://", f"http://camille:{token}@") + "/wiki.git"


def main_of(data: Path) -> str:
    return git(data / "wiki.git", "rev-parse", "refs/heads/main").strip()


def is_ancestor(data: Path, commit: str, of: str = "refs/heads/main") -> bool:
    return (
        subprocess.run(
            ["git", "--git-dir", str(data / "wiki.git"), "merge-base", "--is-ancestor", commit, of],
            capture_output=True,
            env=git_environment(),
        ).returncode
        == 0
    )


def assert_repository_valid(data: Path) -> None:
    fsck = subprocess.run(
        ["git", "--git-dir", str(data / "wiki.git"), "fsck", "--strict", "--full", "--no-dangling"],
        capture_output=True,
        text=True,
        env=git_environment(),
    )
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert fsck.stderr.strip() == "" or "dangling" not in fsck.stderr, fsck.stderr
    git(data / "wiki.git", "cat-file", "-e", "refs/heads/main^{commit}")


def trousse_check(data: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wiki", "--lang", "en", "--data", str(data), "check"],
        capture_output=True,
        text=True,
        env=git_environment({"PYTHONPATH": str(PROJECT_ROOT)}),
    )


def assert_check_clean(data: Path) -> None:
    """``trousse check`` is clean, or says what to run, and then is clean after running it."""
    result = trousse_check(data)
    if result.returncode != 0:
        assert "trousse reindex" in result.stdout, result.stdout + result.stderr
        run_cli(data, "reindex")
        result = trousse_check(data)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def wait_for(condition, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(interval)


# -- 1. a worker killed in the middle of saves and pushes --------------------


def serving_push(server: Server, timeout: float) -> int | None:
    """The worker running ``git receive-pack`` for a push, as soon as one does (None if none did in time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker in server.worker_pids():
            if any("receive-pack" in command_line(pid) or "wiki.app.hooks" in command_line(pid) for pid in descendants(worker)):
                return worker
        time.sleep(0.01)
    return None


def test_killed_workers_lose_no_acknowledged_save_or_push(servers, tmp_path, initialised_template):
    data = prepare(tmp_path / "data", initialised_template)
    token = token_for(data)
    server = servers(data, tmp_path / "server.log", workers=2)
    base = server.base
    stop = threading.Event()
    acknowledged: dict[str, tuple[str, str]] = {}  # page path → (revision, text)
    refused: list[str] = []
    lock = threading.Lock()
    # Saves pause while a push that lost several races to them tries again, so that pushes land too.
    quiet = threading.Event()
    quiet.set()
    in_flight = threading.Semaphore(4)

    def saver(number: int) -> None:
        n = 0
        while not stop.is_set():
            quiet.wait(timeout=10)
            path = f"essais/fil-{number}-{n}"
            text = f"# Fil {number} essai {n}\n\nSauvegarde {n} du fil {number}.\n"
            n += 1
            with in_flight:
                try:
                    code, body, raw = call("PUT", f"{base}/api/v1/pages/{path}", {"markdown": text}, token)
                except ConnectionError:
                    continue  # not acknowledged: it may or may not have landed
            with lock:
                if code in (200, 201):
                    acknowledged[path] = (body["revision"], text)
                else:
                    refused.append(f"{code} {raw[:300]}")

    pushed: list[str] = []
    failures: list[str] = []
    clone = tmp_path / "clone"
    client_git(None, "clone", "-q", f"{base}/wiki.git", str(clone))

    def push_once() -> bool:
        result = client_git(clone, "push", "-q", push_url(base, token), "HEAD:main", check=False)
        if result.returncode == 0:
            with lock:
                pushed.append(client_git(clone, "rev-parse", "HEAD").stdout.strip())
            return True
        failures.append(result.stderr[-300:])
        return False

    def pusher() -> None:
        n = 0
        while not stop.is_set():
            (clone / "poussees").mkdir(exist_ok=True)
            (clone / "poussees" / f"p-{n}.md").write_text(f"# Poussée {n}\n\nPar git, numéro {n}.\n", encoding="utf-8")
            client_git(clone, "add", "-A")
            client_git(clone, "commit", "-q", "-m", f"poussée {n}")
            n += 1
            for attempt in range(30):
                if stop.is_set():
                    return
                if attempt >= 2:
                    quiet.clear()
                    for _slot in range(4):  # wait for the saves in flight
                        in_flight.acquire()
                    for _slot in range(4):
                        in_flight.release()
                fetched = client_git(clone, "fetch", "-q", f"{base}/wiki.git", "main", check=False)
                if fetched.returncode == 0:
                    client_git(clone, "rebase", "-q", "FETCH_HEAD")
                try:
                    if push_once():
                        break
                finally:
                    quiet.set()

    threads = [threading.Thread(target=saver, args=(number,)) for number in range(4)]
    threads.append(threading.Thread(target=pusher))
    for thread in threads:
        thread.start()
    killed: list[int] = []
    try:
        for round in range(3):
            before = len(acknowledged) + len(pushed)
            wait_for(lambda before=before: len(acknowledged) + len(pushed) >= before + 3, 60, "saves between kills", 0.05)
            victim = serving_push(server, 20) if round == 1 else None  # this one in the middle of a push
            victim = victim or random.choice(server.worker_pids())
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
            wait_for(
                lambda: len([pid for pid in server.worker_pids() if pid not in killed]) == 2,
                30,
                "gunicorn to replace the killed worker",
            )
        saved_after = len(acknowledged)
        wait_for(lambda: len(acknowledged) >= saved_after + 5 and pushed, 60, "saves and a push after the kills")
    finally:
        stop.set()
        quiet.set()
        for thread in threads:
            thread.join(timeout=60)
    assert server.process.poll() is None, server.log_text()
    assert not [answer for answer in refused if answer.startswith("500")], refused

    assert_repository_valid(data)
    head = main_of(data)
    for path, (revision, text) in acknowledged.items():
        assert is_ancestor(data, revision, head), f"acknowledged save of {path} ({revision}) is not on main"
        assert git(data / "wiki.git", "show", f"{head}:{path}.md") == text
    for commit in pushed:
        assert is_ancestor(data, commit, head), f"acknowledged push {commit} is not on main"

    assert status(base + "/healthz") == 200
    code, body, raw = call("PUT", f"{base}/api/v1/pages/essais/apres", {"markdown": "# Après\n\nTout va bien.\n"}, token)
    assert code == 201, raw
    assert is_ancestor(data, body["revision"])

    # Killed while it held main's lock, in the middle of its ref update: the next save is not blocked.
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_MAIN_LOCK, str(data / "wiki.git")],
        stdout=subprocess.PIPE,
        env=git_environment({"PYTHONPATH": str(PROJECT_ROOT)}),
    )
    assert holder.stdout.readline().strip() == b"locked"
    holder.kill()
    holder.communicate()
    assert (data / "wiki.git" / "refs" / "heads" / "main.lock").exists()
    code, body, raw = call("PUT", f"{base}/api/v1/pages/essais/verrou", {"markdown": "# Verrou\n\nRepris.\n"}, token)
    assert code == 201, raw
    assert main_of(data) == body["revision"]
    code, body, raw = call("GET", f"{base}/api/v1/search?q=sauvegarde&limit=100")
    assert code == 200 and body["total"] >= len(acknowledged), raw
    assert_check_clean(data)
    assert "Traceback" not in server.log_text()


# -- 2. the search index deleted or damaged while serving --------------------


def search_answers(base: str, word: str) -> list[tuple[int | None, list[str]]]:
    """Ask the API and the web page several times (both workers); (status, paths found) for each."""
    answers = []
    for _ in range(4):
        try:
            code, body, raw = call("GET", f"{base}/api/v1/search?q={urllib.parse.quote(word)}")
        except ConnectionError as error:
            answers.append((None, [str(error)]))
            continue
        assert code != 500 and "Traceback" not in raw, raw
        if code == 200:
            answers.append((code, [hit["path"] for hit in body["results"]]))
        else:
            assert body.get("error") and body.get("message"), raw
            answers.append((code, []))
        page = status(f"{base}/search?q={urllib.parse.quote(word)}")
        assert page in (200, 503), page
    return answers


def searches_work(base: str, word: str, path: str) -> bool:
    return all(code == 200 and path in paths for code, paths in search_answers(base, word))


def test_a_deleted_or_damaged_index_never_fails_a_search_and_is_rebuilt(servers, tmp_path, initialised_template):
    data = prepare(tmp_path / "data", initialised_template)
    token = token_for(data)
    server = servers(data, tmp_path / "server.log", workers=2)
    base = server.base
    code, _body, raw = call(
        "PUT",
        f"{base}/api/v1/pages/guides/ornithorynque",
        {"markdown": "# Ornithorynque\n\nUn mammifère qui pond des œufs.\n"},
        token,
    )
    assert code == 201, raw
    assert searches_work(base, "ornithorynque", "guides/ornithorynque")
    index = data / "index" / "search"

    # Deleted: every search answers (results or a clear "try again"), and the index comes back by itself.
    shutil.rmtree(index)
    answers = search_answers(base, "ornithorynque")
    assert all(code in (200, 503) for code, _paths in answers), answers
    wait_for(lambda: searches_work(base, "ornithorynque", "guides/ornithorynque"), 30, "the index to be rebuilt")
    assert status(base + "/healthz") == 200

    # Damaged in place: segment files garbled (the table of contents intact), then truncated with the
    # table of contents garbage. Searches already running in the workers read those very files.
    for damage in ("garble", "truncate"):
        segments = sorted(index.glob("*.seg"))
        assert segments
        for segment in segments:
            size = segment.stat().st_size
            with open(segment, "r+b") as handle:
                if damage == "garble":
                    handle.seek(size // 4)
                    handle.write(os.urandom(size // 2))
                else:
                    handle.truncate(size // 2)
        if damage == "truncate":
            for toc in index.glob("*.toc"):
                toc.write_bytes(b"\x00garbage" * 30)
        answers = search_answers(base, "ornithorynque")
        assert all(code in (200, 503) for code, _paths in answers), answers
        health = call("GET", base + "/healthz")
        assert health[0] == 200 or (health[0] == 503 and health[1]["search"] == "unavailable"), health
        wait_for(lambda: searches_work(base, "ornithorynque", "guides/ornithorynque"), 30, "the index to be rebuilt")
        health = call("GET", base + "/healthz")
        assert health[0] == 200 and health[1]["search"] == "ready", health

    # The whole derived directory (catalog and index) is disposable too.
    shutil.rmtree(data / "index")
    for path in ("/wiki/guides/ornithorynque", "/api/v1/pages/guides/ornithorynque", "/healthz", "/pages"):
        assert status(base + path) in (200, 503), path
    wait_for(lambda: searches_work(base, "ornithorynque", "guides/ornithorynque"), 30, "the index to be rebuilt")
    assert status(base + "/wiki/guides/ornithorynque") == 200
    code, _body, raw = call("PUT", f"{base}/api/v1/pages/guides/echidne", {"markdown": "# Échidné\n\nUn cousin.\n"}, token)
    assert code == 201, raw
    assert searches_work(base, "echidne", "guides/echidne")
    assert server.process.poll() is None
    assert_check_clean(data)
    assert "Traceback" not in server.log_text()

    # Damaged while no server runs: `trousse check` names the fix, and the fix works.
    server.stop()
    for segment in index.glob("*.seg"):
        with open(segment, "r+b") as handle:
            handle.seek(segment.stat().st_size // 3)
            handle.write(b"\xff" * 64)
    found = trousse_check(data)
    assert found.returncode == 1 and "search index is missing or damaged" in found.stdout, found.stdout + found.stderr
    assert "run `trousse reindex`" in found.stdout and "Traceback" not in found.stderr
    run_cli(data, "reindex")
    assert trousse_check(data).returncode == 0
    server = servers(data, tmp_path / "restarted.log", workers=1)
    assert searches_work(server.base, "echidne", "guides/echidne")


def test_damage_is_told_from_a_bug_by_the_recorded_checksums(tmp_path, monkeypatch):
    """A failing search on intact files is a bug (raised as it is, the index kept); on changed files, damage."""
    from search import Document, IndexUnavailable, Plan, SearchIndex
    from search.docsets import View

    documents = [Document(f"guides/page-{n}", f"Page {n}", f"Le tatou numéro {n} creuse.", updated=n) for n in range(30)]
    index = SearchIndex(tmp_path / "index")
    try:
        index.update(lambda _last: Plan("c" * 40, documents, rebuild=True))
        assert index.search("tatou").total == 30
        segments = sorted((tmp_path / "index").glob("*.seg"))

        def broken(*_args, **_kwargs):
            raise RuntimeError("a bug in the search code")

        with monkeypatch.context() as patch:
            patch.setattr(View, "evaluate", broken)
            with pytest.raises(RuntimeError):
                index.search("tatou")
        assert sorted((tmp_path / "index").glob("*.seg")) == segments, "an intact index was thrown away"
        assert index.search("tatou").total == 30

        # Garbled: reads may still succeed (with wrong answers), the checksums tell.
        with open(segments[0], "r+b") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(size // 4)
            handle.write(bytes(size // 2))
        assert not index.verify()
        assert not index.is_filled()  # made again, empty: the wiki refills it from git
        index.update(lambda _last: Plan("c" * 40, documents, rebuild=True))
        assert index.verify() and index.search("creuse").total == 30

        # Truncated under a reader: the search fails with IndexUnavailable, never a crash of the process.
        for segment in (tmp_path / "index").glob("*.seg"):
            os.truncate(segment, segment.stat().st_size // 2)
        with pytest.raises(IndexUnavailable):
            index.search("numéro")
        assert not index.is_filled()
        index.update(lambda _last: Plan("c" * 40, documents, rebuild=True))
        assert index.search("numéro").total == 30 and index.indexed_commit() == "c" * 40
    finally:
        index.close()


# -- 3. the disk of the data directory fills up ------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 12 MB tmpfs, mounted for the test (root only)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("filling a disk needs a small tmpfs, and mounting one needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=12m,mode=0755", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip() or 'mount failed'}")
    yield mount_point
    subprocess.run(["umount", "--lazy", str(mount_point)], capture_output=True)


def fill(directory: Path) -> Path:
    """Write a file until the filesystem has no block left."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as handle:
        for size in (1 << 20, 1 << 12, 1):
            block = b"\0" * size
            try:
                while True:
                    handle.write(block)
            except OSError as error:
                assert error.errno == errno.ENOSPC, error
    return filler


def logged_in(base: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with opener.open(base + "/login", timeout=10) as response:
        token = csrf_token(response.read().decode())
    form = urllib.parse.urlencode({"name": "camille", "password": PASSWORD, "next": "/", "csrf_token": token})
    with opener.open(base + "/login", data=form.encode(), timeout=10) as response:
        assert response.status == 200
    return opener


def post_form(opener, url: str, fields: dict) -> tuple[int, str]:
    try:
        with opener.open(url, data=urllib.parse.urlencode(fields).encode(), timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


def test_a_full_disk_refuses_changes_cleanly_and_loses_nothing(small_disk, servers, tmp_path, initialised_template):
    data = prepare(small_disk / "data", initialised_template)
    token = token_for(data)
    server = servers(data, tmp_path / "server.log", workers=2)
    base = server.base
    code, _body, raw = call("GET", f"{base}/api/v1/pages/home", token=token)  # the token's first use is noted
    assert code == 200, raw
    browser = logged_in(base)
    with browser.open(f"{base}/edit/guides/tiers-lieux-nourriciers", timeout=10) as response:
        editor = response.read().decode()
    clone = tmp_path / "clone"
    client_git(None, "clone", "-q", f"{base}/wiki.git", str(clone))
    (clone / "guides" / "poussee-pleine.md").write_text("# Poussée\n\nSur un disque plein.\n", encoding="utf-8")
    client_git(clone, "add", "-A")
    client_git(clone, "commit", "-q", "-m", "poussée sur un disque plein")
    before = main_of(data)

    filler = fill(small_disk)
    try:
        # The API, with a token and with a session: a clear refusal, with its code.
        code, body, raw = call(
            "PUT", f"{base}/api/v1/pages/guides/disque-plein", {"markdown": "# Disque plein\n\nRien ne doit être perdu.\n"}, token
        )
        assert code == 507 and body["error"] == "insufficient_storage" and body["message"], raw
        request = urllib.request.Request(
            f"{base}/api/v1/pages/guides/disque-plein",
            method="PUT",
            data=json.dumps({"markdown": "# Disque plein\n\nPar la session.\n"}).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf_token(editor)},
        )
        try:
            browser.open(request, timeout=30)
            pytest.fail("a save on a full disk was acknowledged")
        except urllib.error.HTTPError as error:
            with error:
                answer = json.loads(error.read())
            assert error.code == 507 and answer["error"] == "insufficient_storage", answer
        # The web editor: the page says why, and the text is still in the editor.
        text = "# Tiers-lieux nourriciers\n\nTexte gardé malgré le disque plein.\n"
        code, html = post_form(
            browser,
            f"{base}/edit/guides/tiers-lieux-nourriciers",
            {
                "csrf_token": csrf_token(editor),
                "base_revision": form_value(editor, "base_revision"),
                "is_new": "0",
                "markdown": text,
                "message": "essai",
                "action": "save",
            },
        )
        assert code == 507, html
        assert "Texte gardé malgré le disque plein." in html and 'role="alert"' in html
        assert "Traceback" not in html
        # A push: refused, and said so through git.
        pushed = client_git(clone, "push", push_url(base, token), "main", check=False)
        assert pushed.returncode != 0, pushed.stderr
        # Reading still works.
        assert status(f"{base}/wiki/guides/tiers-lieux-nourriciers") == 200
        assert main_of(data) == before
        assert not list((data / "wiki.git").rglob("*.lock"))
    finally:
        filler.unlink()

    assert_repository_valid(data)
    assert main_of(data) == before
    code, body, raw = call(
        "PUT",
        f"{base}/api/v1/pages/guides/disque-plein",
        {"markdown": "# Disque plein\n\nUn hippocampe enfin enregistré.\n"},
        token,
    )
    assert code == 201, raw
    code, html = post_form(
        browser,
        f"{base}/edit/guides/tiers-lieux-nourriciers",
        {
            "csrf_token": csrf_token(editor),
            "base_revision": form_value(editor, "base_revision"),
            "is_new": "0",
            "markdown": text,
            "message": "essai",
            "action": "save",
        },
    )
    assert code == 200 and "Texte gardé malgré le disque plein." in html, html[-2000:]
    fetched = client_git(clone, "pull", "-q", "--rebase", f"{base}/wiki.git", "main", check=False)
    assert fetched.returncode == 0, fetched.stderr
    client_git(clone, "push", "-q", push_url(base, token), "main")
    assert git(data / "wiki.git", "show", "main:guides/poussee-pleine.md").startswith("# Poussée")
    code, body, raw = call("GET", f"{base}/api/v1/search?q=hippocampe")
    assert code == 200 and [hit["path"] for hit in body["results"]] == ["guides/disque-plein"], raw
    assert_repository_valid(data)
    assert_check_clean(data)
    assert "Traceback" not in server.log_text(), server.log_text()


# -- 4. the server stopped in the middle of a push ---------------------------


def many_commits(clone: Path, count: int, batch: str, word: str) -> str:
    """``count`` commits on the clone's main, one page each; the last page holds ``word``."""
    parent = client_git(clone, "rev-parse", "HEAD").stdout.strip()
    stream = []
    for n in range(count):
        content = f"# Lot {batch} {n}\n\nUne page poussée en lot, numéro {n}, {word if n == count - 1 else 'essai'}.\n"
        message = f"lot {batch} {n}".encode()
        stream.append(b"commit refs/heads/main\n")
        stream.append(b"committer Ines Simon <ines@example.org> %d +0100\n" % (1700000000 + n))
        stream.append(b"data %d\n%s\n" % (len(message), message))
        if n == 0:
            stream.append(b"from %s\n" % parent.encode())
        data = content.encode()
        stream.append(b"M 100644 inline lots/%s-%d.md\ndata %d\n%s\n" % (batch.encode(), n % 100, len(data), data))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=clone, input=b"".join(stream), check=True, env=git_environment())
    client_git(clone, "reset", "-q", "--hard", "main")
    return client_git(clone, "rev-parse", "HEAD").stdout.strip()


def hook_running(server: Server) -> bool:
    return any("wiki.app.hooks" in command_line(pid) for pid in descendants(server.process.pid))


def push_and_stop(server: Server, clone: Path, url: str, stop: str, when: str, old: str) -> tuple[bool, str]:
    """Push, stop the server at that moment of the push; (whether the push said it succeeded, its errors)."""
    push = subprocess.Popen(
        ["git", "push", "-q", url, "main"],
        cwd=clone,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=git_environment({**AUTHOR, "GIT_TERMINAL_PROMPT": "0"}),
    )
    try:
        if when == "checking":  # the pushed commits are being checked, main not moved yet
            wait_for(lambda: hook_running(server) or push.poll() is not None, 60, "the pre-receive hook", 0.005)
        else:  # main moved; the catalog and the search index are catching up before the push returns
            wait_for(lambda: main_of(server.data) != old or push.poll() is not None, 60, "main to move", 0.005)
        assert push.poll() is None, "the push ended before the server could be stopped"
        if stop == "term":
            server.process.send_signal(signal.SIGTERM)
            server.process.wait(timeout=60)
        else:
            server.kill()
        _out, err = push.communicate(timeout=60)
    finally:
        if push.poll() is None:
            push.kill()
            push.wait()
    return push.returncode == 0, err.decode("utf-8", "replace")


def test_a_server_stopped_mid_push_restarts_with_a_valid_repository(servers, tmp_path, initialised_template):
    """SIGTERM while a big push is checked; SIGKILL (master, workers, git) then, and once main has moved."""
    data = prepare(tmp_path / "data", initialised_template)
    token = token_for(data)
    server = servers(data, tmp_path / "server.log", workers=2)
    clone = tmp_path / "clone"
    client_git(None, "clone", "-q", f"{server.base}/wiki.git", str(clone))
    cases = [("term", "checking", "pangolin"), ("kill", "checking", "tamanoir"), ("kill", "catching up", "okapi")]
    for number, (stop, when, word) in enumerate(cases):
        old = main_of(data)
        new = many_commits(clone, 300, f"r{number}", word)
        acknowledged, err = push_and_stop(server, clone, push_url(server.base, token), stop, when, old)

        assert_repository_valid(data)
        head = main_of(data)
        assert head in (old, new), f"{stop}/{when}: main is neither the old nor the pushed head"
        if acknowledged:
            assert head == new, f"{stop}/{when}: an acknowledged push is not on main"
        if stop == "term":
            assert acknowledged and head == new, err  # a graceful stop lets the push finish
        elif when == "checking":
            assert head == old and not acknowledged  # killed before main moved: nothing of the push landed
        else:
            assert head == new  # killed after main moved, before the indexes caught up

        server = servers(data, tmp_path / f"restarted-{number}.log", workers=2)
        # Nothing the stopped push left behind stays: no lock, no quarantine as large as the push.
        assert not list((data / "wiki.git").rglob("*.lock"))
        assert not list((data / "wiki.git" / "objects").glob("tmp_objdir-*"))
        health = call("GET", server.base + "/healthz")
        assert health[0] == 200 and health[1]["indexed"] and health[1]["search"] == "ready", health
        client_git(clone, "push", "-q", push_url(server.base, token), "main")
        assert main_of(data) == new
        code, body, raw = call("GET", f"{server.base}/api/v1/search?q={word}")
        assert code == 200 and [hit["path"] for hit in body["results"]] == [f"lots/r{number}-99"], raw
        assert "Traceback" not in server.log_text()
    assert_repository_valid(data)
    assert_check_clean(data)
