"""Pathological Markdown costs bounded time: refused on save, reduced on view, rendered once per revision.

Why this file exists: a megabyte of Markdown holds a thousand nested lists or a
quarter of a million table cells, and markdown-it (pure Python) needed tens of
seconds for either, on every save path and every view. Nesting depth and
table cells are now limits checked on save (web, API, push), a page that got
in anyway (older history, imports, a limit lowered later) is shown as "too
large to preview" with its text one click away, exports degrade the same way,
and a render is kept per revision. Each hostile input runs under a generous
time bound, in a thread, so a regression fails here instead of hanging.
"""

from __future__ import annotations

import io
import logging
import subprocess
import threading
import time
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from conftest import bearer, csrf_token, form_value, git

import wiki.app.service as service
import wiki.render.rendering as rendering
from repo_store import FileChange, Identity
from repo_store.gitcmd import git_environment
from wiki.app.content_rules import page_problems
from wiki.render.markdown_shape import measure
from wiki.render.odt import page_odt
from wiki.render.render_cache import RenderCache
from wiki.render.rendering import LinkTarget, RenderBudget, body_tokens, render

IMPORTER = Identity("Import", "import@example.org")
LIMITS = {"max_bytes": 1_048_576, "max_nesting": 24, "max_table_cells": 20_000}


def within(seconds: float, work: Callable[[], Any]) -> Any:
    """``work()``'s result, or a failure if it takes longer than ``seconds`` (the thread is left behind)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    outcome["elapsed"] = time.monotonic() - started
    return outcome["value"]


def deep_list(limit: int = 1_000_000) -> str:
    """Nested list items, one level deeper per line, as many as ``limit`` bytes hold (about a thousand)."""
    lines, size = [], len("# Profonde\n\n")
    while size + len(line := "  " * len(lines) + "- niveau\n") <= limit:
        lines.append(line)
        size += len(line)
    return "# Profonde\n\n" + "".join(lines)


def table(cells: int, cell_text: str = "x", columns: int = 4) -> str:
    header = "| " + " | ".join(f"c{i}" for i in range(columns)) + " |\n|" + "---|" * columns + "\n"
    row = "| " + " | ".join([cell_text] * columns) + " |\n"
    return "# Tableau\n\n" + header + row * (cells // columns - 1)


def resolver(target: str) -> LinkTarget:
    return LinkTarget("/wiki/" + target, True, target)


def commit_directly(app, path: str, markdown: str) -> None:
    """A page that never went through the save checks: imported history, or a limit lowered since."""
    wiki = app.extensions["trousse"]
    wiki.store.commit([FileChange(f"{path}.md", markdown.encode("utf-8"))], author=IMPORTER, message="import")
    wiki.sync()


# -- the scanner ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "depth", "cells"),
    [
        ("- a\n  - b\n    - c\n", 3, 0),
        ("> > > citation\n", 3, 0),
        ("- - - a\n", 3, 0),
        ("> a\n> - b\n>   - c\n", 3, 0),
        ("- a\nparesseuse\n  - b\n", 2, 0),  # a lazy line keeps the list open
        ("```yaml\na:\n  - b:\n      - c:\n          - d\n```\n", 0, 0),
        ("- point\n  ```\n  a:\n        - b\n  ```\n", 1, 0),
        ("    - code\n      - indenté\n", 0, 0),
        ("<pre>\n    - a\n      - b\n</pre>\n", 0, 0),
        ("***\n* * *\n", 0, 0),
        ("| a | b |\n|---|---|\n| 1 | 2 |\nsuite\n\nfin\n", 0, 6),
        ("| a | b |\n|---|\n", 0, 0),  # header and delimiter disagree: no table
    ],
)
def test_the_scanner_measures_what_the_renderer_builds(markdown, depth, cells):
    shape = measure(markdown, stop_depth=100, stop_cells=1000)
    assert (shape.depth, shape.cells) == (depth, cells)


def test_the_scanner_is_linear_on_its_worst_inputs():
    for text in (
        "- a\n" * 250_000,
        "> a\n" * 250_000,
        "| a |\n|---|\n" + "b\n" * 400_000,
        "a\n\n" * 330_000,
        "> " * 500_000,
        deep_list(),
    ):
        within(5, lambda text=text: measure(text, stop_depth=24, stop_cells=20_000))


# -- refused on save, on every path -----------------------------------------------------------


def test_a_deep_list_is_refused_by_the_content_rules_and_a_fenced_one_is_not():
    assert [p.code for p in page_problems(deep_list(), **LIMITS)] == ["too_deep"]
    yaml_in_a_fence = "# Config\n\n```yaml\n" + "".join("  " * level + "- cle:\n" for level in range(60)) + "```\n"
    assert page_problems(yaml_in_a_fence, **LIMITS) == []
    nested_24 = "".join("  " * level + "- niveau\n" for level in range(24))
    assert page_problems(nested_24, **LIMITS) == []
    assert [p.code for p in page_problems(nested_24 + "  " * 24 + "- un de trop\n", **LIMITS)] == ["too_deep"]


def test_the_web_editor_refuses_a_deep_list_fast_and_commits_nothing(app, client, editor):
    head = app.extensions["trousse"].store.head()
    page = client.get("/edit/guides/profonde")
    response = within(
        10,
        lambda: client.post(
            "/edit/guides/profonde",
            data={
                "csrf_token": csrf_token(page.text),
                "base_revision": form_value(page.text, "base_revision"),
                "markdown": deep_list(),
                "message": "",
                "action": "save",
            },
        ),
    )
    assert response.status_code == 400
    assert "La page imbrique des listes ou des citations sur plus de 24 niveaux\u00a0; réduisez l’imbrication." in response.text
    assert app.extensions["trousse"].store.head() == head


def test_the_api_refuses_a_deep_list_and_too_many_cells_with_their_codes(app, client, token):
    head = app.extensions["trousse"].store.head()
    deep = within(10, lambda: client.put("/api/v1/pages/guides/profonde", json={"markdown": deep_list()}, headers=bearer(token)))
    assert deep.status_code == 400 and deep.json["error"] == "invalid"
    assert "24 niveaux" in deep.json["message"]
    wide = within(
        10, lambda: client.put("/api/v1/pages/guides/tableau", json={"markdown": table(222_000)}, headers=bearer(token))
    )
    assert wide.status_code == 413 and wide.json["error"] == "too_large"
    assert "20000 cellules" in wide.json["message"]
    assert app.extensions["trousse"].store.head() == head


def test_a_push_with_a_deep_list_is_refused_with_the_reason(app, data_dir, tmp_path):
    """The repository's pre-receive hook runs for a local push as for one over HTTP."""
    repository = data_dir / "wiki.git"
    before = git(repository, "rev-parse", "main")
    clone = tmp_path / "clone"
    env = git_environment(
        {
            "GIT_AUTHOR_NAME": "Inès",
            "GIT_AUTHOR_EMAIL": "ines@example.org",
            "GIT_COMMITTER_NAME": "Inès",
            "GIT_COMMITTER_EMAIL": "ines@example.org",
        }
    )
    subprocess.run(["git", "clone", "-q", str(repository), str(clone)], check=True, env=env, capture_output=True)
    (clone / "guides").mkdir(exist_ok=True)
    (clone / "guides" / "profonde.md").write_text(deep_list(), encoding="utf-8")
    subprocess.run(["git", "add", "guides/profonde.md"], cwd=clone, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", "profonde"], cwd=clone, check=True, env=env)
    started = time.monotonic()
    result = subprocess.run(["git", "push", "origin", "main"], cwd=clone, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "imbrique des listes ou des citations sur plus de 24 niveaux" in result.stderr, result.stderr
    assert time.monotonic() - started < 20
    assert git(repository, "rev-parse", "main") == before


def test_a_yaml_example_in_a_fence_is_saved(client, token):
    yaml = "".join("  " * level + "- cle:\n" for level in range(60))
    response = client.put(
        "/api/v1/pages/guides/config", json={"markdown": f"# Config\n\n```yaml\n{yaml}```\n"}, headers=bearer(token)
    )
    assert response.status_code == 201, response.text


# -- viewing the large but accepted -----------------------------------------------------------


def test_a_megabyte_table_under_the_cell_limit_is_saved_and_rendered(app, client, token):
    markdown = table(20_000, "lorem ipsum dolor sit amet, consectetur adipisc")
    assert 950_000 < len(markdown) <= 1_048_576
    saved = within(20, lambda: client.put("/api/v1/pages/guides/tableau", json={"markdown": markdown}, headers=bearer(token)))
    assert saved.status_code == 201, saved.text
    response = within(10, lambda: client.get("/wiki/guides/tableau"))
    assert response.status_code == 200
    assert response.text.count("<td>") == 20_000 - 4


def test_wikilinks_are_resolved_once_per_target_and_a_page_of_them_views_fast(app, client):
    calls: list[str] = []

    def counting(target: str) -> LinkTarget:
        calls.append(target)
        return resolver(target)

    rendered = render("[[a]] [[b]] [[a|A]]\n" * 2000, resolve_link=counting)
    assert rendered.degraded is None and rendered.html.count('class="wikilink"') == 6000
    assert sorted(calls) == ["a", "b"]
    commit_directly(app, "guides/liens", "[[a]] " * 150_000)
    response = within(10, lambda: client.get("/wiki/guides/liens"))
    assert response.status_code == 200


def test_all_the_nesting_the_limit_allows_is_rendered():
    """markdown-it's default nesting guard silently dropped every list level past the ninth."""
    markdown = "".join("  " * level + f"- niveau{level}\n" for level in range(24))
    rendered = render(markdown, resolve_link=resolver)
    assert rendered.degraded is None and "niveau23" in rendered.html and rendered.html.count("<ul>") == 24


def test_repeated_headings_get_unique_anchors_in_linear_time():
    tokens = within(10, lambda: body_tokens("## Questions\n\n" * 20_000, ""))
    ids = [token.attrGet("id") for token in tokens if token.type == "heading_open"]
    assert len(set(ids)) == 20_000 and ids[:3] == ["questions", "questions-1", "questions-2"]


@pytest.mark.slow
@pytest.mark.parametrize("markdown", ["a: " * 60_000, "www.a.fr " * 40_000, "x@y.fr " * 40_000, "http:" * 40_000])
def test_bare_url_detection_is_linear_in_one_long_paragraph(markdown):
    rendered = within(10, lambda: render(markdown, resolve_link=resolver, budget=RenderBudget(seconds=30)))
    assert rendered.degraded is None


# -- the budget at view time ------------------------------------------------------------------


def test_a_deep_page_already_in_git_is_shown_as_too_large_to_preview(app, client):
    commit_directly(app, "guides/profonde", deep_list())
    response = within(10, lambda: client.get("/wiki/guides/profonde"))
    assert response.status_code == 200
    assert "Cette page est trop volumineuse pour être affichée." in response.text
    assert "Ses listes ou ses citations sont imbriquées trop profondément." in response.text
    assert 'href="/raw/guides/profonde"' in response.text
    assert "<li>" not in response.text.split('class="page-content')[1].split("</div>")[0]


def test_a_huge_table_already_in_git_views_and_exports_within_bounds(app, client):
    markdown = table(222_000)
    commit_directly(app, "guides/tableau", markdown)
    view = within(10, lambda: client.get("/wiki/guides/tableau"))
    assert view.status_code == 200 and "Ses tableaux comptent trop de cellules." in view.text
    odt = within(10, lambda: client.get("/export/guides/tableau.odt"))
    assert odt.status_code == 200
    content = zipfile.ZipFile(io.BytesIO(odt.data)).read("content.xml").decode("utf-8")
    assert "<table:table" not in content and 'text:style-name="Preformatted"' in content and "| x | x |" in content
    html = within(10, lambda: client.get("/export/guides/tableau.html"))
    assert html.status_code == 200 and "<pre>" in html.text and "<table" not in html.text
    api = client.get("/api/v1/pages/guides/tableau")
    assert api.status_code == 200 and api.json["html"].startswith("<pre>")


def test_a_page_over_a_lowered_size_limit_is_not_rendered(app_factory):
    app = app_factory({"storage": {"fsync": False}, "limits": {"max_page_bytes": 10_000}})
    commit_directly(app, "guides/longue", "# Longue\n\n" + "*mot* " * 5_000)
    response = app.test_client().get("/wiki/guides/longue")
    assert response.status_code == 200 and "Elle dépasse la taille maximale d’une page." in response.text


def test_a_render_past_its_deadline_is_abandoned(monkeypatch):
    """The estimate can be wrong; the CPU-time deadline checked inside the parser is the backstop."""
    monkeypatch.setattr(rendering, "estimate_microseconds", lambda body, shape: 0)
    rendered = render("*a* [b] `c`\n" * 20_000, resolve_link=resolver, budget=RenderBudget(seconds=0.01))
    assert rendered.degraded == "too_costly" and rendered.html.startswith("<pre>*a* [b] `c`")


def test_an_odt_export_of_a_costly_page_degrades_to_its_text():
    data = within(
        10,
        lambda: page_odt(
            title="T",
            markdown_body="[[a]] " * 150_000,
            authors=[],
            licence_name="",
            licence_url="",
            credit="",
            source_url="",
            budget=RenderBudget(seconds=0.1),
        ),
    )
    content = zipfile.ZipFile(io.BytesIO(data)).read("content.xml").decode("utf-8")
    assert 'text:style-name="Preformatted"' in content


# -- rendered once per revision ---------------------------------------------------------------


def count_renders(monkeypatch) -> list[str]:
    calls: list[str] = []
    original = service.render

    def counting(markdown: str, **options: Any):
        calls.append(options.get("path", ""))
        return original(markdown, **options)

    monkeypatch.setattr(service, "render", counting)
    return calls


def test_a_revision_is_rendered_once_while_its_links_lead_the_same_way(app, client, token, monkeypatch):
    wiki = app.extensions["trousse"]
    client.put("/api/v1/pages/guides/source", json={"markdown": "# Source\n\nVoir [[guides/cible]]."}, headers=bearer(token))
    calls = count_renders(monkeypatch)
    first = wiki.view("guides/source")
    assert 'class="wikilink missing"' in first.rendered.html
    wiki.view("guides/source")
    assert calls == ["guides/source"]
    # Another page changes, or a page unrelated to its links appears: the render is reused.
    client.put("/api/v1/pages/home", json={"markdown": "# Accueil\n\nAutre texte."}, headers=bearer(token))
    client.put("/api/v1/pages/guides/autre", json={"markdown": "# Autre\n"}, headers=bearer(token))
    wiki.view("guides/source")
    assert calls == ["guides/source"]
    # The page it links to appears: its link is no longer red, so it is rendered again.
    client.put("/api/v1/pages/guides/cible", json={"markdown": "# Cible\n"}, headers=bearer(token))
    again = wiki.view("guides/source")
    assert calls == ["guides/source", "guides/source"]
    assert "missing" not in again.rendered.html


def test_a_page_that_is_not_rendered_is_logged_once(app, client, caplog):
    commit_directly(app, "guides/profonde", deep_list(50_000))
    with caplog.at_level(logging.WARNING, logger="wiki.render.render_cache"):
        for _ in range(3):
            assert client.get("/wiki/guides/profonde?rev=" + app.extensions["trousse"].store.head()).status_code == 200
    assert len([r for r in caplog.records if "guides/profonde" in r.getMessage()]) == 1


def test_the_render_cache_is_bounded_in_characters():
    cache = RenderCache(max_chars=50_000)
    for number in range(40):
        cache.get(f"blob{number}", "page", 0, resolver, lambda: render("mot " * 2_000, resolve_link=resolver))
    assert 0 < len(cache) <= 7
    huge = cache.get("huge", "page", 0, resolver, lambda: render("mot " * 20_000, resolve_link=resolver))
    assert huge.html  # larger than the whole cache: returned, not kept
