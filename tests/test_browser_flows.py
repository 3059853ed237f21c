"""The main flows in Chromium, on a phone and on a desktop: read, search, log in, edit, conflict, history, upload."""

from __future__ import annotations

import re

import pytest
from browser_support import ADMIN, VIEWPORTS, launched_browser, log_in, open_menu, overflow, running_wiki
from conftest import git
from editor_support import page_text

pytestmark = pytest.mark.browser

EDITOR = "Texte de la page (Markdown)"


@pytest.fixture(scope="module")
def server(tmp_path_factory, initialised_template):
    with running_wiki(tmp_path_factory.mktemp("flows"), initialised_template) as started:
        yield started


@pytest.fixture(scope="module")
def browser():
    with launched_browser() as instance:
        yield instance


@pytest.fixture(scope="module")
def sessions(browser, server):
    """Logged-in browser state of camille and of the admin, made once and reused by every context."""
    base, _data = server
    states = {}
    for name in ("camille", ADMIN):
        context = browser.new_context(locale="fr-FR")
        log_in(context.new_page(), base, name)
        states[name] = context.storage_state()
        context.close()
    return states


@pytest.fixture(params=list(VIEWPORTS))
def device(request):
    return request.param


@pytest.fixture
def open_page(browser, sessions, device):
    """``open_page(who=None)``: a new page in a new French context at the device's size, logged in as ``who``.

    Whatever the Content-Security-Policy refused, and any script error, fails the test.
    """
    contexts = []
    problems = []

    def watch(page):
        page.on(
            "console",
            lambda message: problems.append(f"{page.url}: {message.text}") if "Content Security Policy" in message.text else None,
        )
        page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))

    def new(who: str | None = None):
        state = sessions[who] if who else None
        context = browser.new_context(locale="fr-FR", storage_state=state, **VIEWPORTS[device])
        context.on("page", watch)
        contexts.append(context)
        return context.new_page()

    yield new
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


MENU_ITEMS = """() => [...document.querySelectorAll('.site-nav a, .site-nav button')].map(item => {
  const box = item.getBoundingClientRect();
  const style = getComputedStyle(item);
  return {text: item.textContent.trim(), left: box.left, right: box.right, height: box.height,
          shown: box.width > 0 && style.visibility !== 'hidden' && style.display !== 'none'};
})"""


def check_layout(page, device: str) -> None:
    """On a phone nothing is wider than the screen, and once the menu is open every item of it is shown, on screen, tappable."""
    if device != "phone":
        return
    assert overflow(page) <= 0, f"{page.url} is {overflow(page)}px wider than the screen"
    width = page.evaluate("window.innerWidth")
    open_menu(page)
    items = page.evaluate(MENU_ITEMS)
    assert len(items) >= 4
    for item in items:
        assert item["shown"], f"{item['text']!r} is hidden on {page.url}"
        assert item["left"] >= 0 and item["right"] <= width, f"{item['text']!r} is off screen on {page.url}"
        assert item["height"] >= 24, f"{item['text']!r} is too small to tap on {page.url}"
    assert overflow(page) <= 0, f"{page.url} is {overflow(page)}px wider than the screen with its menu open"
    page.locator("label.menu-button").click()  # and folded again
    assert not page.locator(".site-nav").is_visible()


def activate(locator, device: str) -> None:
    """Tap on a phone, click on a desktop."""
    if device == "phone":
        locator.tap()
    else:
        locator.click()


def create_page(page, base: str, path: str, text: str) -> None:
    page.goto(f"{base}/edit/{path}")
    page_text(page).fill(text)
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(f"{base}/wiki/{path}")


def open_editor_of_a_new_page(page, base: str, path: str, text: str):
    """Create a page, then come back to it through its "Modifier" link, as a person would."""
    create_page(page, base, path, text)
    page.get_by_role("link", name="Modifier", exact=True).click()
    page.wait_for_url(f"{base}/edit/{path}")
    return page_text(page)


def test_read(open_page, server, device):
    base, _data = server
    page = open_page()
    page.goto(base + "/")
    assert page.url == base + "/wiki/home"
    assert page.locator("h1").inner_text() == "Accueil"
    # From the keyboard, the first stop is a visible link that skips to the content.
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert page.evaluate("document.activeElement.className") == "skip-link" and skip.is_visible()
    box = skip.bounding_box()
    assert box["x"] >= 0 and box["y"] >= 0
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    check_layout(page, device)
    activate(page.locator(".page-content").get_by_role("link", name="Tiers-lieux nourriciers").first, device)
    page.wait_for_url(base + "/wiki/guides/tiers-lieux-nourriciers")
    assert page.locator("h1").inner_text() == "Tiers-lieux nourriciers"
    check_layout(page, device)
    activate(page.get_by_role("navigation", name="Fil d’Ariane").get_by_role("link", name="Guides"), device)
    page.wait_for_url(base + "/pages/guides")
    assert page.locator("main").get_by_role("link", name="Se former autrement").is_visible()
    check_layout(page, device)
    open_menu(page)
    activate(page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Modifications récentes"), device)
    page.wait_for_url(base + "/changes")
    check_layout(page, device)
    activate(page.locator(".brand"), device)
    page.wait_for_url(base + "/wiki/home")


def test_search(open_page, server, device):
    base, _data = server
    page = open_page()
    page.goto(base + "/wiki/home")
    box = page.get_by_role("searchbox", name="Rechercher dans le wiki")
    assert box.is_visible()
    box.fill("cuisines partagées")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    assert re.match(r"\d+ résultats?", page.locator(".result-count").inner_text())
    check_layout(page, device)
    first = page.locator(".results h2 a").first
    title = first.inner_text()
    first.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == title
    page.goto(base + "/search?q=tag:formation")
    assert page.locator(".results .result").count() >= 1
    page.get_by_label("Ordre").select_option("date")
    page.locator("main").get_by_role("button", name="Rechercher").click()
    page.wait_for_url(re.compile(r"order=date"))
    check_layout(page, device)


def test_log_in(open_page, server, device):
    base, _data = server
    page = open_page()
    page.goto(base + "/wiki/guides/se-former-autrement")
    assert page.get_by_role("link", name="Modifier", exact=True).count() == 0
    open_menu(page)
    activate(page.get_by_role("link", name="Se connecter"), device)
    page.wait_for_url(re.compile(r"/login\?next="))
    check_layout(page, device)
    page.get_by_label("Nom d’utilisateur").fill("camille")
    page.get_by_label("Mot de passe").fill("pas le bon")
    page.locator("main").get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").is_visible()
    page.get_by_label("Mot de passe").fill("correct horse battery")
    page.locator("main").get_by_role("button", name="Se connecter").click()
    page.wait_for_url(base + "/wiki/guides/se-former-autrement")
    open_menu(page)
    assert page.get_by_role("link", name="Camille Été").is_visible()
    assert page.get_by_role("link", name="Modifier", exact=True).is_visible()
    check_layout(page, device)
    open_menu(page)
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_load_state()
    open_menu(page)
    assert page.get_by_role("link", name="Se connecter").is_visible()


def test_edit(open_page, server, device):
    base, data = server
    path = f"essais/modifier-sur-{device}"
    page = open_page("camille")
    editor = open_editor_of_a_new_page(page, base, path, "# Modifier\n\nPremière version.\n")
    check_layout(page, device)
    assert editor.is_visible()
    editor.fill("# Modifier\n\nDeuxième version, écrite sur un écran de " + device + ".\n")
    page.get_by_label("Résumé de votre modification (facultatif)").fill("Deuxième version")
    # One way to the preview: its tab on a phone, beside the text on a desktop.
    if device == "phone":
        page.get_by_role("tab", name="Aperçu").click()
    page.locator("#editor-live").get_by_text("Deuxième version, écrite").wait_for()
    if device == "phone":
        page.get_by_role("tab", name="Écrire").click()
    check_layout(page, device)
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(f"{base}/wiki/{path}")
    assert page.get_by_role("status").get_by_text("Enregistré.").is_visible()
    assert page.get_by_text("Deuxième version, écrite").is_visible()
    assert git(data / "wiki.git", "log", "-1", "--format=%an|%s").strip() == "Camille Été|Deuxième version"


def test_conflict(open_page, server, device):
    base, data = server
    path = f"essais/conflit-sur-{device}"
    mine, theirs = open_page("camille"), open_page(ADMIN)
    preamble = "# Conflit\n\n" + "".join(f"Point {n} de la convention.\n\n" for n in range(1, 30))
    create_page(mine, base, path, preamble + "Le loyer est de 100 euros.\n\nFin.\n")
    mine.goto(f"{base}/edit/{path}")
    theirs.goto(f"{base}/edit/{path}")
    # Both started from the same revision; the other person saves first.
    page_text(theirs).fill(preamble + "Le loyer est de 120 euros.\n\nFin.\n")
    theirs.get_by_role("button", name="Enregistrer").click()
    theirs.wait_for_url(f"{base}/wiki/{path}")
    my_text = preamble + "Le loyer est de 90 euros, charges comprises.\n\nFin.\n"
    page_text(mine).fill(my_text)
    mine.get_by_label("Résumé de votre modification (facultatif)").fill("Loyer négocié")
    with mine.expect_response(lambda response: response.request.method == "POST" and "/edit/" in response.url) as response:
        mine.get_by_role("button", name="Enregistrer").click()
    assert response.value.status == 409
    assert mine.locator("h1").inner_text() == "Quelqu’un d’autre a modifié cette page pendant que vous la modifiiez"
    assert mine.get_by_role("alert").is_visible()
    check_layout(mine, device)
    # The clashing passage, both versions side by side; no conflict marker to remove by hand.
    passage = mine.locator(".conflict-passage")
    assert passage.count() == 1 and "<<<<<<<" not in mine.locator("main").inner_text()
    assert passage.locator("#yours-1").inner_text().strip() == "Le loyer est de 90 euros, charges comprises."
    assert passage.locator("#theirs-1").inner_text().strip() == "Le loyer est de 120 euros."
    assert mine.get_by_label("Résumé de votre modification (facultatif)").input_value() == "Loyer négocié"
    # Keep mine and save: it goes in after theirs.
    passage.get_by_label("Garder ma version").check()
    mine.get_by_role("button", name="Enregistrer").click()
    mine.wait_for_url(f"{base}/wiki/{path}")
    assert mine.get_by_text("Le loyer est de 90 euros, charges comprises.").is_visible()
    log = git(data / "wiki.git", "log", "-2", "--format=%an|%s", "--", f"{path}.md").strip().splitlines()
    assert log == ["Camille Été|Loyer négocié", "Dominique Admin|Modifie « Conflit »"]


def test_history(open_page, server, device):
    base, _data = server
    path = f"essais/historique-sur-{device}"
    page = open_page("camille")
    create_page(page, base, path, "# Historique\n\nLa salle ouvre à 9 heures.\n")
    create_page(page, base, path, "# Historique\n\nLa salle ouvre à 8 heures 30.\n")
    page.get_by_role("link", name="Historique", exact=True).click()
    page.wait_for_url(f"{base}/history/{path}")
    assert page.locator("table.history tbody tr").count() == 2
    check_layout(page, device)
    page.get_by_role("button", name="Comparer les révisions choisies").click()
    page.wait_for_url(re.compile(r"/diff/"))
    assert page.locator("table.diff tr.changed td.old").first.inner_text().endswith("La salle ouvre à 9 heures.")
    assert page.locator("table.diff tr.changed td.new").first.inner_text().endswith("La salle ouvre à 8 heures 30.")
    assert page.locator("table.diff del").first.is_visible() and page.locator("table.diff ins").first.is_visible()
    check_layout(page, device)
    page.get_by_role("link", name="Retour à l’historique").click()
    page.wait_for_url(f"{base}/history/{path}")
    page.locator("table.history tbody tr").nth(1).get_by_role("link").click()
    page.wait_for_load_state()
    assert page.get_by_role("note").is_visible()
    assert page.get_by_text("La salle ouvre à 9 heures.").is_visible()


def test_upload_from_the_editor(open_page, server, device, tmp_path):
    base, _data = server
    path = f"essais/joindre-sur-{device}"
    page = open_page("camille")
    editor = open_editor_of_a_new_page(page, base, path, "# Joindre\n\nLa convention signée :\n")
    unsaved = editor.input_value() + "\n[Convention de mise à disposition](convention-signee.pdf)\n"
    editor.fill(unsaved)
    agreement = tmp_path / "Convention signée.pdf"
    agreement.write_bytes(b"%PDF-1.4\n% convention\n%%EOF\n")
    page.get_by_label(re.compile("Joindre un document")).set_input_files(str(agreement))
    check_layout(page, device)
    with page.context.expect_page() as opened:
        page.get_by_role("button", name="Joindre (s’ouvre dans un nouvel onglet)").click()
    attachments = opened.value
    attachments.wait_for_load_state()
    assert attachments.url == f"{base}/wiki/{path}#attachments"
    assert attachments.get_by_role("status").get_by_text("convention-signee.pdf").is_visible()
    assert attachments.get_by_role("link", name="convention-signee.pdf", exact=True).is_visible()
    check_layout(attachments, device)
    attachments.close()
    # The text being written was not lost.
    assert editor.input_value() == unsaved
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(f"{base}/wiki/{path}")
    link = page.locator(".page-content").get_by_role("link", name="Convention de mise à disposition")
    assert link.get_attribute("href") == f"/files/{path}/convention-signee.pdf"
    response = page.request.get(base + link.get_attribute("href"))
    assert response.ok and response.body().startswith(b"%PDF")
