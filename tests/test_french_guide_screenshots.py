"""The pictures of the guide "Modifier une page" are taken here, in Chromium, on a computer and on a phone.

Each run opens the editor as an editor would and takes the pictures again, so
the flow they show keeps working. With ``TROUSSE_UPDATE_SCREENSHOTS=1`` they
are written over the starter's copies (``wiki/starter/aide/modifier-une-page/``),
to be committed after a change of the editor; otherwise the test checks that
the guide shows each of them and that the copies are the pictures it takes
(same kind and size), so a missing or stray picture is noticed.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
from browser_support import VIEWPORTS, launched_browser, log_in, running_wiki

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GUIDE = Path(__file__).resolve().parents[1] / "wiki" / "starter" / "aide" / "modifier-une-page.md"
PICTURES = GUIDE.with_suffix("")
EXAMPLE = (
    "# Animer un repair café\n\n"
    "Un **repair café** réunit chaque mois des bénévoles qui aident à réparer.\n\n"
    "## Ce qu'il faut prévoir\n\n"
    "- une salle avec des tables\n"
    "- des outils et du café\n\n"
    "> « On répare ensemble, on apprend ensemble. »\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory, initialised_template):
    with running_wiki(tmp_path_factory.mktemp("guide"), initialised_template) as started:
        yield started


@pytest.fixture(scope="module")
def browser():
    with launched_browser() as instance:
        yield instance


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_the_guide_shows_the_editor_as_it_is(browser, server, device, tmp_path):
    base, _data = server
    context = browser.new_context(locale="fr-FR", **VIEWPORTS[device])
    try:
        page = context.new_page()
        log_in(page, base, "camille")
        # A page per device: the draft typed on one would be offered back on the other.
        page.goto(base + f"/edit/guides/animer-un-repair-cafe-{device}?title=Animer un repair café")
        page.wait_for_load_state("domcontentloaded")
        heading = page.get_by_role("heading", level=1)
        assert "Animer un repair café" in heading.inner_text()
        if page.evaluate("() => window.trousseEditor !== undefined"):
            page.evaluate("text => window.trousseEditor.value(text)", EXAMPLE)
        else:
            page.locator("#markdown").fill(EXAMPLE)
        page.get_by_label("Résumé de votre modification", exact=False).fill("Première version du guide")
        page.wait_for_timeout(800)  # the live preview follows the text after a short pause
        page.evaluate("() => window.scrollTo(0, 0)")
        name = f"editeur-{'telephone' if device == 'phone' else 'ordinateur'}.png"
        taken = page.screenshot(path=str(tmp_path / name), animations="disabled")  # what the window shows first
    finally:
        context.close()
    assert f"]({name})" in GUIDE.read_text(encoding="utf-8"), f"the guide does not show {name}"
    kept = PICTURES / name
    if os.environ.get("TROUSSE_UPDATE_SCREENSHOTS"):
        PICTURES.mkdir(exist_ok=True)
        kept.write_bytes(taken)
    assert kept.exists(), f"{kept.name} is missing: run this test with TROUSSE_UPDATE_SCREENSHOTS=1"
    width, _height = png_size(kept.read_bytes())
    assert width == png_size(taken)[0], f"{kept.name} was not taken at the {device} size: take it again"
