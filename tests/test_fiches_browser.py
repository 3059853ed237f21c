"""A person who knows neither Markdown nor YAML creates a lease fiche through its form, on a phone and a desktop."""

from __future__ import annotations

import pytest
from browser_support import VIEWPORTS, axe_script, axe_violations, describe, launched_browser, log_in, overflow, running_wiki
from conftest import git

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def fiche_violations(page) -> list[dict]:
    """axe's serious and critical violations, less the live preview's scrolling (the editor's, checked by its own tests).

    A fiche's text is long enough for the preview beside the editor to scroll,
    which axe wants reachable by keyboard; that region is the editor's part.
    """
    return [
        violation
        for violation in axe_violations(page)
        if not (
            violation["id"] == "scrollable-region-focusable"
            and all(node["target"] == ["#editor-live"] for node in violation["nodes"])
        )
    ]


@pytest.fixture(scope="module")
def server(tmp_path_factory, initialised_template):
    axe_script()
    with running_wiki(tmp_path_factory.mktemp("fiches"), initialised_template) as started:
        yield started


@pytest.fixture(scope="module")
def browser(server):
    with launched_browser() as instance:
        yield instance


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_create_a_fiche_through_its_form(device, browser, server):
    base, data = server
    context = browser.new_context(locale="fr-FR", bypass_csp=True, **VIEWPORTS[device])  # axe is added as a script
    page = context.new_page()
    log_in(page, base)
    title = f"Loyer de la maison des associations ({device})"
    path = f"loyers/loyer-de-la-maison-des-associations-{device}"

    page.goto(base + "/new")
    page.get_by_label("Titre de la page").fill(title)
    page.get_by_label("Partir d’un modèle").select_option("fiche-loyer")
    page.get_by_role("button", name="Continuer").click()
    page.wait_for_url(f"{base}/edit/{path}?*")  # the template's folder, without choosing it

    form = page.get_by_role("group", name="Fiche : Fiche loyer (expérience de bail avec une commune)")
    assert form.is_visible()
    assert not (violations := fiche_violations(page)), describe(violations)
    assert overflow(page) <= 0

    # A first try forgets the commune and writes the surface in words: refused, with the reason beside each field.
    form.get_by_label("Surface louée").fill("85")
    form.get_by_label("Loyer mensuel hors charges").fill("150")
    form.get_by_label("Type de bail").select_option("convention d'occupation précaire")
    form.get_by_label("Date de début").fill("2026-01-15")
    form.get_by_label("Code postal").fill("3399")
    page.locator("button[value=save]").click()
    page.wait_for_load_state()
    commune = page.get_by_role("textbox", name="Commune (obligatoire)")
    assert commune.get_attribute("aria-invalid") == "true"
    assert page.locator("#champ-commune-erreur").inner_text() == "Ce champ est obligatoire."
    assert "cinq chiffres" in page.locator("#champ-code_postal-erreur").inner_text()
    assert page.get_by_label("Surface louée").input_value() == "85"  # nothing typed is lost
    assert not (violations := fiche_violations(page)), describe(violations)

    commune.fill("Hourtin")
    page.get_by_label("Code postal").fill("33990")
    page.locator("button[value=save]").click()
    page.wait_for_url(f"{base}/wiki/{path}")

    box = page.locator("section.fiche-box")
    assert box.get_by_role("heading").inner_text() == "Fiche loyer (expérience de bail avec une commune)"
    rows = dict(zip(box.locator("dt").all_inner_texts(), box.locator("dd").all_inner_texts(), strict=True))
    assert rows["Commune"] == "Hourtin" and rows["Code postal"] == "33990"
    assert rows["Surface louée"] == "85 m²" and rows["Loyer mensuel hors charges"] == "150 €"
    assert rows["Date de début"] == "15 janvier 2026"
    assert rows["Type de bail"] == "convention d'occupation précaire"
    assert not (violations := fiche_violations(page)), describe(violations)
    assert overflow(page) <= 0

    markdown = git(data / "wiki.git", "show", f"main:{path}.md")
    assert "modele: fiche-loyer\n" in markdown and "commune: Hourtin\n" in markdown and "surface_m2: 85\n" in markdown
    assert "date_debut: 2026-01-15\n" in markdown and "code_postal: '33990'\n" in markdown
    context.close()
