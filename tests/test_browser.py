"""The main flows in a real browser, against the real server started as a subprocess."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import PASSWORD, git
from editor_support import page_text

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    candidates = [os.environ.get("TROUSSE_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")]
    return next((c for c in candidates if c and Path(c).exists()), None)


@pytest.fixture(scope="module")
def browser():
    executable = find_chromium()
    if executable is None:
        if os.environ.get("TROUSSE_REQUIRE_BROWSER"):
            pytest.fail("TROUSSE_REQUIRE_BROWSER is set but no Chromium was found")
        pytest.skip("no Chromium installed (apt-get install chromium, or set TROUSSE_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


def log_in(page, base):
    page.goto(base + "/login")
    page.get_by_label("Nom d’utilisateur").fill("camille")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()


def test_create_and_edit_a_page_with_accents(browser, live_server):
    base, data = live_server
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    log_in(page, base)
    assert page.get_by_text("Camille Été").first.is_visible()

    page.goto(base + "/new")
    page.get_by_label("Titre de la page").fill("Élus & mairies : négocier un loyer")
    page.get_by_label("Dossier", exact=True).select_option("loyers")
    page.get_by_role("button", name="Continuer").click()
    assert page.url.startswith(base + "/edit/loyers/elus-mairies-negocier-un-loyer")
    editor = page_text(page)
    editor.fill("# Élus & mairies : négocier un loyer\n\nPremière version, rédigée à Lesparre-Médoc.\n")
    # The live preview, beside the text (the form's own preview button is for browsers without JavaScript).
    page.locator("#editor-live").get_by_text("Première version, rédigée à Lesparre-Médoc.").wait_for()
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(base + "/wiki/loyers/elus-mairies-negocier-un-loyer")
    assert page.locator("h1").inner_text() == "Élus & mairies : négocier un loyer"

    page.get_by_role("link", name="Modifier", exact=True).click()
    editor = page_text(page)
    editor.fill(editor.input_value() + "\n## Ce qui a été négocié\n\n- [x] loyer modéré\n- [ ] travaux\n")
    page.get_by_label("Résumé de votre modification (facultatif)").fill("Ajoute ce qui a été négocié")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(base + "/wiki/loyers/elus-mairies-negocier-un-loyer")
    assert page.get_by_role("heading", name="Ce qui a été négocié").is_visible()
    assert page.locator("input[type=checkbox][checked]").count() == 1

    log = git(data / "wiki.git", "log", "-2", "--format=%an|%s").strip().splitlines()
    assert log == ["Camille Été|Ajoute ce qui a été négocié", "Camille Été|Crée « Élus & mairies : négocier un loyer »"]
    context.close()


def test_the_site_works_on_a_phone_and_in_english(browser, live_server):
    base, _data = live_server
    context = browser.new_context(locale="en-GB", viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(base + "/wiki/home")
    assert page.locator("html").get_attribute("lang") == "en"
    assert not page.get_by_role("link", name="All pages").is_visible(), "folded behind the Menu button"
    page.get_by_text("Menu", exact=True).click()
    assert page.get_by_role("link", name="All pages").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
    page.get_by_role("link", name="Français").click()
    assert page.locator("html").get_attribute("lang") == "fr"
    context.close()


def test_search_from_the_keyboard(browser, live_server):
    base, _data = live_server
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(base + "/wiki/home")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "site-search"
    page.keyboard.type("nouriciers")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    # Nothing has the typed word: the corrected one is searched at once, and the page says so.
    assert page.locator(".suggestion em").inner_text() == "nourriciers"
    assert "nourriciers" in page.locator(".results .snippet mark").first.inner_text().lower()
    page.locator(".results h2 a", has_text="Tiers-lieux nourriciers").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Tiers-lieux nourriciers"
    context.close()


def test_edit_twice_compare_and_restore_the_first(browser, live_server):
    base, data = live_server
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    log_in(page, base)
    for text in ("Première rédaction du guide.", "Seconde rédaction, bien différente."):
        page.goto(base + "/edit/guides/historique")
        page_text(page).fill(f"# Historique\n\n{text}\n")
        page.get_by_role("button", name="Enregistrer").click()
        page.wait_for_url(base + "/wiki/guides/historique")
    page.get_by_role("link", name="Historique", exact=True).click()
    page.wait_for_load_state()
    assert page.locator("table.history tbody tr").count() == 2
    page.get_by_role("button", name="Comparer les révisions choisies").click()
    page.wait_for_load_state()
    assert page.locator("table.diff del").first.is_visible()
    assert "Seconde" in page.locator("table.diff ins").first.inner_text()
    page.get_by_role("button", name="Restaurer la révision").click()
    page.wait_for_url(base + "/wiki/guides/historique")
    assert page.get_by_text("Première rédaction du guide.").is_visible()
    subjects = git(data / "wiki.git", "log", "-3", "--format=%s").strip().splitlines()
    assert subjects[0].startswith("Restaure « Historique » à la révision ")
    assert len(git(data / "wiki.git", "rev-list", "main").split()) == 4
    context.close()


def test_document_a_lease_attach_the_agreement_and_download_the_csv(browser, live_server, tmp_path):
    base, _data = live_server
    context = browser.new_context(locale="fr-FR", accept_downloads=True)
    page = context.new_page()
    log_in(page, base)
    page.goto(base + "/new")
    page.get_by_label("Titre de la page").fill("Loyer de la maison des associations de Hourtin")
    page.get_by_label("Dossier", exact=True).select_option("loyers")
    page.get_by_label("Partir d’un modèle").select_option("fiche-loyer")
    page.get_by_role("button", name="Continuer").click()
    editor = page_text(page)
    text = editor.input_value()
    for field, value in (
        ("commune", '"Hourtin"'),
        ("surface_m2", "85"),
        ("loyer_mensuel_eur", "150"),
        ("type_de_bail", '"convention d\'occupation précaire"'),
    ):
        text = "\n".join(f"{field}: {value}" if line.startswith(f"{field}:") else line for line in text.split("\n"))
    editor.fill(text)
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(base + "/wiki/loyers/loyer-de-la-maison-des-associations-de-hourtin")
    agreement = tmp_path / "Convention signée.pdf"
    agreement.write_bytes(b"%PDF-1.4\n% convention\n%%EOF\n")
    page.get_by_label(re.compile("Joindre un document")).set_input_files(str(agreement))
    page.get_by_role("button", name="Joindre", exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name="convention-signee.pdf", exact=True).is_visible()
    page.goto(base + "/collections/loyers")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV", exact=True).click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    row = next(r for r in rows if r["path"] == "loyers/loyer-de-la-maison-des-associations-de-hourtin")
    assert (row["commune"], row["surface_m2"], row["loyer_mensuel_eur"], row["licence"]) == ("Hourtin", "85", "150", "CC0-1.0")
    context.close()
