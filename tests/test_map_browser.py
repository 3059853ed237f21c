"""The map of places in Chromium, tiles blocked as offline: markers drawn, popups leading to the pages, axe clean."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from browser_support import (
    api_token,
    axe_script,
    axe_violations,
    describe,
    launched_browser,
    overflow,
    running_wiki,
    save_over_http,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DEVICES = {
    "phone": {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}
PLACES = {
    "lieux/la-fabrique": (
        "La Fabrique <b>du</b> Médoc",
        "modele: lieu\ncommune: Pauillac\nlatitude: 45.1989\nlongitude: -0.7486",
    ),
    "lieux/le-relais": ("Le Relais", "modele: lieu\ncommune: Lesparre-Médoc\nlatitude: 45.3106\nlongitude: -0.9358"),
    "loyers/loyer-a-hourtin": ("Loyer à Hourtin", "modele: fiche-loyer\ncommune: Hourtin\nlat: 45.1856\nlon: -1.0586"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory, initialised_template):
    axe_script()
    with running_wiki(tmp_path_factory.mktemp("map"), initialised_template) as (base, data):
        token = api_token(data)
        for path, (title, fields) in PLACES.items():
            markdown = f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\n{fields}\n---\n\n# {title}\n"
            assert save_over_http(base, token, path, markdown) in (200, 201)
        yield base


@pytest.fixture(scope="module")
def browser(server):
    with launched_browser() as instance:
        yield instance


def offline_context(browser, base: str, device: str, *, bypass_csp: bool = False):
    """A French context where every request leaving the wiki fails, as with no network; the refused ones are kept."""
    context = browser.new_context(locale="fr-FR", bypass_csp=bypass_csp, **DEVICES[device])
    context.refused = []
    local = urlsplit(base).netloc

    def route(route):
        if urlsplit(route.request.url).netloc == local:
            route.continue_()
        else:
            context.refused.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    return context


@pytest.mark.parametrize("device", list(DEVICES))
def test_places_on_the_map_without_tiles(device, browser, server, tmp_path_factory):
    shots = tmp_path_factory.getbasetemp()
    context = offline_context(browser, server, device)
    page = context.new_page()
    problems = []
    page.on(
        "console", lambda message: problems.append(message.text) if message.type == "error" and "Policy" in message.text else None
    )
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(server + "/map")
    markers = page.locator("#places-map .leaflet-marker-icon.map-marker")
    markers.first.wait_for()
    assert markers.count() == 3
    names = sorted(markers.nth(index).get_attribute("aria-label") for index in range(3))
    assert names == ["La Fabrique <b>du</b> Médoc", "Le Relais", "Loyer à Hourtin"]  # titles as text, never as HTML
    map_box = page.locator("#places-map").bounding_box()
    for index in range(3):
        box = markers.nth(index).bounding_box()
        assert map_box["x"] <= box["x"] and box["x"] + box["width"] <= map_box["x"] + map_box["width"], "a marker is off the map"
        assert map_box["y"] <= box["y"] and box["y"] + box["height"] <= map_box["y"] + map_box["height"], (
            "a marker is off the map"
        )
    # The tiles were asked of the tile server, refused as offline: the points show on the plain background all the same.
    assert any(url.startswith("https://tile.openstreetmap.org/") for url in context.refused)
    assert page.locator(".map-credits a[href='https://www.openstreetmap.org/copyright']").is_visible()
    assert overflow(page) <= 0
    page.screenshot(path=str(shots / f"map-{device}.png"))

    # A marker opens a popup whose link leads to the page.
    page.get_by_role("button", name="Le Relais").click()
    link = page.locator(".leaflet-popup-content a")
    link.wait_for()
    assert link.inner_text() == "Le Relais"
    assert page.locator(".leaflet-popup-close-button").get_attribute("aria-label") == "Fermer"
    link.click()
    page.wait_for_url(server + "/wiki/lieux/le-relais")

    # The fiche shows where it is on its small map.
    fiche_marker = page.locator(".fiche-map .leaflet-marker-icon.map-marker")
    fiche_marker.wait_for()
    assert fiche_marker.get_attribute("aria-label") == "Le Relais"
    assert overflow(page) <= 0
    assert not problems, "\n".join(problems)
    context.close()


@pytest.mark.parametrize("device", list(DEVICES))
def test_the_map_and_a_fiche_are_accessible(device, browser, server):
    context = offline_context(browser, server, device, bypass_csp=True)  # axe is added to the page as a script
    page = context.new_page()
    for path, ready in (("/map?folder=lieux", "#places-map .map-marker"), ("/wiki/lieux/la-fabrique", ".fiche-map .map-marker")):
        page.goto(server + path)
        page.locator(ready).first.wait_for()
        assert not (violations := axe_violations(page)), describe(violations)
    # The filter keeps the places of one collection; the list names them all for those who do not see the map.
    page.goto(server + "/map?folder=lieux")
    assert page.locator(".places-list li").count() == 2
    page.get_by_role("link", name="Passer la carte, aller à la liste des lieux").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#places-list-title"
    context.close()
