"""Load test: readers and writers (web form, JSON API, git pushes) at once, then nothing lost and `trousse check` clean.

    python bench/bench_load.py [--corpus REPO] [--duration 120] [--readers 20] [--writers 4] [--workers 2] [--think 0]

Serves a fresh copy of the data (``trousse init --from CORPUS``, or the
starter pages plus generated ones) on 127.0.0.1 only, with ``--workers``
server processes. Readers are visitors: each visit is 5 to 20 requests on one
keep-alive connection (page views, raw sources, histories, diffs, recent
changes, the Atom feed, web and API search, API page reads), back to back.
Writers save through the web form (a logged-in session, the form's CSRF token
and base revision), through the API (PUT with ``base_revision``), with a real
``git`` client (commit, push, ``git pull --rebase`` and push again when main
moved), and one mixing the API and the web. Every writer edits its own line
of a few shared pages (so saves merge) and appends to pages the others append
to as well (so some saves conflict: a 409 that keeps the user's text is a
correct answer, counted apart). By default web and API writers save back to
back, the hardest case; a push must start from the tip of main, so few land
while main moves several times a second (``--think`` gives writers a pause).

Afterwards every acknowledged save (the revision the API returned, the commit
of the web save's unique message, the pushed commit) must be an ancestor of
``main``, and the text each one wrote must still be in ``main`` unless a
later acknowledged save rewrote that same line; then ``trousse check`` must be
clean. Exits 1 on any 5xx, connection error, unexpected status, lost commit,
lost update or check problem.
"""

from __future__ import annotations

import argparse
import html
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from http.cookies import SimpleCookie
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import PASSWORD, environment, free_port, percentile, trousse, wait_until_up  # noqa: E402

USER = "banc"
REQUEST_TIMEOUT = 60.0
GIT_TIMEOUT = 120.0
PUSH_LIMIT = 1_000_000
API_WRITE_LIMIT = 1_000_000
HOT_PAGES = 3
SHARED_APPENDS = 24
ROLES = ("web", "api", "git", "mix")
READS = (  # (kind, weight)
    ("view", 30),
    ("api_page", 12),
    ("raw", 8),
    ("search", 8),
    ("api_search", 8),
    ("history", 8),
    ("diff", 8),
    ("changes", 6),
    ("atom", 4),
)
QUERIES = [
    "loyer",
    "élus",
    "gouvernance partagée",
    "coopérative mairie",
    "formation",
    "tiers-lieu",
    "subvention",
    '"modèle économique"',
    "bail*",
    "charte -loyer",
    "tag:animation",
    "path:guides/ réseau",
    "banc",
    "commun",
    "nouriciers",
    "réparation OR cartographie",
]
SEPARATOR = "Un paragraphe de séparation que personne ne modifie."


# -- what happened --------------------------------------------------------


@dataclass
class Ack:
    """An acknowledged save: its commit (or, for a web save, its unique message) and the lines it wrote."""

    writer: str
    channel: str
    sha: str | None
    message: str
    intents: list[tuple[str, str, str]]  # (file path, key, whole line written)


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    conflicts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    server_errors: int = 0
    connection_errors: int = 0
    other_errors: int = 0
    merged: int = 0
    push_rejections: int = 0
    pushes_abandoned: int = 0
    rejections: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rebase_conflicts: int = 0
    conflicts_without_text: int = 0
    acks: list[Ack] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def timing(self, kind: str, ms: float) -> None:
        with self.lock:
            self.times[kind].append(ms)

    def failure(self, kind: str, category: str, detail: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            if category == "5xx":
                self.server_errors += 1
            elif category == "connection":
                self.connection_errors += 1
            else:
                self.other_errors += 1
            if len(self.failures) < 20:
                self.failures.append(f"{kind}: {category}: {detail[:300]}")

    def conflict(self, kind: str, kept_text: bool) -> None:
        with self.lock:
            self.conflicts[kind] += 1
            if not kept_text:
                self.conflicts_without_text += 1
                if len(self.failures) < 20:
                    self.failures.append(f"{kind}: a conflict answer without the user's text")

    def ack(self, ack: Ack, merged: bool = False) -> None:
        with self.lock:
            self.acks.append(ack)
            self.merged += merged

    def count(self, name: str) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + 1)


class Session:
    """One keep-alive connection with cookies; records the latency and the outcome of every request."""

    def __init__(self, base: str, stats: Stats) -> None:
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.stats = stats
        self.cookies: dict[str, str] = {}
        self.connection: http.client.HTTPConnection | None = None
        self.last_used = 0.0
        self.location = ""

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def request(
        self,
        kind: str,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
    ):
        """(status, body) for an expected status or a 409; None after anything else (counted as a failure)."""
        # The server keeps idle connections 5 s: never reuse one it may be closing.
        if self.connection is None or time.monotonic() - self.last_used > 2.0:
            self.close()
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
        all_headers = dict(headers or {})
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        try:
            self.connection.request(method, urllib.parse.quote(path, safe="/?=&%:+"), body=body, headers=all_headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.stats.timing(kind, (time.perf_counter() - started) * 1000)
            self.stats.failure(kind, "connection", f"{method} {path}: {error!r}")
            self.close()
            return None
        self.last_used = time.monotonic()
        self.stats.timing(kind, (time.perf_counter() - started) * 1000)
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                for morsel in SimpleCookie(value).values():
                    self.cookies[morsel.key] = morsel.value
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        status = response.status
        self.location = response.getheader("Location", "")
        if status in expect or status == 409:
            return status, data
        category = "5xx" if status >= 500 else f"HTTP {status}"
        self.stats.failure(kind, category, f"{method} {path}: {data[:200]!r}")
        return None


# -- readers --------------------------------------------------------------


def reader(base: str, paths: list[str], hot: list[str], stats: Stats, deadline: float, seed: int) -> None:
    rng = random.Random(seed)
    session = Session(base, stats)
    kinds = [kind for kind, _ in READS]
    weights = [weight for _, weight in READS]
    visit = 0
    while time.monotonic() < deadline:
        if visit <= 0:  # a visitor reads a few pages on one connection, then leaves
            session.close()
            visit = rng.randint(5, 20)
        visit -= 1
        kind = rng.choices(kinds, weights)[0]
        path = rng.choice(hot) if rng.random() < 0.2 else rng.choice(paths)
        query = urllib.parse.quote(rng.choice(QUERIES))
        url = {
            "view": f"/wiki/{path}",
            "api_page": f"/api/v1/pages/{path}",
            "raw": f"/raw/{path}",
            "search": f"/search?q={query}",
            "api_search": f"/api/v1/search?q={query}&limit=10",
            "history": f"/history/{path}",
            "diff": f"/diff/{path}",
            "changes": "/changes",
            "atom": "/changes.atom",
        }[kind]
        session.request(kind, "GET", url)
    session.close()


# -- writers --------------------------------------------------------------


class Writer:
    """What all writers share: choosing an edit and applying it to a page's text."""

    def __init__(
        self,
        name: str,
        base: str,
        token: str,
        stats: Stats,
        deadline: float,
        hot: list[str],
        shared: list[str],
        seed: int,
        think: float = 0.0,
    ) -> None:
        self.name, self.base, self.token, self.stats, self.deadline = name, base, token, stats, deadline
        self.think = think
        self.hot, self.shared = hot, shared
        self.rng = random.Random(seed)
        self.serial = 0
        self.created = 0

    def running(self) -> bool:
        return time.monotonic() < self.deadline

    def pause(self) -> None:
        """The time a person takes between two saves (none by default)."""
        if self.think:
            time.sleep(min(self.rng.uniform(0.5, 1.5) * self.think, max(0.0, self.deadline - time.monotonic())))

    def next_tag(self) -> str:
        self.serial += 1
        return f"{self.name}-{self.serial}-{uuid.uuid4().hex[:6]}"

    def message(self, tag: str) -> str:
        return f"Banc d'essai {tag}"

    def choose(self) -> tuple[str, str]:
        """(kind of edit, page path): its own line of a shared page, an append to a shared page, or a new page."""
        roll = self.rng.random()
        if roll < 0.5:
            return "line", self.rng.choice(self.hot)
        if roll < 0.85:
            return "append", self.rng.choice(self.shared)
        self.created += 1
        return "new", f"banc/{self.name}-{self.created}"

    def edit(self, kind: str, path: str, text: str, tag: str, owner: str | None = None) -> tuple[str, list]:
        """The new text and the intent (file path, key, line) it carries."""
        file_path = path + ".md"
        if kind == "line":
            key = f"Ligne {owner or self.name} :"
            line = f"{key} {tag}"
            lines = text.split("\n")
            for index, current in enumerate(lines):
                if current.startswith(key):
                    lines[index] = line
                    break
            else:
                raise RuntimeError(f"no line {key!r} in {path}")
            return "\n".join(lines), [(file_path, key, line)]
        line = f"Ajout du banc d'essai : {tag}"
        if kind == "append":
            return text.rstrip("\n") + f"\n\n{line}\n", [(file_path, tag, line)]
        return f"# Page du banc {tag}\n\n{line}\n", [(file_path, tag, line)]


class ApiWriter(Writer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.session = Session(self.base, self.stats)
        self.auth = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}

    def save_api(self, kind: str, path: str, owner: str | None = None, pause: float = 0.0) -> None:
        tag = self.next_tag()
        if kind == "new":
            text, base_revision = "", None
        else:
            got = self.session.request("api_get", "GET", f"/api/v1/pages/{path}")
            if got is None:
                return
            page = json.loads(got[1])
            text, base_revision = page["markdown"], page["revision"]
        if pause:
            time.sleep(pause)  # let the others move the page meanwhile
        markdown, intents = self.edit(kind, path, text, tag, owner)
        body = {"markdown": markdown, "message": self.message(tag), **({"base_revision": base_revision} if base_revision else {})}
        answer = self.session.request(
            "api_put", "PUT", f"/api/v1/pages/{path}", json.dumps(body).encode(), self.auth, expect=(200, 201)
        )
        if answer is None:
            return
        status, data = answer
        payload = json.loads(data)
        if status == 409:
            self.stats.conflict("api_put", intents[0][2] in payload.get("conflict_markdown", ""))
            return
        self.stats.ack(Ack(self.name, "api", payload["revision"], self.message(tag), intents), payload["merged"])

    def run(self) -> None:
        while self.running():
            self.save_api(*self.choose())
            self.pause()
        self.session.close()


class WebWriter(Writer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.web = Session(self.base, self.stats)
        self.logged_in = False

    def login(self) -> bool:
        page = self.web.request("login", "GET", "/login")
        if page is None:
            return False
        form = urllib.parse.urlencode(
            {"name": USER, "password": PASSWORD, "next": "/", "csrf_token": field_value(page[1], "csrf_token")}
        ).encode()
        answer = self.web.request(
            "login", "POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"}, expect=(302,)
        )
        self.logged_in = answer is not None and answer[0] == 302
        return self.logged_in

    def save_web(self, kind: str, path: str, owner: str | None = None, pause: float = 0.0) -> None:
        if not self.logged_in and not self.login():
            time.sleep(0.5)
            return
        tag = self.next_tag()
        form = self.web.request("edit_form", "GET", f"/edit/{path}")
        if form is None:
            return
        page = form[1].decode("utf-8")
        match = re.search(r'<textarea id="markdown" name="markdown"[^>]*>(.*?)</textarea>', page, re.S)
        text = html.unescape(match.group(1)) if match else ""
        if pause:
            time.sleep(pause)
        markdown, intents = self.edit(kind, path, text, tag, owner)
        fields = {
            "csrf_token": field_value(form[1], "csrf_token"),
            "base_revision": field_value(form[1], "base_revision"),
            "is_new": field_value(form[1], "is_new"),
            "markdown": markdown,
            "message": self.message(tag),
            "action": "save",
        }
        answer = self.web.request(
            "web_save",
            "POST",
            f"/edit/{path}",
            urllib.parse.urlencode(fields).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
            expect=(302,),
        )
        if answer is None:
            return
        status, data = answer
        if status == 409:
            self.stats.conflict("web_save", intents[0][2] in html.unescape(data.decode("utf-8")))
            return
        if "/login" in self.web.location or "/edit/" in self.web.location:
            self.stats.failure("web_save", "not saved", f"POST /edit/{path} redirected to {self.web.location}")
            return
        # The redirect leads to the page; the commit is found afterwards by its unique message.
        self.stats.ack(Ack(self.name, "web", None, self.message(tag), intents))

    def run(self) -> None:
        while self.running():
            self.save_web(*self.choose())
            self.pause()
        self.web.close()


class MixWriter(ApiWriter, WebWriter):
    """API and web in turn; now and then rewrites another writer's line from a stale copy (merge or 409)."""

    def run(self) -> None:
        while self.running():
            kind, path = self.choose()
            owner, pause = None, 0.0
            if kind == "line" and self.rng.random() < 0.3:
                owner, pause = self.rng.choice(self.others), 0.3
            if self.rng.random() < 0.5:
                self.save_api(kind, path, owner, pause)
            else:
                self.save_web(kind, path, owner, pause)
            self.pause()
        self.session.close()
        self.web.close()


class GitWriter(Writer):
    """A clone in a temporary folder: pull --rebase, commit, push; when main moved meanwhile, rebase and push again."""

    def __init__(self, *args, clone: Path, env: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.clone, self.env = clone, env

    def git(self, *args: str, kind: str | None = None) -> subprocess.CompletedProcess | None:
        started = time.perf_counter()
        try:
            result = subprocess.run(
                ["git", *args], cwd=self.clone, capture_output=True, text=True, env=self.env, timeout=GIT_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            self.stats.failure(kind or f"git_{args[0]}", "connection", f"git {args[0]} timed out")
            return None
        if kind:
            self.stats.timing(kind, (time.perf_counter() - started) * 1000)
        return result

    def server_failed(self, kind: str, result: subprocess.CompletedProcess) -> bool:
        """Count a push or fetch that failed for another reason than main having moved."""
        if re.search(r"HTTP 5\d\d|returned error: 5\d\d", result.stderr):
            self.stats.failure(kind, "5xx", result.stderr.strip())
            return True
        if re.search(
            r"returned error: \d{3}|Could not resolve|Failed to connect|RPC failed|unable to access|"
            r"pre-receive hook declined",
            result.stderr,
        ):
            self.stats.failure(kind, "connection" if "connect" in result.stderr else "refused", result.stderr.strip())
            return True
        return False

    def pull(self) -> bool:
        """``git pull --rebase``; False (the local commit dropped) when the rebase conflicts or fails."""
        result = self.git("pull", "--rebase", "-q", "origin", "main", kind="git_pull")
        if result is None:
            return False
        if result.returncode == 0:
            return True
        if (self.clone / ".git" / "rebase-merge").exists() or (self.clone / ".git" / "rebase-apply").exists():
            self.git("rebase", "--abort")
            self.stats.count("rebase_conflicts")
            self.stats.conflict("git_push", True)  # git kept the contributor's commit in their reflog
        elif not self.server_failed("git_pull", result):
            self.stats.failure("git_pull", "git", result.stderr.strip())
        self.git("reset", "-q", "--hard", "origin/main")
        return False

    def run(self) -> None:
        while self.running():
            if not self.pull():
                continue
            tag = self.next_tag()
            intents: list = []
            touched: set[str] = set()
            for _ in range(self.rng.randint(1, 2)):
                kind, path = self.choose()
                if path in touched:
                    continue
                touched.add(path)
                target = self.clone / (path + ".md")
                text = target.read_text(encoding="utf-8") if kind != "new" else ""
                if kind == "new":
                    target.parent.mkdir(parents=True, exist_ok=True)
                markdown, wrote = self.edit(kind, path, text, f"{tag}-{len(intents)}")
                target.write_text(markdown, encoding="utf-8")
                intents += wrote
            self.git("add", "-A")
            self.git("commit", "-q", "-m", self.message(tag))
            # Busy branch: retry until the run ends (then a few more times), never counted as a failure.
            extra = 3
            while True:
                started = time.perf_counter()
                result = self.git("push", "-q", "origin", "HEAD:main")
                if result is None:
                    break
                # A push refused before sending anything ("fetch first") is timed apart from a push that lands.
                self.stats.timing("git_push" if result.returncode == 0 else "git_refused", (time.perf_counter() - started) * 1000)
                if result.returncode == 0:
                    sha = self.git("rev-parse", "HEAD").stdout.strip()
                    self.stats.ack(Ack(self.name, "git", sha, self.message(tag), intents))
                    break
                if self.server_failed("git_push", result):
                    self.git("reset", "-q", "--hard", "origin/main")
                    break
                self.stats.count("push_rejections")  # main moved since the pull
                found = re.search(r"! \[(rejected|remote rejected)\][^(]*\(([^)]*)\)", result.stderr)
                with self.stats.lock:
                    self.stats.rejections[f"{found.group(1)}: {found.group(2)}" if found else "other"] += 1
                if not self.running():
                    extra -= 1
                    if extra < 0:
                        self.stats.count("pushes_abandoned")
                        break
                if not self.pull():
                    break


def field_value(page: bytes, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"'.encode(), page)
    return html.unescape(match.group(1).decode()) if match else ""


# -- setting up -----------------------------------------------------------


WORDS = ("L'association", "La coopérative", "Le tiers-lieu", "La mairie", "Les bénévoles", "Le réseau", "Les élus")
VERBS = ("documente", "mutualise", "négocie", "organise", "partage", "rédige")
THINGS = (
    "un bail commercial",
    "une charte d'usage",
    "un loyer modéré",
    "une formation de formateurs",
    "des ateliers de réparation",
    "une subvention de fonctionnement",
    "une cartographie des lieux",
)


def generated_page(rng: random.Random, folder: str, number: int) -> tuple[str, str]:
    title = f"{folder.capitalize()} du banc {number}"
    paragraphs = [" ".join(f"{rng.choice(WORDS)} {rng.choice(VERBS)} {rng.choice(THINGS)}." for _ in range(4)) for _ in range(4)]
    body = "\n\n".join(f"## Partie {n + 1}\n\n{text}" for n, text in enumerate(paragraphs))
    return f"{folder}/banc-{number}", f"---\ntitle: {title}\ntags: [{folder}, banc]\n---\n\n# {title}\n\n{body}\n"


def hot_page(number: int, writers: list[str]) -> str:
    parts = [f"# Page commune {number}", "Plusieurs rédacteurs du banc d'essai changent cette page en même temps."]
    for name in writers:
        parts += [f"Ligne {name} : départ", SEPARATOR]
    return "\n\n".join(parts) + "\n"


def git_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "TROUSSE_"))}
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        LC_ALL="C.UTF-8",
        GIT_AUTHOR_NAME="Rédaction git",
        GIT_AUTHOR_EMAIL="git@banc.example",
        GIT_COMMITTER_NAME="Rédaction git",
        GIT_COMMITTER_EMAIL="git@banc.example",
    )
    return env


def make_clone(base: str, token: str, folder: Path, env: dict[str, str]) -> None:
    def git(*args: str) -> None:
        result = subprocess.run(
            ["git", *args], cwd=folder if folder.exists() else None, capture_output=True, text=True, env=env, timeout=600
        )
        if result.returncode != 0:
            raise SystemExit(f"git {args[0]} failed: {result.stderr}")

    git("clone", "-q", f"{base}/wiki.git", str(folder))
    # The token reaches git through a credential helper, only for this clone (and so only for 127.0.0.1).
    git("config", "credential.helper", f'!f() {{ test "$1" = get && echo username={USER} && echo password={token}; }}; f')
    git("config", "pull.rebase", "true")


RAISED_LIMITS = {"pushes_per_minute": PUSH_LIMIT, "api_writes_per_minute": API_WRITE_LIMIT}


def raise_rate_limits(data: Path) -> list[str]:
    """Raise the per-account write rate limits in config.toml: the bench measures the server, not the limits."""
    config = data / "config.toml"
    text = config.read_text(encoding="utf-8")
    raised = []
    for name, value in RAISED_LIMITS.items():
        text, count = re.subn(rf"(?m)^# {name} = .*$", f"{name} = {value}", text)
        if count == 1:
            raised.append(f"{name} = {value}")
    if not raised or not raised[0].startswith("pushes_per_minute"):
        raise SystemExit("config.toml has no commented pushes_per_minute line to change")
    config.write_text(text, encoding="utf-8")
    return raised


def setup_push(base: str, clone: Path, env: dict[str, str], files: dict[str, str]) -> None:
    """The shared pages (and, without a corpus, generated pages) arrive in one push."""
    for path, text in files.items():
        target = clone / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    for args in (("add", "-A"), ("commit", "-q", "-m", "Pages du banc d'essai"), ("push", "-q", "origin", "HEAD:main")):
        result = subprocess.run(["git", *args], cwd=clone, capture_output=True, text=True, env=env, timeout=600)
        if result.returncode != 0:
            raise SystemExit(f"setting up: git {args[0]} failed: {result.stderr}")


# -- checking afterwards --------------------------------------------------


def git_out(repository: Path, *args: str, input: bytes | None = None) -> bytes:
    result = subprocess.run(
        ["git", "--git-dir", str(repository), *args],
        input=input,
        capture_output=True,
        env=git_env(repository.parent),
        timeout=600,
    )
    if result.returncode != 0:
        raise SystemExit(f"git {args[0]} failed: {result.stderr.decode(errors='replace')}")
    return result.stdout


def verify(repository: Path, acks: list[Ack]) -> tuple[int, int, list[str]]:
    """(lost commits, lost updates, examples) of the acknowledged saves against main."""
    order = git_out(repository, "rev-list", "main").decode().split()
    position = {sha: index for index, sha in enumerate(order)}  # 0 is the newest
    by_message: dict[str, str] = {}
    for line in git_out(repository, "log", "--format=%H %s", "main").decode("utf-8", "replace").splitlines():
        sha, _, subject = line.partition(" ")
        by_message.setdefault(subject, sha)
    lost, problems = 0, []
    newest: dict[tuple[str, str], tuple[int, str]] = {}
    for ack in acks:
        sha = ack.sha or by_message.get(ack.message)
        reachable = sha is not None and (
            sha in position
            or subprocess.run(
                ["git", "--git-dir", str(repository), "merge-base", "--is-ancestor", sha, "main"],
                capture_output=True,
                env=git_env(repository.parent),
            ).returncode
            == 0
        )
        if not reachable:
            lost += 1
            problems.append(f"lost commit: {ack.channel} save by {ack.writer} {sha or ack.message!r} is not in main")
            continue
        for file_path, key, line in ack.intents:
            rank = position[sha]
            if (file_path, key) not in newest or rank < newest[(file_path, key)][0]:
                newest[(file_path, key)] = (rank, line)
    files = sorted({file_path for file_path, _key in newest})
    texts = read_files(repository, files)
    lost_updates = 0
    for (file_path, _key), (_rank, line) in sorted(newest.items()):
        if line not in texts.get(file_path, "").split("\n"):
            lost_updates += 1
            problems.append(f"lost update: {file_path} no longer has {line!r}")
    return lost, lost_updates, problems


def read_files(repository: Path, files: list[str]) -> dict[str, str]:
    if not files:
        return {}
    output = git_out(repository, "cat-file", "--batch", input="".join(f"main:{f}\n" for f in files).encode())
    texts, position = {}, 0
    for name in files:
        end = output.index(b"\n", position)
        header = output[position:end].split()
        position = end + 1
        if header[-1] == b"missing":
            continue
        size = int(header[2])
        texts[name] = output[position : position + size].decode("utf-8", "replace")
        position += size + 1
    return texts


# -- the run --------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", help="git repository to import (default: the starter pages plus generated ones)")
    parser.add_argument("--duration", type=float, default=120, help="seconds of load (default 120)")
    parser.add_argument("--readers", type=int, default=20, help="concurrent readers (default 20)")
    parser.add_argument("--writers", type=int, default=4, help="concurrent writers: web, api, git, mix, … (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="server processes (default 2)")
    parser.add_argument(
        "--think", type=float, default=0.0, help="average pause of a web or API writer between two saves, in seconds (default 0)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the data directory and the server log")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="trousse-load-"))
    data, log = work / "data", work / "server.log"
    home = work / "home"
    home.mkdir()
    env = git_env(home)
    server = None
    try:
        started = time.perf_counter()
        trousse(data, "init", *(["--from", args.corpus] if args.corpus else []))
        print(f"import: {time.perf_counter() - started:.1f} s")
        raised = raise_rate_limits(data)
        trousse(
            data,
            "user",
            "add",
            USER,
            "--role",
            "editor",
            "--display-name",
            "Banc d'essai",
            "--password-stdin",
            input=PASSWORD + "\n",
        )
        token = trousse(data, "token", "create", USER, "--label", "load").strip().splitlines()[-1]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
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
                    str(args.workers),
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                env=environment(TROUSSE_SITE_BASE_URL=base),
            )
        wait_until_up(base + "/healthz", server, log)

        names = [ROLES[n % len(ROLES)] + (f"{n // len(ROLES) + 1}" if n >= len(ROLES) else "") for n in range(args.writers)]
        hot = [f"banc/commun-{n}" for n in range(1, HOT_PAGES + 1)]
        clones = {name: work / f"clone-{name}" for name in names if name.startswith("git")}
        # The first git writer's clone brings the shared pages; the other clones come after.
        setup_clone = next(iter(clones.values()), work / "clone-setup")
        make_clone(base, token, setup_clone, env)
        files = {f"{path}.md": hot_page(n, names) for n, path in enumerate(hot, 1)}
        if not args.corpus:
            rng = random.Random(1)
            for number in range(60):
                path, text = generated_page(rng, ("guides", "lieux", "loyers")[number % 3], number)
                files[f"{path}.md"] = text
        setup_push(base, setup_clone, env, files)
        for folder in clones.values():
            if folder != setup_clone:
                make_clone(base, token, folder, env)
        listing = json.loads(http_get(base + "/api/v1/pages"))
        paths = [page["path"] for page in listing["pages"]]
        shared = [path for path in sorted(paths) if not path.startswith(("banc/", "_templates/"))][:SHARED_APPENDS]

        stats = Stats()
        begin = time.monotonic()
        deadline = begin + args.duration
        threads = [
            threading.Thread(target=guarded, args=(partial(reader, base, paths, hot, stats, deadline, n), stats), daemon=True)
            for n in range(args.readers)
        ]
        writers: list[Writer] = []
        for n, name in enumerate(names):
            common = (name, base, token, stats, deadline, hot, shared, 1000 + n, args.think)
            role = name.rstrip("0123456789")
            if role == "web":
                writers.append(WebWriter(*common))
            elif role == "api":
                writers.append(ApiWriter(*common))
            elif role == "git":
                writers.append(GitWriter(*common, clone=clones[name], env=env))
            else:
                mix = MixWriter(*common)
                mix.others = [other for other in names if not other.startswith(("git", "mix"))] or [name]
                writers.append(mix)
        threads += [threading.Thread(target=guarded, args=(writer.run, stats), daemon=True) for writer in writers]
        for thread in threads:
            thread.start()
        join_deadline = deadline + 2 * GIT_TIMEOUT  # every request and git command has its own timeout
        for thread in threads:
            thread.join(timeout=max(0.0, join_deadline - time.monotonic()))
        elapsed = time.monotonic() - begin
        stuck = sum(thread.is_alive() for thread in threads)

        lost, lost_updates, problems = verify(data / "wiki.git", stats.acks)
        check = subprocess.run(
            [sys.executable, "-m", "wiki", "--data", str(data), "check"],
            capture_output=True,
            text=True,
            env=environment(),
            timeout=600,
        )
        server_log = log.read_text(errors="replace")
        describe = f"corpus {Path(args.corpus).name}" if args.corpus else "a fresh wiki (starter pages + 60 generated)"
        print(
            f"Load: {args.workers} server workers, {args.readers} readers, {args.writers} writers "
            f"({', '.join(names)}{f', pausing ~{args.think:g} s between saves' if args.think else ', saving back to back'})"
            f" for {args.duration:g} s on {describe} ({len(paths)} pages), 127.0.0.1 only"
        )
        print(f"config.toml: [limits] {', '.join(raised)}, so the per-account rate limits do not throttle the writers")
        failed = report(stats, elapsed, stuck, lost, lost_updates, problems, check, server_log)
        print("RESULT: " + ("FAIL" if failed else "PASS"))
        return 1 if failed else 0
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        if args.keep:
            print(f"data and server log kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


KIND_ORDER = [kind for kind, _ in READS] + [
    "login",
    "edit_form",
    "web_save",
    "api_get",
    "api_put",
    "git_pull",
    "git_push",
    "git_refused",
]


def report(
    stats: Stats,
    elapsed: float,
    stuck: int,
    lost: int,
    lost_updates: int,
    problems: list[str],
    check: subprocess.CompletedProcess,
    server_log: str,
) -> bool:
    """Print the figures; True when the run failed."""
    print(f"{'request':<12}{'count':>8}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'errors':>8}{'409':>6}")
    total = 0
    for kind in sorted(stats.times, key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else len(KIND_ORDER)):
        values = stats.times[kind]
        total += len(values)
        print(
            f"{kind:<12}{len(values):>8}{percentile(values, 0.5):>10.1f}{percentile(values, 0.95):>10.1f}"
            f"{max(values):>10.1f}{stats.errors.get(kind, 0):>8}{stats.conflicts.get(kind, 0):>6}"
        )
    by_writer: dict[str, int] = defaultdict(int)
    for ack in stats.acks:
        by_writer[ack.writer if ack.writer.rstrip("0123456789") != "mix" else f"{ack.writer} ({ack.channel})"] += 1
    conflicts = sum(stats.conflicts.values())
    tracebacks = server_log.count("Traceback")
    print(f"requests: {total} in {elapsed:.1f} s = {total / elapsed:.1f} requests/s (a git pull or push counts as one)")
    print(
        f"5xx: {stats.server_errors}; connection errors: {stats.connection_errors}; other errors: {stats.other_errors}"
        f"; threads still running: {stuck}"
    )
    print(
        f"acknowledged saves: {len(stats.acks)} ({', '.join(f'{k} {v}' for k, v in sorted(by_writer.items()))});"
        f" merged with another edit: {stats.merged}"
    )
    kept = conflicts - stats.rebase_conflicts - stats.conflicts_without_text
    print(
        f"conflicts: {conflicts} (409 answers keeping the user's text: {kept}, "
        f"git pull --rebase conflicts: {stats.rebase_conflicts})"
    )
    reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(stats.rejections.items()))
    print(
        f"pushes refused because main had moved: {stats.push_rejections} ({reasons or 'none'}); "
        f"pushes abandoned at the end: {stats.pushes_abandoned}"
    )
    print(
        f"lost commits: {lost} (every acknowledged save checked against main); lost updates: {lost_updates}; "
        f"conflict answers without the user's text: {stats.conflicts_without_text}"
    )
    print(f"trousse check: {'clean' if check.returncode == 0 else 'PROBLEMS'}: {check.stdout.strip() or check.stderr.strip()}")
    print(f"server log: {tracebacks} tracebacks{worker_shares(server_log)}")
    for line in stats.failures + problems[:20]:
        print("  " + line)
    if tracebacks:
        print(server_log[server_log.index("Traceback") :][:4000])
    return bool(
        stats.server_errors
        or stats.connection_errors
        or stats.other_errors
        or stuck
        or lost
        or lost_updates
        or stats.conflicts_without_text
        or check.returncode != 0
        or tracebacks
    )


def worker_shares(server_log: str) -> str:
    """How the requests spread over the server processes, from the JSON access log when it is on."""
    counts: dict[int, int] = defaultdict(int)
    for line in server_log.splitlines():
        if line.startswith("{"):
            try:
                counts[json.loads(line)["pid"]] += 1
            except (ValueError, KeyError, TypeError):
                continue
    total = sum(counts.values())
    if not total:
        return ""
    shares = " / ".join(f"{100 * n / total:.0f}%" for n in sorted(counts.values(), reverse=True))
    return f"; requests per server process (access log): {shares}"


def guarded(target, stats: Stats) -> None:
    """A thread whose crash is a failure of the run, not a silent end."""
    try:
        target()
    except Exception as error:  # noqa: BLE001 - reported as a failure of the run
        stats.failure("bench", "crash", f"{type(error).__name__}: {error}")


def http_get(url: str) -> bytes:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request("GET", parts.path)
        response = connection.getresponse()
        if response.status != 200:
            raise SystemExit(f"GET {parts.path}: {response.status}")
        return response.read()
    finally:
        connection.close()


if __name__ == "__main__":
    sys.exit(main())
