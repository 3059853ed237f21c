"""Shared fixtures: every test gets its own data directory in ``tmp_path``."""

from __future__ import annotations

import email
import email.policy
import functools
import re
import shutil
import subprocess
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest

from repo_store import PageStore
from repo_store.gitcmd import git_environment

PASSWORD = "correct horse battery"


def make_bare_repository(path: Path) -> Path:
    subprocess.run(
        ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(path)],
        check=True,
        env=git_environment(),
    )
    return path


@pytest.fixture
def bare_repo(tmp_path: Path) -> Path:
    return make_bare_repository(tmp_path / "wiki.git")


@pytest.fixture
def store(bare_repo: Path):
    with PageStore(bare_repo, fsync=False) as page_store:
        yield page_store


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args],
        check=True,
        capture_output=True,
        env=git_environment(),
    ).stdout.decode("utf-8")


@pytest.fixture(scope="session")
def initialised_template(tmp_path_factory) -> Path:
    """One initialised data directory (repository, catalog, index), copied for each test."""
    from wiki.app.datadir import DataDir, initialise
    from wiki.app.derived import build_derived

    root = tmp_path_factory.mktemp("template") / "data"
    initialise(DataDir(root))
    build_derived(DataDir(root))
    return root


@pytest.fixture
def data_dir(tmp_path: Path, initialised_template: Path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(initialised_template, root)
    return root


@pytest.fixture
def cheap_password_hashing(monkeypatch):
    """Passwords hashed with scrypt at a cost of 2**10 rather than Werkzeug's 2**15: the same format and checks.

    Hashing is most of what logging in costs, and the tests log in hundreds of times;
    tests/web/test_sessions.py checks that the wiki itself keeps Werkzeug's cost.
    """
    from werkzeug.security import generate_password_hash

    import wiki.accounts.store as account_store

    cheap = functools.partial(generate_password_hash, method="scrypt:1024:8:1")
    monkeypatch.setattr(account_store, "generate_password_hash", cheap)
    monkeypatch.setattr(account_store, "_dummy_hash", functools.cache(lambda: cheap("not a real password")))


@pytest.fixture
def app_factory(data_dir: Path, cheap_password_hashing):
    """Build applications on the test's data directory, closing them afterwards."""
    from wiki.web import close_app, create_app

    apps = []

    def factory(settings: dict | None = None, **config):
        app = create_app({"DATA_DIR": str(data_dir), "TESTING": True, "SETTINGS": settings or {}, **config})
        apps.append(app)
        return app

    yield factory
    for app in apps:
        close_app(app)


@pytest.fixture
def app(app_factory):
    return app_factory({"storage": {"fsync": False}})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def form_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no field {name} in the page"
    return match.group(1)


class Auth:
    """Accounts and logins for web tests (after flaskr's AuthActions)."""

    def __init__(self, app, client) -> None:
        self.app = app
        self.client = client

    @property
    def accounts(self):
        return self.app.extensions["trousse.accounts"]

    def create(self, name: str = "camille", role: str = "editor", display_name: str | None = None):
        return self.accounts.add_user(name, role=role, password=PASSWORD, display_name=display_name)

    def login(self, name: str = "camille", password: str = PASSWORD, next: str = "/"):
        page = self.client.get("/login")
        return self.client.post(
            "/login",
            data={"name": name, "password": password, "next": next, "csrf_token": csrf_token(page.text)},
        )

    def logout(self):
        page = self.client.get("/logout")
        return self.client.post("/logout", data={"csrf_token": csrf_token(page.text)})

    def token(self, name: str = "camille") -> str:
        return self.accounts.create_token(name, "tests")


@pytest.fixture
def auth(app, client) -> Auth:
    return Auth(app, client)


@pytest.fixture
def token(auth: Auth) -> str:
    """An API token of an editor, Camille."""
    auth.create("camille", "editor", "Camille Été")
    return auth.token("camille")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_save(client, token: str, path: str, markdown: str, base: str | None = None, message: str = "") -> str:
    """Save a page through the API, insist it worked, and give its new revision."""
    body = {"markdown": markdown, "message": message, **({"base_revision": base} if base else {})}
    response = client.put(f"/api/v1/pages/{path}", json=body, headers=bearer(token))
    assert response.status_code in (200, 201), response.text
    return response.json["revision"]


@pytest.fixture
def editor(auth: Auth) -> Auth:
    """A logged-in editor."""
    auth.create("camille", "editor", "Camille Été")
    response = auth.login()
    assert response.status_code == 302
    return auth


# For tests of dead writers: a process that takes main's lock the way every save does, and stalls there until it is killed.
HOLD_MAIN_LOCK = """
import os, sys, time
from pathlib import Path
from repo_store import refs

def stall(fd, data):
    print("locked", flush=True)
    time.sleep(600)

os.write = stall
repository = Path(sys.argv[1])
refs.compare_and_swap(repository, "refs/heads/main", "1" * 40, refs.read_ref(repository, "refs/heads/main"))
"""


# -- a real server, for git clients and browsers ------------------------------

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_cli(data: Path, *args: str, input: str | None = None) -> str:
    import sys

    env = git_environment({"PYTHONPATH": str(PROJECT_ROOT)})
    result = subprocess.run(
        [sys.executable, "-m", "wiki", "--data", str(data), *args], input=input, capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def copy_wiki(template: Path, data: Path, config: str = "") -> Path:
    """A data directory copied from the initialised template, with an editor, Camille."""
    shutil.copytree(template, data)
    if config:
        (data / "config.toml").write_text(config + "\n", encoding="utf-8")
    run_cli(
        data,
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
    return data


def start_server(data: Path, log: Path, workers: int = 1) -> tuple[subprocess.Popen, str]:
    """``trousse serve`` on ``data``, once it answers /healthz; its output is shown if it fails to start."""
    import sys
    import time
    import urllib.request

    port = free_port()
    env = git_environment(
        {"PYTHONPATH": str(PROJECT_ROOT), "TROUSSE_STORAGE_FSYNC": "false", "TROUSSE_SITE_BASE_URL": f"http://127.0.0.1:{port}"}
    )
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wiki",
                "--data",
                str(data),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return server, base
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail("the server did not start:\n" + log.read_text(errors="replace"))
        time.sleep(0.2)


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()


@pytest.fixture
def serve_wiki(tmp_path, initialised_template):
    """Start ``trousse serve`` on a copy of the template; returns (base URL, data directory)."""
    servers = []

    def start(config: str = "", name: str = "data", workers: int = 1):
        data = copy_wiki(initialised_template, tmp_path / name, config)
        server, base = start_server(data, tmp_path / f"{name}.log", workers)
        servers.append(server)
        return base, data

    start.servers = servers  # type: ignore[attr-defined]  # the processes, newest last, for tests that signal them
    yield start
    for server in servers:
        stop_server(server)


@pytest.fixture
def live_server(serve_wiki):
    return serve_wiki()


# -- mail: a real SMTP server on the loopback -----------------------------------


class Inbox:
    """An SMTP handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler protocol
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.arrived:
            self.messages.append(message)  # type: ignore[arg-type]
            self.arrived.notify_all()
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]


@pytest.fixture
def smtp():
    """A real SMTP server on the loopback: (its inbox, its port)."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()
