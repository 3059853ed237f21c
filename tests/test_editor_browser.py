"""The toolbar editor in Chromium, on a phone and on a desktop: toolbar, live preview, uploads, drafts.

Each test types into the editor as a person would (keyboard and toolbar), and
the page is checked for what the server kept: git sees only the lines typed.
"""

from __future__ import annotations

import re

import pytest
from browser_support import VIEWPORTS, axe_violations, describe, launched_browser, log_in, overflow, running_wiki
from conftest import git
from playwright.sync_api import Error as PlaywrightError

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# A page with the things a reformatting editor would change: tabs, trailing spaces,
# "*" bullets, setext headings, hard line breaks, a table without padding.
ORIGINAL = (
    "# Atelier partagé\n\n"
    "Titre à l'ancienne\n==================\n\n"
    "* un\n*  deux\t(tab)\n\n"
    "Ligne avec deux espaces de fin  \nsuite.\n\n"
    "|a|b|\n|-|-|\n|1|2|\n\n"
    "Un paragraphe au milieu.\n\n"
    "Fin   \n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory, initialised_template):
    with running_wiki(tmp_path_factory.mktemp("editor"), initialised_template) as started:
        yield started


@pytest.fixture(scope="module")
def browser():
    with launched_browser() as instance:
        yield instance


@pytest.fixture(scope="module")
def session(browser, server):
    base, _data = server
    context = browser.new_context(locale="fr-FR")
    log_in(context.new_page(), base, "camille")
    state = context.storage_state()
    context.close()
    return state


@pytest.fixture(params=list(VIEWPORTS))
def device(request):
    return request.param


@pytest.fixture
def open_page(browser, session, device, server):
    """A logged-in page at the device's size; a CSP refusal, a script error or a request leaving the machine fails."""
    base, _data = server
    contexts, problems = [], []

    def new(bypass_csp: bool = False):
        # axe-core is injected as an inline script: its test alone lets the page bypass the CSP.
        context = browser.new_context(locale="fr-FR", storage_state=session, bypass_csp=bypass_csp, **VIEWPORTS[device])
        contexts.append(context)
        page = context.new_page()
        page.on(
            "console",
            lambda message: problems.append(message.text) if "Content Security Policy" in message.text else None,
        )
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("request", lambda request: None if request.url.startswith(base) else problems.append(request.url))
        return page

    yield new
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


def make_page(page, base: str, path: str, text: str) -> None:
    """Create the page through the plain form (as a script would without the editor)."""
    page.goto(f"{base}/edit/{path}")
    page.wait_for_function("() => window.trousseEditor !== undefined")
    page.evaluate("text => window.trousseEditor.value(text)", text)
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(f"{base}/wiki/{path}")


def open_editor(page, base: str, path: str):
    page.goto(f"{base}/edit/{path}")
    page.wait_for_function("() => window.trousseEditor !== undefined")
    return page.locator(".CodeMirror")


def put_cursor(page, line: int, ch: int) -> None:
    page.evaluate(
        "([line, ch]) => { const cm = window.trousseEditor.codemirror; cm.focus(); cm.setCursor({line, ch}); }", [line, ch]
    )


def test_one_word_typed_changes_one_line_in_git(open_page, server, device):
    base, data = server
    path = f"essais/octets-{device}"
    page = open_page()
    make_page(page, base, path, ORIGINAL)
    before = git(data / "wiki.git", "rev-parse", "main").strip()
    assert git(data / "wiki.git", "show", f"main:{path}.md") == ORIGINAL
    open_editor(page, base, path)
    line = ORIGINAL.split("\n").index("Un paragraphe au milieu.")
    put_cursor(page, line, len("Un paragraphe"))
    page.keyboard.type(" bien")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(f"{base}/wiki/{path}")
    diff = git(data / "wiki.git", "diff", "--numstat", before, "main", "--", f"{path}.md")
    assert diff.split()[:2] == ["1", "1"], diff
    assert git(data / "wiki.git", "show", f"main:{path}.md") == ORIGINAL.replace("Un paragraphe", "Un paragraphe bien")


def test_toolbar_bold_and_wiki_link_with_completion(open_page, server, device):
    base, data = server
    path = f"essais/barre-{device}"
    page = open_page()
    make_page(page, base, path, "# Barre\n\nmot\n")
    open_editor(page, base, path)
    toolbar = page.get_by_role("toolbar", name="Mise en forme")
    # Select "mot" and make it bold with the toolbar.
    page.evaluate(
        "() => { const cm = window.trousseEditor.codemirror; cm.focus(); cm.setSelection({line: 2, ch: 0}, {line: 2, ch: 3}); }"
    )
    toolbar.get_by_role("button", name="Gras").click()
    put_cursor(page, 2, 7)
    page.keyboard.type(" voir ")
    toolbar.get_by_role("button", name="Lien vers une page du wiki").click()
    dialog = page.get_by_role("dialog")
    field = dialog.get_by_label("Titre de la page à lier")
    assert page.locator("#wikilink-pages option[value='Accueil']").count() == 1 or page.wait_for_selector(
        "#wikilink-pages option[value='Accueil']", state="attached"
    )
    field.fill("Accueil")
    dialog.get_by_role("button", name="Insérer").click()
    # The dialog's "close" event, which inserts the link, comes in a later task than the click.
    # An arrow function, not an expression: Playwright evaluates an expression again at each poll with
    # eval(), which the wiki's Content-Security-Policy refuses.
    page.wait_for_function("() => window.trousseEditor.value().includes('[[')")
    assert page.evaluate("window.trousseEditor.value()") == "# Barre\n\n**mot** voir [[Accueil]]\n"
    # Ctrl+Z undoes the link, the toolbar redoes it.
    page.keyboard.press("Control+z")
    assert "[[Accueil]]" not in page.evaluate("window.trousseEditor.value()")
    toolbar.get_by_role("button", name="Rétablir").click()
    assert page.evaluate("window.trousseEditor.value()") == "# Barre\n\n**mot** voir [[Accueil]]\n"
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(f"{base}/wiki/{path}")
    assert page.locator("main strong", has_text="mot").count() == 1
    assert page.locator("main a", has_text="Accueil").first.get_attribute("href") == "/wiki/home"
    assert overflow(page) <= 0


def test_live_preview_tab_on_phone_side_by_side_on_desktop(open_page, server, device):
    base, _data = server
    page = open_page()
    editor = open_editor(page, base, f"essais/apercu-{device}")
    editor.click()
    page.keyboard.type("# Aperçu vivant\n\nDu *texte* et [[Accueil]]\n")
    live = page.locator("#editor-live")
    if device == "phone":
        assert not live.is_visible()
        page.get_by_role("tab", name="Aperçu").click()
        assert not editor.is_visible()
    else:
        assert page.get_by_role("tab", name="Aperçu").is_hidden()
        box_editor, box_live = editor.bounding_box(), live.bounding_box()
        assert box_live["x"] > box_editor["x"] + box_editor["width"] - 1, "the preview is not beside the text"
    page.locator("#editor-live em", has_text="texte").wait_for()
    assert live.locator("a", has_text="Accueil").get_attribute("href") == "/wiki/home"
    if device == "phone":
        page.get_by_role("tab", name="Écrire").click()
        assert editor.is_visible() and not live.is_visible()
    assert overflow(page) <= 0


def test_drop_a_file_uploads_it_and_links_it(open_page, server, device):
    base, data = server
    path = f"essais/deposer-{device}"
    page = open_page()
    make_page(page, base, path, "# Déposer\n\n")
    open_editor(page, base, path)
    put_cursor(page, 2, 0)
    page.evaluate(
        """() => {
        const transfer = new DataTransfer();
        transfer.items.add(new File(['%PDF-1.4 essai'], 'Compte Rendu Été.pdf', {type: 'application/pdf'}));
        const target = document.querySelector('.CodeMirror-lines');
        const box = target.getBoundingClientRect();
        target.dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true,
                                                      clientX: box.left + 5, clientY: box.bottom - 5}));
    }"""
    )
    page.get_by_role("status").filter(has_text="compte-rendu-ete.pdf est joint").wait_for()
    assert "[Compte Rendu Été](compte-rendu-ete.pdf)" in page.evaluate("window.trousseEditor.value()")
    assert git(data / "wiki.git", "show", f"main:{path}/compte-rendu-ete.pdf") == "%PDF-1.4 essai"


def test_a_new_page_takes_a_dropped_document_before_its_first_save(open_page, server, device):
    base, data = server
    path = f"essais/neuve-{device}"
    page = open_page()
    open_editor(page, base, path)
    page.evaluate("text => window.trousseEditor.value(text)", "# Neuve\n\n")
    put_cursor(page, 2, 0)
    page.evaluate(
        """() => {
        const transfer = new DataTransfer();
        transfer.items.add(new File(['%PDF-1.4 essai'], 'Ordre du jour.pdf', {type: 'application/pdf'}));
        const target = document.querySelector('.CodeMirror-lines');
        const box = target.getBoundingClientRect();
        target.dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true,
                                                      clientX: box.left + 5, clientY: box.bottom - 5}));
    }"""
    )
    page.get_by_role("status").filter(has_text="ordre-du-jour.pdf sera joint à l’enregistrement de la page").wait_for()
    assert "[Ordre du jour](ordre-du-jour.pdf)" in page.evaluate("window.trousseEditor.value()")
    if device == "phone":
        page.get_by_role("tab", name="Aperçu").click()
    link = page.locator("#editor-live a", has_text="Ordre du jour")
    link.wait_for()
    assert link.get_attribute("href") == f"/api/v1/draft-files/{path}/ordre-du-jour.pdf"
    if device == "phone":
        page.get_by_role("tab", name="Écrire").click()
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(f"{base}/wiki/{path}")
    assert git(data / "wiki.git", "show", f"main:{path}/ordre-du-jour.pdf") == "%PDF-1.4 essai"
    assert git(data / "wiki.git", "show", "--format=", "--name-only", "main").split() == [
        f"{path}.md",
        f"{path}/ordre-du-jour.pdf",
    ]


def test_draft_comes_back_after_reload_and_goes_after_save(open_page, server, device):
    base, _data = server
    path = f"essais/brouillon-{device}"
    page = open_page()
    make_page(page, base, path, "# Brouillon\n\nDébut.\n")
    open_editor(page, base, path)
    page.evaluate("() => { document.querySelector('form.editor').dataset.draftDelay = '300'; }")
    put_cursor(page, 2, len("Début."))

    def whole_draft(response) -> bool:
        request = response.request
        return "/api/v1/drafts/" in response.url and request.method == "PUT" and "enregistrée." in (request.post_data or "")

    with page.expect_response(whole_draft):
        page.keyboard.type(" Suite non enregistrée.")
    # Another device of the same person (here a new tab) is offered the draft back.
    other = open_page()
    open_editor(other, base, path)
    offer = other.get_by_role("region", name=re.compile("Reprendre le brouillon du"))
    offer.wait_for()
    assert re.search(r"du \d{1,2} \w+ 20\d\d à \d{1,2}\sh\s\d\d\s\?", offer.inner_text()), offer.inner_text()
    offer.get_by_role("button", name="Reprendre le brouillon").click()
    assert other.evaluate("window.trousseEditor.value()") == "# Brouillon\n\nDébut. Suite non enregistrée.\n"
    other.get_by_role("button", name="Enregistrer").click()
    other.wait_for_url(f"{base}/wiki/{path}")
    # Saved: no draft is offered any more.
    open_editor(other, base, path)
    other.wait_for_load_state("networkidle")
    assert other.locator(".draft-offer").count() == 0


def test_leaving_with_unsaved_changes_asks_first(open_page, server, device):
    base, _data = server
    page = open_page()
    editor = open_editor(page, base, "home")
    editor.click()
    page.keyboard.type("x")
    asked = []

    def answer(dialog):
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", answer)
    page.evaluate("() => { document.querySelector('form.editor').dataset.draftDelay = '600000'; }")
    with pytest.raises(PlaywrightError):
        page.goto(f"{base}/", wait_until="commit")  # the person stays: the navigation is cancelled
    assert asked == ["beforeunload"]
    assert page.url.endswith("/edit/home")


def test_editor_is_accessible(open_page, server, device):
    base, _data = server
    page = open_page(bypass_csp=True)
    open_editor(page, base, "home")
    violations = axe_violations(page)
    assert not violations, describe(violations)
    # The wiki-link dialog too, open.
    page.get_by_role("toolbar", name="Mise en forme").get_by_role("button", name="Lien vers une page du wiki").click()
    violations = axe_violations(page)
    assert not violations, describe(violations)
    page.keyboard.press("Escape")
    # The dialog's "close" event (a task after Escape) gives the text back its focus: wait for it, or
    # it may come after the Tab below and take the focus back.
    page.wait_for_function("() => document.querySelector('.CodeMirror').contains(document.activeElement)")
    # Tab leaves the text for the next field: no keyboard trap.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "message" or page.evaluate(
        "!document.querySelector('.CodeMirror').contains(document.activeElement)"
    )


def test_french_letters_typed(open_page, server, device):
    base, _data = server
    page = open_page()
    editor = open_editor(page, base, f"essais/accents-{device}")
    editor.click()
    page.keyboard.type("Été à Noël, ça « va » !")
    assert page.evaluate("window.trousseEditor.value()") == "Été à Noël, ça « va » !"


def test_web_link_from_the_toolbar_and_screenshots(open_page, server, device, tmp_path):
    base, _data = server
    path = f"essais/lien-web-{device}"
    page = open_page()
    make_page(page, base, path, "# Lien\n\nnotre site\n")
    open_editor(page, base, path)
    page.evaluate("() => window.trousseEditor.codemirror.setSelection({line: 2, ch: 0}, {line: 2, ch: 10})")
    prompts = []

    def answer(dialog):
        prompts.append(dialog.message)
        dialog.accept("https://exemple.org/lieu")

    page.on("dialog", answer)
    page.get_by_role("toolbar", name="Mise en forme").get_by_role("button", name="Lien vers une adresse web").click()
    assert prompts == ["Adresse web du lien\u00a0:"]
    assert page.evaluate("window.trousseEditor.value()") == "# Lien\n\n[notre site](https://exemple.org/lieu)\n"
    if device == "phone":
        page.get_by_role("tab", name="Aperçu").click()
    page.locator("#editor-live a[href='https://exemple.org/lieu']").wait_for()
    shots = __import__("os").environ.get("TROUSSE_SCREENSHOTS")
    if shots:
        page.screenshot(path=f"{shots}/editor-{device}.png", full_page=False)


def test_keyboard_shortcuts_and_paste_upload(open_page, server, device):
    base, data = server
    path = f"essais/raccourcis-{device}"
    page = open_page()
    make_page(page, base, path, "# Raccourcis\n\nmot\n")
    open_editor(page, base, path)
    put_cursor(page, 2, 0)
    page.evaluate("() => window.trousseEditor.codemirror.setSelection({line: 2, ch: 0}, {line: 2, ch: 3})")
    page.keyboard.press("Control+b")
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    # A pasted screenshot is attached under a dated name and shown as an image.
    page.evaluate(
        """() => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10])], 'image.png', {type: 'image/png'}));
        const input = window.trousseEditor.codemirror.getInputField();
        input.dispatchEvent(new ClipboardEvent('paste', {clipboardData: transfer, bubbles: true, cancelable: true}));
    }"""
    )
    page.get_by_role("status").filter(has_text="est joint").wait_for()
    text = page.evaluate("window.trousseEditor.value()")
    match = re.fullmatch(r"# Raccourcis\n\n\*\*mot\*\*\n\n!\[image\]\((image-\d{14}\.png)\)\n", text)
    assert match, text
    assert git(data / "wiki.git", "ls-tree", "--name-only", "main", f"{path}/").strip().endswith(match.group(1))
