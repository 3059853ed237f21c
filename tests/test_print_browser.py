"""Printing a page from Chromium, on a desktop and a phone: the text and its credits, without the interface.

The print style sheet hides the header, menus, sidebar, breadcrumbs, buttons
and site footer; links to other sites print their address after their text;
the authors, the licence and the ready-to-paste attribution stay at the foot.
Checked with the browser in print mode (``emulate_media``), with axe-core, and
by printing to PDF.
"""

from __future__ import annotations

import io
import re
import urllib.request

import pytest
from browser_support import api_token, axe_script, axe_violations, describe, launched_browser, running_wiki, save_over_http
from pypdf import PdfReader

pytestmark = pytest.mark.browser

PAGE = "guides/imprimer-un-guide"
MARKDOWN = """# Imprimer un guide

Les démarches sont décrites sur [Service-public.fr](https://www.service-public.fr/associations).
Voir aussi [[Se former autrement]].
"""
SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True},
}
CHROME = [
    ".site-header",
    "nav.breadcrumbs",
    "#site-sidebar",
    ".page-actions",
    ".site-footer",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory, initialised_template):
    axe_script()
    with running_wiki(tmp_path_factory.mktemp("print"), initialised_template) as (base, data):
        assert save_over_http(base, api_token(data), PAGE, MARKDOWN) == 201
        yield base, data


@pytest.fixture(scope="module")
def browser(server):
    with launched_browser() as instance:
        yield instance


@pytest.mark.parametrize("device", list(SIZES))
def test_a_page_prints_its_text_and_credits_without_the_interface(browser, server, device):
    base, _data = server
    context = browser.new_context(locale="fr-FR", bypass_csp=True, **SIZES[device])
    try:
        page = context.new_page()
        page.goto(f"{base}/wiki/{PAGE}")
        # On screen, the interface is there (or the test would prove nothing)…
        assert page.locator(".site-header").is_visible() and page.locator(".site-footer").is_visible()
        page.emulate_media(media="print")
        # …printed, it is not.
        for selector in CHROME:
            for element in page.locator(selector).all():
                assert not element.is_visible(), f"{selector} is printed"
        assert page.get_by_role("heading", level=1, name="Imprimer un guide").is_visible()
        # A link to another site prints its address; a link inside the wiki does not need one.
        outside = page.locator(".page-content a[href^='https://www.service-public.fr']")
        after = outside.evaluate("a => getComputedStyle(a, '::after').content")
        assert after == '" (https://www.service-public.fr/associations)"'
        inside = page.locator(".page-content a", has_text="Se former autrement")
        assert inside.evaluate("a => getComputedStyle(a, '::after').content") in ("none", "normal")
        # The credits stay at the foot: authors, licence, the attribution to paste.
        footer = page.locator("footer.page-footer")
        assert footer.is_visible()
        assert (
            "Camille" in footer.inner_text()
            and "Creative Commons Attribution – Partage dans les mêmes conditions" in footer.inner_text()
        )
        assert page.locator("#attribution").is_visible()
        violations = axe_violations(page)
        assert not violations, describe(violations)
        # Printed to PDF by Chromium: the text, the address and the licence; not the menu.
        text = " ".join(page_.extract_text() for page_ in PdfReader(io.BytesIO(page.pdf(format="A4"))).pages)
        text = " ".join(text.split())
        assert "Imprimer un guide" in text and "https://www.service-public.fr/associations" in text
        assert "Camille" in text and "Creative Commons" in text
        assert "Toutes les pages" not in text and "Rechercher" not in text
    finally:
        context.close()


def test_the_print_sheet_is_linked_for_print_only(server):
    base, _data = server
    with urllib.request.urlopen(f"{base}/wiki/{PAGE}") as response:
        html = response.read().decode()
    assert re.search(r'<link rel="stylesheet" href="/static/print\.css[^"]*" media="print">', html)
