"""A manager who has never seen Markdown, on a phone and on a desktop, from a blank fiche to a draft found again.

One journey, step after step, as a person would do it in Chromium: log in,
make a lease fiche from its template with the form, add a photo with the
upload button before the first save, make a phrase bold with the toolbar,
save and see the fiche box and the photo; then settle a conflict with a
colleague with the buttons; then close the tab in the middle of a change and
find the draft again. Each step is checked on the visible French text and on
what git holds, and every page visited is checked with axe-core.
"""

from __future__ import annotations

import re
import struct
import zlib

import pytest
from browser_support import ADMIN, axe_script, axe_violations, describe, launched_browser, log_in, overflow, running_wiki
from conftest import git

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DEVICES = {
    "phone": {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}
TEMPLATE_LABEL = "Fiche loyer (expérience de bail avec une commune)"


def png(width: int = 24, height: int = 16) -> bytes:
    """A real (tiny, orange) PNG, so that the browser can draw it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\xe0\x80\x20" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def server(tmp_path_factory, initialised_template):
    axe_script()
    with running_wiki(tmp_path_factory.mktemp("journey"), initialised_template) as started:
        yield started


@pytest.fixture(scope="module")
def browser(server):
    with launched_browser() as instance:
        yield instance


def clean(page, where: str) -> None:
    """axe's serious and critical violations on this page: none."""
    violations = axe_violations(page)
    assert not violations, f"{where}:\n{describe(violations)}"


def plain(text: str) -> str:
    """French typography's non-breaking spaces read as spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def image_drawn(locator) -> bool:
    locator.wait_for()
    return locator.evaluate("img => img.complete && img.naturalWidth > 0")


def text_of(page) -> str:
    return page.evaluate("window.trousseEditor.value()")


def open_editor(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("() => window.trousseEditor !== undefined")


@pytest.mark.parametrize("device", list(DEVICES))
def test_a_manager_makes_a_fiche_with_a_photo_settles_a_conflict_and_finds_a_draft(device, browser, server, tmp_path):
    base, data = server
    repo = data / "wiki.git"
    errors: list[str] = []
    contexts = []

    def person(name: str):
        # axe-core is added to the page as a script: the context bypasses the CSP for it.
        context = browser.new_context(locale="fr-FR", bypass_csp=True, **DEVICES[device])
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        log_in(page, base, name)
        return context, page

    def shot(page, name: str) -> None:
        page.screenshot(path=str(tmp_path / f"{device}-{name}.png"), full_page=True)

    try:
        # -- 1. A new fiche from its template, filled in through the form ----------------------
        camille_context, page = person("camille")
        clean(page, "after logging in")
        title = f"Local de la rue des Écoles ({device})"
        path = f"loyers/local-de-la-rue-des-ecoles-{device}"
        page.goto(base + "/new")
        clean(page, "Nouvelle page")
        page.get_by_label("Titre de la page").fill(title)
        page.get_by_label("Partir d’un modèle").select_option("fiche-loyer")
        page.get_by_role("button", name="Continuer").click()
        page.wait_for_url(f"{base}/edit/{path}?*")
        page.wait_for_function("() => window.trousseEditor !== undefined")
        assert plain(page.get_by_role("heading", level=1).inner_text()) == f"Nouvelle page : « {title} »"

        form = page.get_by_role("group", name=f"Fiche : {TEMPLATE_LABEL}")
        form.get_by_label("Commune (obligatoire)").fill("Hourtin")
        form.get_by_label("Code postal").fill("33990")
        form.get_by_label("Surface louée").fill("85")
        form.get_by_label("Loyer mensuel hors charges").fill("150")
        form.get_by_label("Type de bail").select_option("convention d'occupation précaire")

        # One way to see the preview: a tab on a phone, beside the text on a desktop; no second "Aperçu" button.
        assert page.locator("button[type=submit][value=preview]").is_hidden()
        preview_tab = page.get_by_role("tab", name="Aperçu")
        assert preview_tab.is_visible() == (device == "phone")

        # -- 2. A photo, before the page was ever saved, with the upload button ---------------
        photo = tmp_path / "Photo du local.png"
        photo.write_bytes(png())
        page.evaluate("() => { const cm = window.trousseEditor.codemirror; cm.focus(); cm.setCursor(cm.lineCount(), 0); }")
        page.get_by_label(re.compile("^Ajouter une photo ou un document")).set_input_files(str(photo))
        page.get_by_role("status").filter(has_text="photo-du-local.png sera joint à l’enregistrement de la page").wait_for()
        assert "![Photo du local](photo-du-local.png)" in text_of(page)
        assert page.locator(".pending-files").get_by_role("button", name="Ne pas joindre photo-du-local.png").is_visible()
        # Nothing in git yet for this page (the other viewport's run made its own page and photo).
        assert f"{path}/photo-du-local" not in git(repo, "ls-tree", "-r", "--name-only", "main", "loyers/")

        # -- 3. Bold with the toolbar: type a phrase, select it, press "Gras" -----------------
        page.keyboard.press("Enter")
        page.keyboard.type("Un local lumineux")
        page.keyboard.press("Shift+Home")
        page.get_by_role("toolbar", name="Mise en forme").get_by_role("button", name="Gras").click()
        assert text_of(page).rstrip().endswith("**Un local lumineux**")

        # The preview shows the waiting photo and the bold phrase.
        if device == "phone":
            preview_tab.click()
        live = page.locator("#editor-live")
        live.locator("strong", has_text="Un local lumineux").wait_for()
        assert image_drawn(live.locator("img[alt='Photo du local']"))
        clean(page, "the editor of a new fiche")
        assert overflow(page) <= 0
        shot(page, "1-editor")
        if device == "phone":
            page.get_by_role("tab", name="Écrire").click()

        # -- 4. Saved: the fiche box and the photo; page and photo in one commit -------------
        page.get_by_role("button", name="Enregistrer").click()
        page.wait_for_url(f"{base}/wiki/{path}")
        assert page.get_by_text("Enregistré.", exact=True).first.is_visible()
        box = page.locator("section.fiche-box")
        assert box.get_by_role("heading").first.inner_text() == TEMPLATE_LABEL
        rows = dict(zip(box.locator("dt").all_inner_texts(), box.locator("dd").all_inner_texts(), strict=False))
        assert rows["Commune"] == "Hourtin" and rows["Surface louée"] == "85 m²" and rows["Loyer mensuel hors charges"] == "150 €"
        assert image_drawn(page.locator(f"main img[src='/files/{path}/photo-du-local.png']"))
        assert page.locator("main strong", has_text="Un local lumineux").is_visible()
        clean(page, "the saved fiche")
        assert overflow(page) <= 0
        shot(page, "2-fiche")
        markdown = git(repo, "show", f"main:{path}.md")
        assert "modele: fiche-loyer\n" in markdown and "commune: Hourtin\n" in markdown and "surface_m2: 85\n" in markdown
        assert "**Un local lumineux**" in markdown and "![Photo du local](photo-du-local.png)" in markdown
        created = git(repo, "log", "--format=%H", "main", "--", f"{path}.md").split()
        assert created == git(repo, "log", "--format=%H", "main", "--", f"{path}/photo-du-local.png").split()
        assert len(created) == 1, "the page and its photo are one commit"

        # -- 5. A colleague changes the same line meanwhile; the buttons settle it ------------
        open_editor(page, f"{base}/edit/{path}")
        _colleague_context, colleague = person(ADMIN)
        open_editor(colleague, f"{base}/edit/{path}")
        theirs = text_of(colleague).replace("**Un local lumineux**", "**Un local sombre**")
        colleague.evaluate("text => window.trousseEditor.value(text)", theirs)
        colleague.get_by_role("button", name="Enregistrer").click()
        colleague.wait_for_url(f"{base}/wiki/{path}")

        mine = text_of(page).replace("**Un local lumineux**", "**Un local lumineux et calme**")
        page.evaluate("text => window.trousseEditor.value(text)", mine)
        page.get_by_role("button", name="Enregistrer").click()
        page.wait_for_load_state()
        passage = page.locator(".conflict-passage").first
        passage.wait_for()
        assert passage.get_by_text("Votre version").is_visible()
        assert re.fullmatch(
            r"La version enregistrée par Dominique Admin à \d\d:\d\d", passage.locator("figcaption").nth(1).inner_text()
        )
        assert "<<<<<<<" not in page.locator("main").inner_text()
        clean(page, "the conflict page")
        assert overflow(page) <= 0
        shot(page, "3-conflict")
        passage.get_by_label("Garder ma version").check()
        assert "Un local lumineux et calme" in passage.get_by_label("Texte retenu pour ce passage").input_value()
        page.get_by_role("button", name="Enregistrer").click()
        page.wait_for_url(f"{base}/wiki/{path}")
        assert page.locator("main strong", has_text="Un local lumineux et calme").is_visible()
        clean(page, "the page after the conflict")
        markdown = git(repo, "show", f"main:{path}.md")
        assert "**Un local lumineux et calme**" in markdown and "sombre" not in markdown and "<<<<<<<" not in markdown

        # -- 6. A change left unsaved when the tab closes comes back as a draft --------------
        open_editor(page, f"{base}/edit/{path}")
        page.evaluate("() => { document.querySelector('form.editor').dataset.draftDelay = '300'; }")
        page.get_by_role("group", name=f"Fiche : {TEMPLATE_LABEL}").get_by_label("Loyer mensuel hors charges").fill("180")
        with page.expect_response(
            lambda response: (
                "/api/v1/drafts/" in response.url
                and response.request.method == "PUT"
                and "à négocier" in (response.request.post_data or "")
            )
        ):
            page.evaluate("() => { const cm = window.trousseEditor.codemirror; cm.focus(); cm.setCursor(cm.lineCount(), 0); }")
            page.keyboard.type("\nLe bail reste à négocier.")
        page.close(run_before_unload=False)

        page = camille_context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        open_editor(page, f"{base}/edit/{path}")
        offer = page.get_by_role("region", name=re.compile("Reprendre le brouillon du"))
        offer.wait_for()
        assert re.search(r"Reprendre le brouillon du \d{1,2} \w+ 20\d\d à \d{1,2}\sh\s\d\d\s?\?", offer.inner_text())
        clean(page, "the editor offering the draft")
        shot(page, "4-draft")
        offer.get_by_role("button", name="Reprendre le brouillon").click()
        assert text_of(page).rstrip().endswith("Le bail reste à négocier.")
        form = page.get_by_role("group", name=f"Fiche : {TEMPLATE_LABEL}")
        assert form.get_by_label("Loyer mensuel hors charges").input_value() == "180"
        page.get_by_role("button", name="Enregistrer").click()
        page.wait_for_url(f"{base}/wiki/{path}")
        rows = dict(
            zip(
                page.locator("section.fiche-box dt").all_inner_texts(),
                page.locator("section.fiche-box dd").all_inner_texts(),
                strict=False,
            )
        )
        assert rows["Loyer mensuel hors charges"] == "180 €"
        markdown = git(repo, "show", f"main:{path}.md")
        assert "loyer_mensuel_eur: 180\n" in markdown and "Le bail reste à négocier." in markdown
        clean(page, "the fiche saved from its draft")
    finally:
        for context in contexts:
            context.close()
    assert not errors, "\n".join(errors)
