"""axe-core finds no serious or critical accessibility violation on the main pages, in French and in English."""

from __future__ import annotations

import pytest
from browser_support import (
    ADMIN,
    VIEWPORTS,
    axe_script,
    axe_violations,
    describe,
    launched_browser,
    log_in,
    running_wiki,
)
from editor_support import page_text

pytestmark = pytest.mark.browser

PAGE = "guides/se-former-autrement"
LINE = "Les personnes qui font vivre un lieu sont souvent les mieux placées pour former celles qui se lancent."
LOCALES = {"fr": "fr-FR", "en": "en-GB"}


@pytest.fixture(scope="session")
def axe_installed():
    """Skip (or fail) before building anything when axe-core is missing."""
    return axe_script()


@pytest.fixture(scope="module")
def server(axe_installed, tmp_path_factory, initialised_template):
    with running_wiki(tmp_path_factory.mktemp("a11y"), initialised_template) as started:
        yield started


@pytest.fixture(scope="module")
def browser(server):
    with launched_browser() as instance:
        yield instance


@pytest.fixture(scope="module")
def contexts(browser, server):
    """A page in its own browser context per (language, account, device), made when first needed.

    axe-core is added to the page as a script, so these contexts bypass the Content-Security-Policy.
    """
    base, _data = server
    made = {}

    def get(language: str, who: str | None, device: str = "desktop"):
        if (language, who, device) not in made:
            context = browser.new_context(locale=LOCALES[language], bypass_csp=True, **VIEWPORTS[device])
            page = context.new_page()
            if who:
                log_in(page, base, who, language)
            made[language, who, device] = page
        return made[language, who, device]

    yield get
    for page in made.values():
        page.context.close()


@pytest.fixture(scope="module")
def old_base(contexts, server):
    """The page gets a second revision (for the diff); returns the first, to provoke a conflict from it."""
    base, _data = server
    page = contexts("fr", "camille")
    page.goto(f"{base}/edit/{PAGE}")
    first = page.locator("input[name=base_revision]").input_value()
    editor = page_text(page)
    editor.fill(editor.input_value().replace(LINE, LINE.replace("souvent", "très souvent")))
    page.locator("button[value=save]").click()
    page.wait_for_url(f"{base}/wiki/{PAGE}")
    return first


def open_conflict(page, base: str, old_revision: str) -> None:
    page.goto(f"{base}/edit/{PAGE}")
    page.locator("input[name=base_revision]").evaluate("(input, value) => { input.value = value; }", old_revision)
    editor = page_text(page)
    editor.fill(editor.input_value().replace("très souvent", "parfois"))
    page.locator("button[value=save]").click()
    page.wait_for_load_state()
    assert page.locator(".banner-conflict").count() == 1


def start_discussion(page, base: str) -> None:
    """A message, a reply and a hidden message: the discussion as an editor sees it."""
    page.goto(f"{base}/discussion/{PAGE}")
    for text in ("Une **question** sur cette formation ?", "Une réponse."):
        page.locator("#message-text").fill(text)
        page.locator(".new-message button[type=submit]").click()
        page.wait_for_load_state()
        page.locator(".message-actions a").first.click()
        page.wait_for_load_state()
    page.locator(".message-actions button[value=hide]").first.click()
    page.wait_for_load_state()
    assert page.locator(".message-masked").count() >= 1 and page.locator(".replies").count() >= 1


# The main pages, checked in both languages: (name, address, account, expected status).
MAIN_PAGES = [
    ("home", "/", None, 200),
    ("page", f"/wiki/{PAGE}", None, 200),
    ("search", "/search?q=formation", None, 200),
    ("login", "/login", None, 200),
    ("edit", f"/edit/{PAGE}", "camille", 200),
    ("history", f"/history/{PAGE}", None, 200),
    ("diff", f"/diff/{PAGE}", "camille", 200),
    ("recent-changes", "/changes", None, 200),
    ("all-pages", "/pages", None, 200),
    ("tags", "/tags", None, 200),
    ("account", "/account", "camille", 200),
    ("not-found", "/pages/aucun-dossier", None, 404),
    ("admin", "/admin", ADMIN, 200),
]
# Further pages, checked in French only (they are built like the main ones in English).
MORE_PAGES = [
    ("page-as-editor", f"/wiki/{PAGE}", "camille", 200),
    ("collection", "/collections/loyers", None, 200),
    ("collections", "/collections", None, 200),
    ("missing-page", "/wiki/guides/page-a-ecrire", None, 404),
    ("new", "/new", "camille", 200),
    ("preview", None, "camille", 200),
    ("conflict", None, "camille", 409),
    ("blame", f"/blame/{PAGE}", None, 200),
    ("discussion", f"/discussion/{PAGE}", "camille", 200),
]
# On a phone, where the layout differs most: checked in French.
PHONE_PAGES = ["page-as-editor", "search", "edit", "history", "diff", "discussion"]
ALL_PAGES = {entry[0]: entry for entry in MAIN_PAGES + MORE_PAGES}

CASES = [
    pytest.param(language, "desktop", *entry, id=f"{entry[0]}-{language}") for entry in MAIN_PAGES for language in ("fr", "en")
]
CASES += [pytest.param("fr", "desktop", *entry, id=f"{entry[0]}-fr") for entry in MORE_PAGES]
CASES += [pytest.param("fr", "phone", *ALL_PAGES[name], id=f"{name}-fr-phone") for name in PHONE_PAGES]


@pytest.mark.parametrize(("language", "device", "name", "address", "who", "status"), CASES)
def test_no_serious_accessibility_violation(contexts, server, old_base, language, device, name, address, who, status):
    base, _data = server
    page = contexts(language, who, device)
    if name == "conflict":
        open_conflict(page, base, old_base)
    elif name == "discussion":
        start_discussion(page, base)
    elif name == "preview":
        page.goto(f"{base}/edit/{PAGE}")
        # The preview page the form's own button answers; the editor's script hides that button (its live
        # preview replaces it), so the click is dispatched as a browser without JavaScript would send it.
        with page.expect_navigation():
            page.locator("button[value=preview]").dispatch_event("click")
        assert page.locator(".preview").count() == 1
    else:
        response = page.goto(base + address)
        assert response.status == status, f"{address}: {response.status}"
    assert page.locator("html").get_attribute("lang") == language
    violations = axe_violations(page)
    assert not violations, f"{name} ({language}, {device}):\n{describe(violations)}"
