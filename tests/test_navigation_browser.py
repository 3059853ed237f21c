"""Finding one's way in Chromium, on a desktop (1280 wide) and a phone (375 wide), with and without JavaScript.

The menu folds behind its button on the phone, the sidebar page stands beside
the text on the desktop and inside the menu on the phone, folders of the tree
open and close, breadcrumbs lead to folders, and axe-core finds nothing serious.
"""

from __future__ import annotations

import pytest
from browser_support import axe_script, axe_violations, describe, launched_browser, log_in, overflow, running_wiki

pytestmark = pytest.mark.browser

PAGE = "guides/se-former-autrement"
SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory, initialised_template):
    axe_script()  # skip (or fail) before starting anything when axe-core is missing
    with running_wiki(tmp_path_factory.mktemp("navigation"), initialised_template) as started:
        yield started


@pytest.fixture(scope="module")
def browser(server):
    with launched_browser() as instance:
        yield instance


@pytest.fixture
def open_page(browser):
    """``open_page(device, javascript=True)``: a page in a new French context at that size; script errors fail the test."""
    contexts, problems = [], []

    def new(device: str, javascript: bool = True):
        context = browser.new_context(locale="fr-FR", java_script_enabled=javascript, bypass_csp=True, **SIZES[device])
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(str(error)))
        return page

    yield new
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


def no_serious_violation(page, what: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"{what}:\n{describe(violations)}"


def test_desktop_sidebar_beside_the_page_and_breadcrumbs(open_page, server):
    base, _data = server
    page = open_page("desktop")
    page.goto(f"{base}/wiki/{PAGE}")
    sidebar = page.get_by_role("complementary", name="Barre latérale")
    main = page.locator("main")
    assert sidebar.is_visible() and sidebar.get_by_role("link", name="Modifier une page").is_visible()
    side, text = sidebar.bounding_box(), main.bounding_box()
    assert side["x"] + side["width"] <= text["x"], "the sidebar stands to the left of the text"
    assert side["y"] < text["y"] + text["height"] and text["y"] < side["y"] + side["height"], "side by side"
    # The menu is open in the header; no "Menu" button on a wide screen.
    assert not page.locator("label.menu-button").is_visible()
    assert page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Toutes les pages").is_visible()
    no_serious_violation(page, "page with its sidebar, desktop")
    trail = page.get_by_role("navigation", name="Fil d’Ariane")
    assert trail.locator("ol > li").all_inner_texts() == ["Accueil", "Guides", "Se former autrement"]
    assert trail.locator("[aria-current=page]").inner_text() == "Se former autrement"
    trail.get_by_role("link", name="Guides").click()
    page.wait_for_url(f"{base}/pages/guides")
    assert page.locator("main").get_by_role("link", name="Se former autrement").is_visible()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_phone_menu_opens_and_closes_with_the_sidebar_inside(open_page, server, javascript):
    base, _data = server
    page = open_page("phone", javascript)
    page.goto(f"{base}/wiki/{PAGE}")
    button = page.locator("label.menu-button")
    menu = page.get_by_role("navigation", name="Menu principal")
    sidebar = page.locator("#site-sidebar")
    assert button.is_visible() and button.inner_text().strip().endswith("Menu")
    assert not menu.is_visible() and not sidebar.is_visible(), "folded until asked for"
    assert page.locator("h1").is_visible() and page.locator("h1").bounding_box()["y"] < 300, "the text comes first"
    button.tap()
    assert menu.get_by_role("link", name="Toutes les pages").is_visible()
    assert sidebar.get_by_role("link", name="Modifier une page").is_visible(), "the sidebar is in the open menu"
    assert sidebar.bounding_box()["y"] < page.locator("h1").bounding_box()["y"]
    assert overflow(page) <= 0
    if javascript:
        no_serious_violation(page, "page with its menu open, phone")
    button.tap()
    assert not menu.is_visible() and not sidebar.is_visible()
    # From the keyboard too: the box behind the button takes the focus and Space opens it.
    page.locator("#menu-toggle").focus()
    page.keyboard.press("Space")
    assert menu.is_visible()
    menu.get_by_role("link", name="Toutes les pages").tap()
    page.wait_for_url(f"{base}/pages")
    assert not menu.is_visible(), "a new page starts with the menu folded"


@pytest.mark.parametrize(("device", "javascript"), [("desktop", True), ("phone", True), ("phone", False)])
def test_the_tree_opens_and_closes(open_page, server, device, javascript):
    base, _data = server
    page = open_page(device, javascript)
    page.goto(f"{base}/pages")
    tree = page.locator(".page-tree")
    folder = tree.locator("summary", has_text="Guides")
    guide = tree.get_by_role("link", name="Se former autrement")
    assert folder.is_visible() and not guide.is_visible()
    folder.click()
    assert guide.is_visible()
    assert tree.get_by_role("link", name="Aller au dossier « Guides »").is_visible()
    assert overflow(page) <= 0
    if javascript:
        no_serious_violation(page, f"tree with a folder open, {device}")
    folder.click()
    assert not guide.is_visible()
    folder.click()
    guide.click()
    page.wait_for_url(f"{base}/wiki/{PAGE}")


def test_pages_read_recently_on_the_account_page(open_page, server):
    base, _data = server
    page = open_page("desktop")
    log_in(page, base)
    page.goto(f"{base}/wiki/licence")
    page.goto(f"{base}/wiki/{PAGE}")
    page.get_by_role("complementary", name="Barre latérale").get_by_role("link", name="Pages récemment consultées").click()
    page.wait_for_url(f"{base}/account#recent-pages")
    listed = page.locator("#recent-pages ol li")
    assert listed.all_inner_texts()[:2] == ["Se former autrement", "Licence des contenus"]
    no_serious_violation(page, "account page with its recent pages")
    page.get_by_role("button", name="Vider cette liste").click()
    page.wait_for_load_state()
    assert page.locator("#recent-pages ol li").count() == 0
