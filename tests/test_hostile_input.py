"""Hostile input, from outside: fuzzing with Hypothesis, and an XSS corpus through every page.

Why this file exists: every string a visitor, an editor, a pusher or an
imported repository controls ends up in a URL handed to git, in a YAML parser,
in a file name or in an HTML page. The domain code has its own unit tests;
these attack the running application the way a hostile visitor would, so a
regression anywhere in the chain shows up here as a 500, a traceback, a file
written where it should not be, or a tag that was text when it was typed.

The fuzz tests call a Hypothesis test defined inside an ordinary test, so the
application, its data directory and the logged-in editor are built once per
test rather than once per example, and the "nothing written outside the
repository" check compares the whole temporary tree before and after all the
examples.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import shutil
import subprocess
import unicodedata
import urllib.parse
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml
from conftest import PASSWORD, bearer, csrf_token, git
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from repo_store import FileChange, Identity


def fuzz(examples: int) -> settings:
    """Settings for a fuzz test: a slow example (a commit, an index update) is not a failure, the
    fixtures are built once for all examples on purpose, and no example database lands in the
    working tree; ``examples`` keeps the whole file within its time budget."""
    return settings(
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
        deadline=None,
        database=None,
        print_blob=True,
        max_examples=examples,
    )


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


# -- what every response must be ---------------------------------------------------


def assert_sound(response, what: str) -> None:
    """No 5xx, no traceback, and API errors in their documented shape."""
    body = response.get_data()
    assert response.status_code < 500, f"{what} → {response.status_code}\n{body[:3000].decode('utf-8', 'replace')}"
    assert b"Traceback (most recent call last)" not in body, what
    if what.split(" ", 1)[-1].startswith("/api/") and response.status_code >= 400 and response.status_code != 405:
        assert response.is_json, what
        assert set(response.json) >= {"error", "message"}, what


class Tree:
    """Files under the test's temporary directory, to see what a request wrote and where."""

    # What the wiki legitimately rewrites while it works: git objects and its branch,
    # the derived search index, the account database and its journal.
    VOLATILE = ("data/wiki.git/objects/", "data/index/", "data/trousse.sqlite")

    def __init__(self, root: Path) -> None:
        self.root = root
        self.before = self.files()

    def files(self) -> set[str]:
        return {path.relative_to(self.root).as_posix() for path in self.root.rglob("*") if not path.is_dir()}

    def assert_nothing_escaped(self) -> None:
        new = sorted(path for path in self.files() - self.before if not path.startswith(self.VOLATILE))
        assert new == [], f"files written outside the repository's objects: {new}"


SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
PAGE_FILE = re.compile(rf"(?:_templates/)?{SLUG}(?:/{SLUG})*\.md\Z")
ATTACHMENT_NAME = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*\.[a-z0-9]{1,10}\Z")


def assert_repository_layout(data_dir: Path) -> None:
    """Only ``main``, holding slug pages and, in a page's folder, slug attachments of existing pages."""
    repository = data_dir / "wiki.git"
    assert git(repository, "for-each-ref", "--format=%(refname)").split() == ["refs/heads/main"]
    files = [name for name in git(repository, "ls-tree", "-r", "-z", "--name-only", "main").split("\0") if name]
    pages = {name[:-3] for name in files if name.endswith(".md")}
    for name in files:
        if name.endswith(".md"):
            assert PAGE_FILE.match(name), f"a page outside the layout: {name!r}"
        else:
            page, _slash, base = name.rpartition("/")
            assert page in pages and ATTACHMENT_NAME.match(base), f"a file outside the layout: {name!r}"
    fsck = subprocess.run(
        ["git", "--git-dir", str(repository), "fsck", "--no-progress", "--no-dangling"], capture_output=True, text=True
    )
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr


class Hostile:
    """A logged-in editor with an API token, in a working directory of its own."""

    def __init__(self, app, client, data_dir: Path, tmp_path: Path, token: str) -> None:
        self.app, self.client, self.data_dir, self.tmp_path, self.token = app, client, data_dir, tmp_path, token
        self.wiki = app.extensions["trousse"]
        self.csrf = csrf_token(client.get("/account").text)
        self.tree = Tree(tmp_path)

    def get(self, url: str, **kwargs):
        response = self.client.get(url, **kwargs)
        assert_sound(response, f"GET {url} {kwargs.get('query_string', '')}")
        return response

    def send(self, method: str, url: str, **kwargs):
        if url.startswith("/api/"):
            kwargs.setdefault("headers", bearer(self.token))
        response = self.client.open(url, method=method, **kwargs)
        assert_sound(response, f"{method} {url}")
        return response

    def post_form(self, url: str, data: dict, **kwargs):
        return self.send("POST", url, data={"csrf_token": self.csrf, **data}, **kwargs)

    def revision(self, path: str) -> str | None:
        record = self.wiki.catalog.page(path)
        return record.revision if record else None

    def finish(self) -> None:
        self.tree.assert_nothing_escaped()
        assert_repository_layout(self.data_dir)
        assert list((self.tmp_path / "cwd").iterdir()) == []


# Fuzzing writes far faster than a person: the API's rate limit would answer most examples.
SETTINGS = {"storage": {"fsync": False}, "limits": {"api_writes_per_minute": 1_000_000}}


@pytest.fixture
def hostile(app_factory, data_dir, tmp_path, monkeypatch) -> Hostile:
    """Relative paths resolve in an empty directory, so a write "to ./x" would be seen too."""
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    app = app_factory(SETTINGS)
    accounts = app.extensions["trousse.accounts"]
    accounts.add_user("camille", role="editor", password=PASSWORD, display_name="Camille Été")
    client = app.test_client()
    login = client.post(
        "/login", data={"name": "camille", "password": PASSWORD, "csrf_token": csrf_token(client.get("/login").text)}
    )
    assert login.status_code == 302
    return Hostile(app, client, data_dir, tmp_path, accounts.create_token("camille", "fuzz"))


# -- strategies ----------------------------------------------------------------------

ANY_CHARACTER = st.characters(exclude_categories=["Cs"])
HOSTILE_SEGMENTS = (
    "..",
    ".",
    "%2e%2e",
    "%2E%2e",
    "..%2f..",
    "%2f",
    "%00",
    "%0a",
    "%ff",
    "%",
    "%%",
    "-",
    "-rf",
    "--upload-pack=touch x",
    "--output=../x",
    ".git",
    "git~1",
    ".GIT.",
    "wiki.git",
    "HEAD",
    "refs",
    "objects",
    "hooks",
    "main",
    "HEAD@{1}",
    "main~1",
    "^{tree}",
    ":",
    "C:",
    "\\",
    "..\\..",
    "\x00",
    "\n",
    "\r\n",
    "\t",
    "\x7f",
    "\x1b[31m",
    "\u202e",
    "\ufeff",
    "\u200b",
    "\u2028",
    "\ufffe",
    "\U0001f600",
    "é",
    "e\u0301",
    "ﬁ",
    "Ⅻ",
    "ｆｕｌｌ",
    "İ",
    "ß",
    "CON",
    "nul",
    "aux.md",
    "x.md",
    "home.md",
    "doc.pdf",
    "a" * 101,
    "é" * 60,
    "<script>",
    "' OR '1'='1",
    "$(touch x)",
    "`id`",
    "*",
    "?",
    "#",
    ";",
    "&",
    "=",
    "+",
    " ",
    "%20",
    "home",
    "guides",
    "loyers",
    "_templates",
    "fuzz",
    "page",
    "a-b",
    "1",
)
SEGMENTS = st.one_of(st.sampled_from(HOSTILE_SEGMENTS), st.text(ANY_CHARACTER, max_size=12), st.from_regex(SLUG, fullmatch=True))
PAGE_PATHS = st.one_of(
    st.lists(SEGMENTS, min_size=1, max_size=5).map("/".join),
    st.sampled_from(["/".join(["a"] * 200), "x" * 5000, "fuzz/" + "a" * 95, "/home", "home/", "a//b", ""]),
)
NUMBERS = st.one_of(
    st.none(),
    st.integers(-(10**6), 10**25).map(str),
    st.sampled_from(["", "0", "-1", "1", "100", "101", "1e3", " 5", "٣", "0x10", "9" * 5000, "nan", "inf", "1.5", "+3"]),
    st.text(ANY_CHARACTER, max_size=8),
)
SEARCH_TOKENS = (
    '"',
    '"a phrase"',
    "*",
    "loy*",
    "-",
    "-loyer",
    "tag:",
    "tag:x",
    "path:",
    "path:loyers/",
    "path:../",
    "OR",
    "AND",
    "NOT",
    "(",
    ")",
    "~",
    "^2",
    "[a TO z]",
    "{",
    "}",
    ":",
    "\\",
    "?",
    "élus",
    "loyers",
    "mairie",
    "*:*",
    "title:x",
    "content:",
    "\x00",
    "<script>alert(1)</script>",
    "%",
    "''",
    "-*",
    "tag:*",
    "a" * 300,
)
QUERIES = st.lists(st.one_of(st.sampled_from(SEARCH_TOKENS), st.text(ANY_CHARACTER, max_size=10)), max_size=6).map(
    lambda parts: " ".join(parts)
)


def fresh_randomness() -> None:
    """Undo Hypothesis's seeding of ``random`` for each example.

    Whoosh names new index segments with ``random``: seeded alike, every example
    would name its segment as the previous one did and trip over its files.
    """
    random.seed()


def url(path: str, raw: bool) -> str:
    """``path`` for a URL: percent-encoded, or with its own ``%xx`` left for the server to decode."""
    return urllib.parse.quote(path, safe="/%" if raw else "/")


# -- what this suite found, pinned down -------------------------------------------------


def test_numbers_beyond_a_float_in_a_collection(hostile):
    """YAML reads 400 digits as an int no float holds; two huge floats add up beyond one: no 500, no total."""
    for name, fields in (
        ("a", "loyer: " + "9" * 400 + "\nlat: " + "9" * 400 + "\nlon: 2"),
        ("b", "surface: 1.5e308\ncoordonnees: [" + "9" * 400 + ", 2]"),
        ("c", "surface: 1.5e308"),
    ):
        hostile.send("PUT", f"/api/v1/pages/grands/{name}", json={"markdown": f"---\n{fields}\n---\n\n# {name}\n"})
    for address in ("/collections/grands", "/collections/grands.csv", "/collections/grands.json"):
        assert hostile.get(address).status_code == 200, address
    # No latitude or longitude in range: there is no map to give.
    assert hostile.get("/collections/grands.geojson").status_code == 404
    assert "9" * 400 in hostile.get("/collections/grands.csv").text


def test_infinite_and_nan_front_matter_values_stay_valid_json(hostile):
    """``.inf`` is YAML for infinity, which JSON cannot write: the API and the open data would not parse."""
    hostile.send("PUT", "/api/v1/pages/infini/a", json={"markdown": "---\nloyer: .inf\nsurface: -.inf\nn: .nan\n---\n"})
    meta = json.loads(hostile.get("/api/v1/pages/infini/a").data, parse_constant=reject_constant)["meta"]
    assert meta == {"loyer": None, "surface": None, "n": None}
    json.loads(hostile.get("/collections/infini.json").data, parse_constant=reject_constant)


def test_the_feed_drops_characters_xml_cannot_carry(hostile):
    """A pushed or imported commit may hold U+FFFE or U+FFFF: the feed must still be XML."""
    hostile.wiki.store.commit(
        [FileChange("importe/x.md", "# X\ufffe\n".encode())],
        author=Identity("Zoé\ufffe", "z@example.org"),
        message="Import \ufffe\uffff\x0b fini",
    )
    hostile.wiki.sync()
    root = ElementTree.fromstring(hostile.get("/changes.atom").data)
    assert root.findtext("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}title") == "Import  fini"


def test_odt_export_of_a_page_with_control_characters(hostile):
    """Markdown may hold form feeds, vertical tabs and U+FFFE (only NUL is refused); an ODT must stay XML."""
    hostile.send("PUT", "/api/v1/pages/controle", json={"markdown": "# Ti\x0btre\n\nA\x0cB \ufffe `c\x1bd`\n"})
    assert_odt_is_well_formed(hostile.get("/export/controle.odt").data)


def test_a_tag_with_a_slash_has_a_page(hostile):
    """The tag list links every tag; ``loyers/2024`` must not lead to a 404."""
    hostile.send("PUT", "/api/v1/pages/fiche-2024", json={"markdown": "---\ntags: [loyers/2024]\n---\n# Fiche\n"})
    assert 'href="/tags/loyers/2024"' in hostile.get("/tags").text
    assert "Fiche" in hostile.get("/tags/loyers/2024").text


def test_a_long_query_of_unknown_words_costs_no_more_than_a_short_one(hostile, monkeypatch):
    """Each unknown word was looked up for a suggestion by scanning the term list: the 32 words a query
    keeps cost over a second of CPU per request on the starter wiki. Now each word is a bounded number of
    reads in a deletion table (``search.spelling``), and a query keeps at most ``MAX_CLAUSES`` words."""
    import search.query
    import search.spelling

    lookups = []
    candidates = search.spelling.Speller.candidates
    monkeypatch.setattr(
        search.spelling.Speller, "candidates", lambda self, *args: lookups.append(args) or candidates(self, *args)
    )
    rng = random.Random(6)
    nonsense = " ".join("".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(9)) for _ in range(2000))
    found = hostile.get("/api/v1/search", query_string={"q": nonsense})
    assert found.status_code == 200 and found.json["total"] == 0
    assert found.json["suggestion"] is None and found.json["corrected"] is None
    assert len(lookups) <= search.query.MAX_CLAUSES
    assert hostile.get("/api/v1/search", query_string={"q": "loyre"}).json["corrected"] in ("loyer", "loyers")


# -- fuzzing: page addresses ---------------------------------------------------------

READS = (
    "/wiki/",
    "/edit/",
    "/history/",
    "/raw/",
    "/diff/",
    "/blame/",
    "/pages/",
    "/collections/",
    "/files/",
    "/tags/",
    "/move/",
    "/delete/",
    "/export/",
    "/new?folder=",
    "/api/v1/pages/",
)
API_SUFFIXES = ("/history", "/diff")


@pytest.mark.slow
def test_fuzzed_page_addresses_never_fail_nor_escape(hostile):
    client = hostile.client
    hostile.send("PUT", "/api/v1/pages/fuzz/source", json={"markdown": "# Source\n"})

    @fuzz(25)
    @given(path=PAGE_PATHS, raw=st.booleans())
    @example(path="%2e%2e/%2e%2e/etc/passwd", raw=True)
    @example(path="fuzz/../../outside", raw=False)
    @example(path="fuzz/nouvelle-page", raw=False)
    def run(path: str, raw: bool) -> None:
        fresh_randomness()
        address = url(path, raw)
        for prefix in READS:
            hostile.get(prefix + address)
        for suffix in API_SUFFIXES:
            hostile.get(f"/api/v1/pages/{address}{suffix}")
        hostile.get(f"/export/{address}.odt")
        saved = hostile.send(
            "PUT",
            f"/api/v1/pages/{address}",
            json={"markdown": "# Fuzz\n", "message": path, "base_revision": hostile.revision(path)},
        )
        assert saved.status_code in (200, 201, 308, 400, 404, 405, 409, 413), saved.text
        hostile.post_form(
            f"/edit/{address}",
            {"markdown": "# Fuzz web\n", "message": path, "action": "save", "base_revision": hostile.revision(path) or ""},
        )
        hostile.post_form("/move/fuzz/source", {"to": path})
        if hostile.revision("fuzz/source") is None:  # it moved: bring it back for the next example
            assert (
                client.post(
                    f"/api/v1/pages/{url(path.strip().strip('/'), False)}/move",
                    json={"to": "fuzz/source"},
                    headers=bearer(hostile.token),
                ).status_code
                == 200
            )
        hostile.send("POST", f"/api/v1/pages/{address}/move", json={"to": "fuzz/moved"})
        if hostile.revision("fuzz/moved") is not None:
            hostile.send("DELETE", f"/api/v1/pages/fuzz/moved?base_revision={hostile.wiki.store.head()}")
        hostile.send("PUT", f"/api/v1/files/{address}", data=PDF)
        hostile.send("PUT", f"/api/v1/files/fuzz/source/{address}", data=PDF)
        hostile.post_form(f"/attachments/{address}", {"file": (io.BytesIO(PDF), "doc.pdf")}, content_type="multipart/form-data")
        hostile.post_form("/attachments/fuzz/source/delete", {"name": path})
        hostile.post_form(f"/restore/{address}", {"revision": path})
        hostile.post_form(f"/delete/{address}", {"base_revision": path})

    run()
    hostile.finish()


# -- fuzzing: query strings ----------------------------------------------------------


REVISIONS = st.one_of(
    st.sampled_from(
        [
            "0" * 40,
            "deadbeef",
            "HEAD",
            "main",
            "HEAD~1",
            "main@{0}",
            "--output=x",
            "-p",
            "a" * 41,
            "ABCDEF12",
            " 1234 ",
            "1234\n",
            "^{tree}",
        ]
    ),
    st.text(ANY_CHARACTER, max_size=12),
)
# Every other address with a query string: each example tries a few of them.
QUERY_ADDRESSES = (
    ("/api/v1/changes", lambda q, a, b, rev: {"limit": a, "offset": b, "folder": rev, "author": q}),
    ("/changes", lambda q, a, b, rev: {"folder": q, "author": rev, "page": a}),
    ("/history/home", lambda q, a, b, rev: {"page": a}),
    ("/api/v1/pages/home/history", lambda q, a, b, rev: {"limit": a, "offset": b}),
    ("/collections/loyers", lambda q, a, b, rev: {"sort": q, "order": rev}),
    ("/new", lambda q, a, b, rev: {"title": q, "folder": rev, "template": b}),
    ("/edit/fuzz/nouvelle", lambda q, a, b, rev: {"title": q, "template": rev}),
    ("/wiki/home", lambda q, a, b, rev: {"rev": rev, "page": a}),
    ("/raw/home", lambda q, a, b, rev: {"rev": rev}),
    ("/diff/home", lambda q, a, b, rev: {"from": rev, "to": q}),
    ("/diff/home", lambda q, a, b, rev: {"from": a, "to": rev}),
    ("/api/v1/pages/home", lambda q, a, b, rev: {"rev": rev}),
    ("/api/v1/pages/home/diff", lambda q, a, b, rev: {"from": rev, "to": b}),
    ("/login", lambda q, a, b, rev: {"next": q}),
    ("/lang/en", lambda q, a, b, rev: {"next": rev}),
    ("/tags/", lambda q, a, b, rev: {}),
)


@pytest.mark.slow
def test_fuzzed_query_strings_never_fail(hostile):
    @fuzz(40)
    @given(
        q=QUERIES,
        a=NUMBERS,
        b=NUMBERS,
        rev=REVISIONS,
        order=st.sampled_from(["relevance", "date", "desc", "", "x"]),
        others=st.lists(st.sampled_from(QUERY_ADDRESSES), min_size=1, max_size=4),
    )
    def run(q: str, a: str | None, b: str | None, rev: str, order: str, others: list) -> None:
        fresh_randomness()
        found = hostile.get("/api/v1/search", query_string={"q": q, "limit": a, "offset": b, "order": order})
        if found.status_code == 200:
            assert set(found.json) == {"query", "total", "results", "suggestion", "corrected", "fallback"}
            assert found.json["query"] == q and len(found.json["results"]) <= int(a or 20)
            for result in found.json["results"]:
                assert_no_injection(result["snippet"], "an API snippet", allowed_tags={"mark"})
        else:
            assert found.status_code == 400 and found.json["error"] == "invalid"
        page = hostile.get("/search", query_string={"q": q, "page": a, "order": order})
        assert page.status_code == 200
        assert_no_injection(page.text, "/search")
        for address, query in others:
            hostile.get(address + (url(q, False) if address == "/tags/" else ""), query_string=query(q, a, b, rev))

    run()
    hostile.finish()


# -- fuzzing: front matter -----------------------------------------------------------

RAW_FRONT_MATTER = (
    "title: !!python/object/apply:os.system ['touch pwned']",
    "title: !!python/object/new:subprocess.Popen [['touch', 'pwned']]",
    "!!python/name:os.system",
    "title: !!binary aGVsbG8=",
    "tags: !!set {a, b}",
    "title: !!timestamp 2024-02-30",
    "date: 2024-02-30",
    "a: &a [x]\nb: *a",
    "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\ntitle: *c",
    "<<: {title: merged}",
    "? [a, b]\n: c",
    "? {a: b}\n: c",
    "title: [unclosed",
    "title: 'unterminated",
    "\ttitle: tab",
    "- a\n- b",
    "just text",
    "42",
    "~",
    "%YAML 1.1\n---\ntitle: x",
    "title: x\n...\nmore: y",
    "title: x\n---\ntitle: y",
    "title: " + "[" * 2000 + "]" * 2000,
    "title: " + "x" * 70_000,
    "n: " + "9" * 5000,
    "n: " + "9" * 400,
    "lat: " + "9" * 400 + "\nlon: 1",
    "coordonnees: [" + "9" * 400 + ", 1]",
    "loyer: 1e400\nsurface: .nan\ncharges: -.inf",
    "title: .inf\ntags: [.nan, 1e400, -0]",
    "title: null\ntags: null\nlicence: null",
    "title: 0x1F\ntags: 0o17",
    "licence: [CC0-1.0]",
    "licence: {spdx: CC0-1.0}",
    "licence: 12",
    "licence: ''",
    "tags: {a: b}",
    "tags: [[a], {b: c}]",
    "tags: ',,, ,'",
    "title: '\u202e\u200b'",
    'title: "\\0\\x0b\\ud800"',
    'title: "\\uFFFE\\uFFFF"',
    "lang: '\"><script>alert(1)</script>'",
    "title: '{{7*7}}'",
)
KEYS = st.one_of(
    st.sampled_from(["title", "tags", "licence", "lat", "lon", "coordonnees", "date", "lang", "loyer"]),
    st.text(ANY_CHARACTER, max_size=8),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(10**300, 10**400),
    st.floats(),
    st.text(ANY_CHARACTER, max_size=30),
    st.sampled_from(["CC0-1.0", "cc-by-sa-4.0", "GPL-3.0"]),
    st.dates(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8,
)


def dump_yaml(meta: dict) -> str:
    return yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)


FRONT_MATTER = st.one_of(
    st.dictionaries(KEYS, VALUES, max_size=5).map(dump_yaml),
    st.sampled_from(RAW_FRONT_MATTER),
    st.lists(st.sampled_from(RAW_FRONT_MATTER), min_size=2, max_size=3).map("\n".join),
    st.text(ANY_CHARACTER, max_size=80),
)
PAGE_BODIES = st.one_of(
    st.just("# Fiche\n\nTexte.\n"),
    st.text(ANY_CHARACTER, max_size=60),
    st.sampled_from(["# T\x0bitre\n\x0c\n[[x]]\n", "# \u202e\n", "\x00", '[[<b>|"x"]]\n']),
)


@pytest.mark.slow
def test_fuzzed_front_matter_never_fails(hostile):
    """Through the API, the web form and (as an imported repository would) straight into git."""
    store, wiki = hostile.wiki.store, hostile.wiki

    @fuzz(30)
    @example(front=RAW_FRONT_MATTER[0], body="# Fiche\n", how="api")
    @example(front=RAW_FRONT_MATTER[1], body="# Fiche\n", how="git")
    @example(front="title: Fiche\ntags: [a, b]\nlicence: CC0-1.0\nlieu: Lyon", body="# Fiche\n", how="web")
    @given(front=FRONT_MATTER, body=PAGE_BODIES, how=st.sampled_from(["api", "web", "preview", "git"]))
    def run(front: str, body: str, how: str) -> None:
        fresh_randomness()
        markdown = f"---\n{front}\n---\n\n{body}"
        base = hostile.revision("fuzz/fiche")
        if how == "api":
            saved = hostile.send("PUT", "/api/v1/pages/fuzz/fiche", json={"markdown": markdown, "base_revision": base})
            assert saved.status_code in (200, 201, 400, 413), saved.text
        elif how in ("web", "preview"):
            saved = hostile.post_form(
                "/edit/fuzz/fiche",
                {
                    "markdown": markdown,
                    "action": "save" if how == "web" else how,
                    "base_revision": base or "",
                    "is_new": "0" if base else "1",
                },
            )
            assert saved.status_code in (200, 302, 400, 413), saved.text
            assert_no_injection(saved.text, "the editor")
        else:
            store.commit(
                [FileChange("fuzz/fiche.md", markdown.encode("utf-8", "surrogatepass"))],
                author=Identity("Import", "import@example.org"),
                message="import",
            )
            wiki.sync()
        for address in (
            "/wiki/fuzz/fiche",
            "/api/v1/pages/fuzz/fiche",
            "/collections/fuzz",
            "/collections/fuzz.csv",
            "/collections/fuzz.json",
            "/collections/fuzz.geojson",
            "/tags",
            "/search?q=fiche",
            "/edit/fuzz/fiche",
            "/export/fuzz/fiche.html",
        ):
            response = hostile.get(address)
            if address.endswith((".json", ".geojson")) and response.status_code == 200:
                json.loads(response.data, parse_constant=reject_constant)
            if response.mimetype == "text/html" and response.status_code == 200:
                assert_no_injection(response.text, address, export=address.startswith("/export/"))
        odt = hostile.get("/export/fuzz/fiche.odt")
        if odt.status_code == 200:
            assert_odt_is_well_formed(odt.data)
        feed = hostile.get("/changes.atom")
        ElementTree.fromstring(feed.data)

    run()
    hostile.finish()


def reject_constant(name: str) -> None:
    raise AssertionError(f"{name} is not JSON: open data must parse everywhere")


def assert_odt_is_well_formed(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.endswith(".xml"):
                ElementTree.fromstring(archive.read(name))


# -- fuzzing: uploads ------------------------------------------------------------------

FILE_NAMES = st.one_of(
    st.sampled_from(
        [
            "../../../etc/passwd.pdf",
            "..\\..\\boot.ini.pdf",
            "/abs/path/doc.pdf",
            "a/b/c.odt",
            "x.pdf\x00.html",
            "x.pdf\r\nContent-Type: text/html",
            "CON.txt",
            ".htaccess",
            ".git",
            "x.PDF",
            "noext",
            "é à.png",
            "a" * 300 + ".pdf",
            ".md",
            "index.md",
            "x.md",
            "home.md",
            "-rf.pdf",
            "--output=x.pdf",
            "x.html",
            "x.svg",
            "x.exe",
            "x.",
            "..",
            ".",
            "x.p\u202edf",
            "ｘ.pdf",
            "x.pdf.",
            "x.tar.gz",
            "x" + ".pdf" * 40,
            "' onerror=alert(1) '.png",
        ]
    ),
    st.text(ANY_CHARACTER, max_size=30),
    st.builds(
        lambda stem, ext: f"{stem}.{ext}",
        st.text(ANY_CHARACTER, max_size=15),
        st.sampled_from(["pdf", "png", "svg", "txt", "csv", "odt", "docx", "md", "html", "PNG", ""]),
    ),
)
FILE_BODIES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            PDF,
            PNG,
            b"",
            b"<html><script>alert(1)</script>",
            b"<svg onload=alert(1)></svg>",
            b"\xef\xbb\xbf<!doctype html><script>alert(1)</script>",
            b"PK\x03\x04junk",
            b"GIF89a<script>",
            b"a,b\n=cmd|' /C calc'!A0,2\n",
        ]
    ),
    st.builds(
        lambda head, tail: head + tail, st.sampled_from([PDF, PNG, b"GIF89a", b"\xff\xd8\xff", b"%PDF-"]), st.binary(max_size=100)
    ),
)
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/pdf",
        "text/html",
        "image/svg+xml",
        "application/x-msdownload",
        "text/plain; charset=utf-7",
        "multipart/form-data",
        "../../x",
        "\x00",
    ]
)


def test_fuzzed_uploads_never_fail_nor_escape(hostile):
    hostile.send("PUT", "/api/v1/pages/fuzz/docs", json={"markdown": "# Documents\n"})

    @fuzz(45)
    @given(
        name=FILE_NAMES,
        data=FILE_BODIES,
        declared=CONTENT_TYPES,
        page=st.sampled_from(["fuzz/docs", "fuzz/absente", "fuzz/docs/../docs", "home"]),
    )
    @example(name="../../../etc/passwd.pdf", data=PDF, declared="text/html", page="fuzz/docs")
    @example(name="Plan <svg onload=alert(1)>.svg", data=b"<svg onload=alert(1)></svg>", declared=None, page="fuzz/docs")
    def run(name: str, data: bytes, declared: str | None, page: str) -> None:
        fresh_randomness()
        form = {"file": (io.BytesIO(data), name) if declared is None else (io.BytesIO(data), name, declared)}
        uploaded = hostile.post_form(f"/attachments/{page}", form, content_type="multipart/form-data")
        assert uploaded.status_code in (302, 400, 404, 413), uploaded.text
        hostile.send(
            "PUT",
            f"/api/v1/files/{page}/{url(name, False)}",
            data=data,
            headers={**bearer(hostile.token), "Content-Type": declared or "application/octet-stream"},
        )
        for attachment in hostile.wiki.attachments("fuzz/docs"):
            served = hostile.get(f"/files/{attachment.path}")
            assert served.status_code == 200
            assert served.headers["X-Content-Type-Options"] == "nosniff"
            assert "sandbox" in served.headers["Content-Security-Policy"]
            assert served.mimetype != "text/html"
            assert served.headers.get("Content-Disposition", "").startswith(("inline", "attachment"))
        page_html = hostile.get("/wiki/fuzz/docs").text
        assert_no_injection(page_html, "the page with its attachments")

    run()
    names = {attachment.name for attachment in hostile.wiki.attachments("fuzz/docs")}
    assert {"passwd.pdf", "plan-svg-onload-alert-1.svg"} <= names, names
    hostile.finish()


# -- the XSS corpus ---------------------------------------------------------------------

PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
    '<a href="javascript:alert(1)">clic</a>',
    '<a href="&#106;avascript:alert(1)">clic</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    "{{7*7}} {{ config }} ${7*7} #{7*7}",
    "</title><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    '" onmouseover="alert(1)" x="',
    "' onfocus='alert(1)' autofocus='",
    "<img src=x onerror=alert(1)//",
    "<scr<script>ipt>alert(1)</script>",
    "＜script＞alert(1)＜/script＞",
    "\u202egnp.exe<script>alert(1)</script>",
    "<!--<script>alert(1)//-->",
    "]]><script>alert(1)</script><![CDATA[",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<form action="javascript:alert(1)"><button>x</button></form>',
    "`\"'><details open ontoggle=alert(1)>",
)


def known_script(attrs: dict[str, str | None]) -> bool:
    """The only scripts of the templates themselves: the site's own files, and structured data."""
    if attrs == {"type": "application/ld+json"} or attrs == {"type": "application/json", "id": "editor-strings"}:
        return True  # data, never run: JSON written by tojson (the editor's labels)
    # conflict.js: the conflict page's buttons; editor.js and the vendored EasyMDE: the editor's toolbar and preview.
    own = r"/static/(?:trousse|conflict|editor|vendor/easymde/easymde\.min)\.js(?:\?v=[\w.-]+)?"
    return set(attrs) == {"src", "defer"} and bool(re.fullmatch(own, attrs["src"] or ""))


URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background", "srcset", "cite"}
FORBIDDEN_TAGS = {
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "base",
    "style",
    "mglyph",
    "marquee",
    "isindex",
    "template",
    "noscript",
    "xmp",
    "plaintext",
    "listing",
}
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:text", "data:application", "data:image/svg")


class TagScan(HTMLParser):
    """Every start tag with its (unescaped) attributes, the text, and the content of scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if tag in ("input", "option"):  # what a form shows is text too
            self.text.extend(value for name, value in attrs if name == "value" and value)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)
        else:
            self.text.append(data)


def scan(html: str) -> TagScan:
    parser = TagScan()
    parser.feed(html)
    parser.close()
    return parser


def assert_no_injection(html: str, where: str, *, allowed_tags: set[str] | None = None, export: bool = False) -> TagScan:
    """No tag, attribute or URL in ``html`` that a payload could have put there."""
    parsed = scan(html)
    styles = 0
    for tag, attrs in parsed.tags:
        if allowed_tags is not None:
            assert tag in allowed_tags and not attrs, f"{where}: <{tag} {attrs}> in a fragment"
        if tag == "script":
            assert known_script(attrs), f"{where}: an injected script {attrs}"
        elif tag == "style" and export and not attrs:
            styles += 1  # the stylesheet of a standalone page
        else:
            assert tag not in FORBIDDEN_TAGS, f"{where}: an injected <{tag}>"
        if tag == "meta":
            assert "http-equiv" not in attrs, f"{where}: an injected <meta http-equiv>"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"{where}: an event handler {name}={value!r} on <{tag}>"
            assert name not in {"formaction", "srcdoc", "autofocus"} and "`" not in name and '"' not in name, (
                f"{where}: an injected attribute {name!r} on <{tag}>"
            )
            if name in URL_ATTRIBUTES and value:
                squeezed = re.sub(r"[\x00-\x20]", "", value).lower()
                assert not squeezed.startswith(DANGEROUS_SCHEMES), f"{where}: {name}={value!r} on <{tag}>"
            if name == "style" and value:
                assert not re.search(r"expression|url\(|javascript|@import", value, re.I), f"{where}: style={value!r}"
    assert styles <= 1, f"{where}: an injected <style>"
    for script in parsed.scripts:
        json.loads(script)  # structured data stays data: no "</script>" broke out of it
    assert "<script>alert" not in html and "<svg" not in html and "<iframe" not in html, where
    return parsed


def shows(html: str, text: str, where: str) -> None:
    """``text`` reached the page, as text: otherwise the checks above would prove nothing."""
    visible = " ".join("".join(scan(html).text).split())
    assert " ".join(text.split()) in visible, f"{where}: {text!r} is not shown as text"


def author_of(display_name: str) -> str:
    """The name git keeps: printable, without angle brackets, spaces collapsed (see ``Identity``)."""
    kept = "".join(c for c in display_name if c.isprintable() and c not in "<>" and unicodedata.category(c)[0] != "C")
    return " ".join(kept.split()) or "anonymous"


def subject_of(message: str) -> str:
    """A commit message as the wiki stores it (see ``clean_message``): no control or format characters."""
    return "".join(c for c in message if unicodedata.category(c)[0] != "C").strip().splitlines()[0]


def title_of(text: str) -> str:
    return " ".join(text.split())


def payload_page(number: int, payload: str) -> tuple[str, str]:
    """A page whose every user-written field carries ``payload``, linking to the next one."""
    meta = {"title": payload, "tags": [payload, f"t{number}"], "licence": "CC0-1.0", "lieu": payload, "lang": "fr"}
    body = (
        f"# {payload}\n\n{payload}\n\nTexte alerte {number} : `` {payload} ``\n\n"
        f"[lien]({payload}) [[{payload}]] [[{payload} manquante]] [[xss/p{number + 1}|{payload}]]\n\n"
        f"| a | b |\n|---|---|\n| {payload.replace('|', '')} | x |\n"
    )
    return f"xss/p{number}", "---\n" + dump_yaml(meta) + "---\n\n" + body


class XssWiki:
    """One wiki full of payloads, shared by the read-only XSS tests of this module."""

    def __init__(self, app) -> None:
        self.app = app
        self.client = app.test_client()
        self.wiki = app.extensions["trousse"]
        self.accounts = app.extensions["trousse.accounts"]
        self.first_revisions: dict[str, str] = {}

    def get(self, address: str, client=None):
        response = (client or self.client).get(address)
        assert_sound(response, f"GET {address}")
        return response

    def html(self, address: str, *expected: str, export: bool = False, client=None) -> str:
        response = self.get(address, client)
        assert response.status_code in (200, 400, 404), f"{address}: {response.status_code}"
        html = response.get_data(as_text=True)
        assert_no_injection(html, address, export=export)
        for text in expected:
            shows(html, text, address)
        return html

    def login(self, name: str):
        client = self.app.test_client()
        page = client.get("/login")
        response = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": csrf_token(page.text)})
        assert response.status_code == 302, response.text
        return client

    def build(self) -> None:
        """Every payload as a title, tags, a field, text, a commit message and its author's name."""
        camille = self.accounts.add_user("camille", role="editor", password=PASSWORD)
        headers = bearer(self.accounts.create_token("camille", "xss"))
        for number, payload in enumerate(PAYLOADS):
            self.accounts.update_profile(camille.id, display_name=payload, email="", publish_email=False)
            path, markdown = payload_page(number, payload)
            first = self.client.put(f"/api/v1/pages/{path}", json={"markdown": markdown, "message": payload}, headers=headers)
            assert first.status_code == 201, first.text
            self.first_revisions[path] = first.json["revision"]
            second = self.client.put(
                f"/api/v1/pages/{path}",
                headers=headers,
                json={
                    "markdown": markdown.replace("Texte alerte", f"Texte {payload} changé"),
                    "message": payload,
                    "base_revision": first.json["revision"],
                },
            )
            assert second.status_code == 200, second.text
        created = self.client.put("/api/v1/pages/xss/supprimee", json={"markdown": "# Supprimée\n"}, headers=headers)
        deleted = self.client.delete(f"/api/v1/pages/xss/supprimee?base_revision={created.json['revision']}", headers=headers)
        assert deleted.status_code == 200, deleted.text
        # What an imported repository may hold: odd (but safe) names, links to pages nobody wrote.
        changes = []
        for number, payload in enumerate(PAYLOADS):
            printable = "".join(c for c in payload if c.isprintable())
            name = "/".join(f"imp{number}-{segment.strip().lstrip('.-')}" for segment in printable.split("/"))
            changes.append(FileChange(f"imported/{name}.md", f"Texte importé {number}.\n\n[[{payload} absente]]\n".encode()))
            changes.append(FileChange(f"imported/{name}/{printable.replace('/', '')[:50]}.pdf", PDF))
        self.wiki.store.commit(changes, author=Identity(PAYLOADS[1], "i@example.org"), message="\n".join(PAYLOADS))
        self.wiki.sync()


@pytest.fixture(scope="module")
def xss(tmp_path_factory, initialised_template):
    """Built once: about a hundred commits are too slow to repeat for each test."""
    from wiki.web import close_app, create_app

    data_dir = tmp_path_factory.mktemp("xss") / "data"
    shutil.copytree(initialised_template, data_dir)
    app = create_app({"DATA_DIR": str(data_dir), "TESTING": True, "SETTINGS": SETTINGS})
    try:
        wiki = XssWiki(app)
        wiki.build()
        yield wiki
    finally:
        close_app(app)


@pytest.mark.slow
def test_page_views_show_payloads_as_text(xss):
    for number, payload in enumerate(PAYLOADS):
        path, title, author = f"xss/p{number}", title_of(payload), author_of(payload)
        page = xss.html(f"/wiki/{path}", title, payload, author)
        assert_no_injection(xss.get(f"/api/v1/pages/{path}").json["html"], f"the HTML of {path} in the API")
        xss.html(f"/history/{path}", title, author, subject_of(payload))
        xss.html(f"/diff/{path}", title, author, payload)
        xss.html(f"/blame/{path}", title, author)
        xss.html(f"/wiki/{path}?rev={xss.first_revisions[path]}", title, author)
        xss.html(f"/export/{path}.html", title, author, export=True)
        assert_odt_is_well_formed(xss.get(f"/export/{path}.odt").data)
        raw = xss.get(f"/raw/{path}")
        assert raw.mimetype == "text/markdown" and raw.headers["X-Content-Type-Options"] == "nosniff"
        links = [attrs.get("href") or "" for tag, attrs in scan(page).tags if tag == "a"]
        tag_links = [link for link in links if link.startswith("/tags/")]
        assert len(tag_links) == 2, f"{path}: {tag_links}"
        for link in tag_links:
            response = xss.get(link)
            assert response.status_code == 200, f"{path}: the tag link {link} leads nowhere"
            assert_no_injection(response.text, link)
            shows(response.text, title, link)


def test_editor_forms_show_payloads_as_text(xss):
    client = xss.login("camille")
    for number, payload in enumerate(PAYLOADS):
        path, title = f"xss/p{number}", title_of(payload)
        token = csrf_token(xss.html(f"/edit/{path}", f"Texte {payload} changé", client=client))
        xss.html(f"/move/{path}", title, client=client)
        xss.html(f"/delete/{path}", title, client=client)
        # an edit made on the first revision, on the line the second one changed: a conflict
        old = xss.wiki.text_at(path, xss.first_revisions[path])[0]
        conflict = client.post(
            f"/edit/{path}",
            data={
                "csrf_token": token,
                "markdown": old.replace("Texte alerte", f"Autre {payload}"),
                "message": payload,
                "base_revision": xss.first_revisions[path],
                "action": "save",
            },
        )
        assert conflict.status_code == 409, conflict.text
        assert_no_injection(conflict.text, f"the conflict screen of {path}")
        shows(conflict.text, f"Autre {payload}", "the conflict screen")
        shows(conflict.text, f"Texte {payload} changé", "the conflict screen")
        preview = client.post(
            f"/edit/{path}",
            data={
                "csrf_token": token,
                "markdown": old,
                "message": payload,
                "action": "preview",
                "base_revision": xss.first_revisions[path],
            },
        )
        assert preview.status_code == 200
        assert_no_injection(preview.text, f"the preview of {path}")
        moved = client.post(f"/move/{path}", data={"csrf_token": token, "to": payload})
        assert moved.status_code == 400
        assert_no_injection(moved.text, f"the refused move of {path}")
        shows(moved.text, payload.strip(), "the refused move")
        assert payload in xss.get(f"/api/v1/pages/{path}/diff").json["diff"]
    new = xss.html("/new?" + urllib.parse.urlencode({"title": PAYLOADS[1], "folder": PAYLOADS[0]}), client=client)
    shows(new, PAYLOADS[1], "/new")
    xss.html("/edit/xss/nouvelle?" + urllib.parse.urlencode({"title": PAYLOADS[9]}), client=client)


def test_lists_show_payloads_as_text(xss):
    titles = [title_of(payload) for payload in PAYLOADS]
    xss.html("/pages/xss", *titles)
    xss.html("/tags", *(title.casefold() for title in titles))
    xss.html("/collections/xss", *titles)
    xss.html("/collections", "xss")
    xss.html("/curation", titles[0], *(f"{title} manquante" for title in titles[:3]))  # an orphan, wanted pages
    changes = xss.html("/changes")
    for payload in PAYLOADS[-20:]:  # the first page of changes holds the latest 50 commits
        shows(changes, subject_of(payload), "/changes")
        shows(changes, author_of(payload), "/changes")
        xss.html("/changes?" + urllib.parse.urlencode({"author": payload, "folder": payload}))
    xss.html("/wiki/xss/supprimee", author_of(PAYLOADS[-1]))
    for number in range(1, len(PAYLOADS)):  # each page links to the next: its backlinks show a payload title
        xss.html(f"/wiki/xss/p{number}", titles[number - 1])


def test_feed_is_well_formed_with_payloads_as_text(xss):
    feed = xss.get("/changes.atom")
    assert feed.mimetype == "application/atom+xml"
    root = ElementTree.fromstring(feed.data)
    atom = "{http://www.w3.org/2005/Atom}"
    entries = list(root.iter(f"{atom}entry"))
    titles = {entry.findtext(f"{atom}title") for entry in entries}
    authors = {entry.findtext(f"{atom}author/{atom}name") for entry in entries}
    for payload in PAYLOADS[-20:]:  # the feed holds the latest 50 commits
        assert subject_of(payload) in titles
        assert author_of(payload) in authors
    for entry in entries:
        href = entry.find(f"{atom}link").get("href")
        assert href.startswith("http://") and not re.search(r"[\s<>\"']", href), href
    assert b"<script" not in feed.data and b"<img" not in feed.data and b"<svg" not in feed.data


def test_collection_downloads_carry_payloads_as_data(xss):
    as_json = xss.get("/collections/xss.json")
    assert as_json.mimetype == "application/json" and as_json.headers["X-Content-Type-Options"] == "nosniff"
    rows = {row["path"]: row for row in as_json.json["rows"]}
    as_csv = xss.get("/collections/xss.csv")
    assert as_csv.mimetype == "text/csv" and as_csv.headers["Content-Disposition"].startswith("attachment")
    table = {row["path"]: row for row in csv.DictReader(io.StringIO(as_csv.get_data(as_text=True)))}
    for number, payload in enumerate(PAYLOADS):
        assert rows[f"xss/p{number}"]["lieu"] == payload
        assert table[f"xss/p{number}"]["lieu"] == payload


@pytest.mark.slow
def test_search_snippets_suggestions_and_query_echo(xss):
    for query in (
        "alerte",
        "alert",
        "script onerror",
        "javascript",
        "mglyph",
        "alrte",
        *PAYLOADS,
        *(f"{payload} alrte" for payload in PAYLOADS[:4]),
    ):
        html = xss.html("/search?" + urllib.parse.urlencode({"q": query}))
        shows(html, query, "the search page")
        api = xss.get("/api/v1/search?" + urllib.parse.urlencode({"q": query, "limit": 100}))
        for result in api.json["results"]:
            assert_no_injection(result["snippet"], f"a snippet for {query!r}", allowed_tags={"mark"})
    results = xss.html("/search?q=alerte")
    assert any(tag == "mark" for tag, _ in scan(results).tags), "no match highlighted: the test searched nothing"
    suggested = xss.html("/search?" + urllib.parse.urlencode({"q": PAYLOADS[0] + " alrte"}))
    assert 'class="suggestion"' in suggested, "no suggestion: the test checked nothing"
    for link in sorted(set(re.findall(r'href="(/search\?q=[^"]*)"', results)))[:10]:  # tag and folder facets
        xss.html(link.replace("&amp;", "&"))


def test_display_names_and_token_labels_on_account_pages(xss):
    """The account page, the menu and the welcome message show the name the user typed, as text."""
    user = xss.accounts.add_user("dominique", role="reader", password=PASSWORD, display_name=PAYLOADS[1])
    client = xss.login("dominique")
    xss.html("/wiki/home", title_of(PAYLOADS[1]), client=client)  # in the menu, and welcomed by name
    token = csrf_token(client.get("/account").text)
    for payload in PAYLOADS:
        shown = title_of("".join(c for c in payload if c.isprintable()))
        response = client.post("/account", data={"csrf_token": token, "action": "profile", "display_name": payload})
        assert response.status_code == 302, response.text
        xss.html("/account", shown, client=client)
        xss.html("/wiki/licence", shown, client=client)
        refused = client.post(
            "/account", data={"csrf_token": token, "action": "profile", "display_name": payload, "email": payload}
        )
        assert refused.status_code == 400
        assert_no_injection(refused.text, "the refused profile")
        created = client.post("/account", data={"csrf_token": token, "action": "create_token", "label": payload})
        assert created.status_code == 200
        assert_no_injection(created.text, "the account page with a new token")
        shows(created.text, shown, "the token labels")
    assert xss.accounts.get(user.id).display_name == title_of(PAYLOADS[-1])


def test_imported_names_and_wanted_pages_are_text(xss):
    """Paths a repository can bring in, and links to pages nobody wrote, are text wherever they show."""
    client = xss.login("camille")
    paths = [record.path for record in xss.wiki.catalog.pages("imported")]
    assert len(paths) == len(PAYLOADS)
    for path in paths:
        address = urllib.parse.quote(path)
        xss.html(f"/wiki/{address}", path, *(attachment.name for attachment in xss.wiki.attachments(path)))
        for prefix in ("/history/", "/diff/", "/blame/"):
            xss.html(prefix + address, path)
        for prefix in ("/move/", "/delete/", "/edit/"):
            xss.html(prefix + address, client=client)
    xss.html("/pages/imported")
    xss.html("/curation", *(f"{title_of(payload)} absente" for payload in PAYLOADS[:3]))
    xss.html("/search?q=import%C3%A9")
