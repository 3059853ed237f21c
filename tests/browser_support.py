"""Shared by the browser test modules: one real server per module, Chromium, axe-core."""

from __future__ import annotations

import json
import os
import re
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import PASSWORD, copy_wiki, run_cli, start_server, stop_server
from test_browser import CHROMIUM_FLAGS, find_chromium

AXE_SCRIPT = Path(__file__).resolve().parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING_IMPACTS = ("serious", "critical")

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1366, "height": 768}}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}

ADMIN = "dominique"


def missing(reason: str) -> None:
    """Skip, unless the browser tests are required (CI), in which case fail."""
    if os.environ.get("TROUSSE_REQUIRE_BROWSER"):
        pytest.fail(f"TROUSSE_REQUIRE_BROWSER is set but {reason}")
    pytest.skip(reason)


@contextmanager
def launched_browser():
    executable = find_chromium()
    if executable is None:
        missing("no Chromium installed (apt-get install chromium, or set TROUSSE_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield instance
        finally:
            instance.close()


@contextmanager
def running_wiki(directory: Path, template: Path):
    """``trousse serve`` (two workers) on a copy of the initialised template, with an editor (camille) and an admin."""
    data = copy_wiki(template, directory / "data")
    run_cli(
        data,
        "user",
        "add",
        ADMIN,
        "--role",
        "admin",
        "--display-name",
        "Dominique Admin",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    server, base = start_server(data, directory / "server.log", workers=2)
    try:
        yield base, data
    finally:
        stop_server(server)


def api_token(data: Path, name: str = "camille") -> str:
    """A new API token of an account of the served wiki, made with the command line."""
    found = re.search(r"trousse_[A-Za-z0-9_-]+", run_cli(data, "token", "create", name))
    assert found, "trousse token create printed no token"
    return found.group(0)


def save_over_http(base: str, token: str, path: str, markdown: str) -> int:
    """Save a page of the served wiki through the JSON API; the status (201 made, 200 changed)."""
    request = urllib.request.Request(
        f"{base}/api/v1/pages/{path}",
        data=json.dumps({"markdown": markdown}).encode(),
        method="PUT",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:
        return answer.status


def log_in(page, base: str, name: str = "camille", language: str = "fr") -> None:
    labels = {"fr": ("Nom d’utilisateur", "Mot de passe", "Se connecter"), "en": ("User name", "Password", "Log in")}[language]
    page.goto(base + "/login")
    page.get_by_label(labels[0]).fill(name)
    page.get_by_label(labels[1], exact=True).fill(PASSWORD)
    page.locator("main").get_by_role("button", name=labels[2]).click()
    page.wait_for_load_state()
    assert page.locator("form[action='/logout']").count() == 1, f"{name} could not log in"


def axe_script() -> Path:
    if not AXE_SCRIPT.exists():
        missing("axe-core is not installed (run: npm ci --prefix tests/browser)")
    return AXE_SCRIPT


def axe_violations(page) -> list[dict]:
    """Run axe-core in the page; the violations that are serious or critical."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe_script()))
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", AXE_TAGS
    )
    return [v for v in results["violations"] if v["impact"] in BLOCKING_IMPACTS]


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>")
        for node in violation["nodes"]:
            summary = " ".join(line.strip() for line in node.get("failureSummary", "").splitlines()[1:])
            lines.append(f"    {' '.join(map(str, node['target']))}: {summary[:300]}")
    return "\n".join(lines)


def overflow(page) -> int:
    """How many CSS pixels the document is wider than the window (0 when nothing overflows)."""
    return page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")


def open_menu(page) -> None:
    """On a narrow screen the main menu is folded behind its "Menu" button: open it (nothing to do on a desktop)."""
    button = page.locator("label.menu-button")
    if button.is_visible() and not page.locator("#menu-toggle").is_checked():
        button.click()
        page.locator(".site-nav").wait_for(state="visible")
