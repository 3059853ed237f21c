"""The map of places: ``/map`` and its list, the fiches' small maps, the tiles' policy and the static copy."""

from __future__ import annotations

import html
import json
import re

import pytest
from conftest import api_save

from wiki.app.config import ConfigError, load_settings

FRENCH = {"Accept-Language": "fr"}


def place(title: str, *, template: str | None = "lieu", tags: tuple[str, ...] = (), **fields: object) -> str:
    """A page's Markdown: a fiche made from ``template`` (or a plain page) with these front-matter keys."""
    front = {"title": title, **({"modele": template} if template else {}), **({"tags": list(tags)} if tags else {}), **fields}
    lines = "".join(f"{key}: {json.dumps(value, ensure_ascii=False)}\n" for key, value in front.items())
    return f"---\n{lines}---\n\n# {title}\n"


def map_data(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', page, re.S)
    assert found, "no map data in the page"
    return json.loads(found.group(1))


def listed(page: str) -> list[tuple[str, str]]:
    """The list of places under the map: (link, title), as a reader without JavaScript gets them."""
    items = re.search(r'<ul class="places-list">(.*?)</ul>', page, re.S)
    if items is None:
        return []
    return [(href, html.unescape(title)) for href, title in re.findall(r'<li><a href="([^"]+)">([^<]*)</a>', items.group(1))]


@pytest.fixture
def places(client, token):
    api_save(
        client,
        token,
        "lieux/la-fabrique",
        place("La Fabrique", commune="Pauillac", latitude=45.1989, longitude=-0.7486, tags=("fablab",)),
    )
    api_save(
        client, token, "lieux/le-relais", place("Le Relais", commune="Lesparre-Médoc", latitude="45,3106", longitude="-0,9358")
    )
    api_save(client, token, "guides/gare", place("La gare", template=None, lat=44.8261, lon=-0.5560, tags=("Fablab",)))
    return client


def test_places_come_from_declared_fields_and_from_lat_lon(places):
    page = places.get("/map", headers=FRENCH)
    assert page.status_code == 200
    points = {point[2]: (point[0], point[1], point[3]) for point in map_data(page.text)["points"]}
    assert points == {
        "La Fabrique": (45.1989, -0.7486, "/wiki/lieux/la-fabrique"),
        "Le Relais": (45.3106, -0.9358, "/wiki/lieux/le-relais"),  # typed with the fiche's rules: a decimal comma
        "La gare": (44.8261, -0.556, "/wiki/guides/gare"),
    }
    assert "3 lieux" in page.text


def test_the_list_works_without_javascript(places):
    page = places.get("/map", headers=FRENCH).text
    assert listed(page) == [
        ("/wiki/lieux/la-fabrique", "La Fabrique"),
        ("/wiki/guides/gare", "La gare"),
        ("/wiki/lieux/le-relais", "Le Relais"),
    ]
    assert '<span class="place-coordinates">45,3106 ; -0,9358</span>' in page
    # The map's box stays hidden until map.js draws in it: without a script, no empty frame.
    assert re.search(r'<div id="places-map"[^>]* hidden></div>', page)
    assert '<a href="/map">Carte</a>' in places.get("/wiki/home", headers=FRENCH).text  # in the site menu


def test_filters_by_folder_and_tag(places):
    by_folder = places.get("/map", query_string={"folder": "lieux"}, headers=FRENCH).text
    assert [title for _href, title in listed(by_folder)] == ["La Fabrique", "Le Relais"]
    assert re.search(r'<option value="lieux" selected>lieux \(2\)</option>', by_folder)
    by_tag = places.get("/map", query_string={"tag": "fablab"}, headers=FRENCH).text
    assert [title for _href, title in listed(by_tag)] == ["La Fabrique", "La gare"]  # tags compared without case
    both = places.get("/map", query_string={"folder": "lieux", "tag": "FABLAB"}, headers=FRENCH).text
    assert [title for _href, title in listed(both)] == ["La Fabrique"]
    assert [point[2] for point in map_data(both)["points"]] == ["La Fabrique"]
    none = places.get("/map", query_string={"folder": "nulle-part"}, headers=FRENCH)
    assert none.status_code == 200 and listed(none.text) == [] and "map-data" not in none.text


def test_hostile_titles_are_text_everywhere(client, token):
    hostile = "</script><script>alert(1)</script><img src=x onerror=alert(2)>\"'"
    api_save(client, token, "lieux/piege", place(hostile, commune="Cissac-Médoc", latitude=45.0, longitude=-0.5))
    page = client.get("/map").text
    block = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in block and ">" not in block  # nothing in the JSON can close the block or open a tag
    assert map_data(page)["points"][0][2] == hostile
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert listed(page) == [("/wiki/lieux/piege", hostile)]
    fiche = client.get("/wiki/lieux/piege").text
    assert 'data-title="&lt;/script&gt;&lt;script&gt;alert(1)' in fiche and "<script>alert(1)" not in fiche


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(95, 10), (45, 181), ("nord", 1), ([45, 1], 1), (True, 1), (".nan", 1), (None, 1), ("", "")],
    ids=["latitude-out-of-range", "longitude-out-of-range", "words", "list", "yes", "nan", "missing", "empty"],
)
def test_invalid_coordinates_are_left_off_the_map(client, token, latitude, longitude):
    # A plain page (the lieu template would refuse such values on save); its own lat/lon keys are read the same way.
    lat = ".nan" if latitude == ".nan" else json.dumps(latitude)
    markdown = f"---\ntitle: Ailleurs\nlat: {lat}\nlon: {json.dumps(longitude)}\n---\n# Ailleurs\n"
    api_save(client, token, "guides/ailleurs", markdown)
    page = client.get("/map").text
    assert listed(page) == [] and "map-data" not in page


def test_the_number_of_points_is_capped_and_said(places, monkeypatch):
    from wiki.app import places as place_rules

    monkeypatch.setattr(place_rules, "MAX_PLACES", 2)
    page = places.get("/map", headers=FRENCH).text
    assert len(listed(page)) == 2 and len(map_data(page)["points"]) == 2
    assert "3 lieux" in page and "seuls les 2 premiers sont affichés" in html.unescape(page)


def test_the_policy_allows_the_tiles_host(places):
    policy = places.get("/map").headers["Content-Security-Policy"]
    assert "img-src 'self' https://tile.openstreetmap.org;" in policy  # on the map, images from that host only
    assert "script-src 'self'" in policy
    page_policy = places.get("/wiki/lieux/la-fabrique").headers["Content-Security-Policy"]
    assert "https://tile.openstreetmap.org" in page_policy  # the fiche's small map


def test_a_tile_server_of_ones_own(app_factory):
    app = app_factory(
        {
            "storage": {"fsync": False},
            "map": {"tiles_url": "http://{s}.tuiles.example.org:8081/{z}/{x}/{y}.png", "attribution": "Tuiles maison"},
        }
    )
    response = app.test_client().get("/map")
    assert "img-src 'self' http://*.tuiles.example.org:8081;" in response.headers["Content-Security-Policy"]


def test_no_tiles_means_nothing_fetched(app_factory):
    app = app_factory({"storage": {"fsync": False}, "map": {"tiles_url": ""}})
    client = app.test_client()
    app.extensions["trousse.accounts"].add_user("camille", role="editor", password="correct horse battery")
    api_save(
        client,
        app.extensions["trousse.accounts"].create_token("camille", "t"),
        "guides/gare",
        place("Gare", template=None, lat=44.8, lon=-0.5),
    )
    response = client.get("/map")
    assert "img-src 'self';" in response.headers["Content-Security-Policy"]
    assert map_data(response.text)["settings"]["tiles"] == ""  # map.js draws the points on its plain background


@pytest.mark.parametrize(
    "url", ["ftp://tiles.example.org/{z}/{x}/{y}.png", "https://tiles.example.org/tile.png", "javascript:alert(1)//{z}{x}{y}"]
)
def test_an_unusable_tiles_url_is_refused(data_dir, url):
    with pytest.raises(ConfigError, match="tiles_url"):
        load_settings(data_dir, {"map": {"tiles_url": url}}, environ={})


def test_a_fiche_with_coordinates_shows_a_small_map(places, token):
    page = places.get("/wiki/lieux/le-relais", headers=FRENCH).text
    assert re.search(r'<div class="fiche-map"[^>]*data-latitude="45.3106" data-longitude="-0.9358"[^>]*hidden>', page)
    assert 'id="fiche-map-settings"' in page and "/static/map.js" in page
    assert '<a href="/map?folder=lieux">' in page  # without JavaScript: the coordinates in the box and this link
    # A fiche whose place is not filled in has no map.
    api_save(places, token, "lieux/sans", place("Sans", commune="Vertheuil"))
    assert "fiche-map" not in places.get("/wiki/lieux/sans").text


def test_the_static_copy_has_the_map_and_leaflet(places, app, tmp_path):
    from wiki.app.export import export_static_site

    out = tmp_path / "copie"
    export_static_site(app.extensions["trousse"], app, out)
    page = (out / "map.html").read_text(encoding="utf-8")
    assert listed(page) == [
        ("lieux/la-fabrique.html", "La Fabrique"),
        ("guides/gare.html", "La gare"),
        ("lieux/le-relais.html", "Le Relais"),
    ]
    assert [point[3] for point in map_data(page)["points"]] == [
        "lieux/la-fabrique.html",
        "guides/gare.html",
        "lieux/le-relais.html",
    ]
    for name in ("static/vendor/leaflet/leaflet.js", "static/vendor/leaflet/leaflet.css", "static/map.js", "static/map.css"):
        assert (out / name).is_file(), name
    for href in re.findall(r'(?:href|src)="([^"#:]+)"', page):
        assert (out / href).is_file(), href
    assert 'href="map.html"' in (out / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "query",
    [
        {"folder": "../../etc"},
        {"folder": "\x00"},
        {"tag": "<script>"},
        {"folder": "a" * 5000},
        {"tag": "é" * 3000, "folder": "/"},
    ],
    ids=["dots", "nul", "markup", "long-folder", "long-tag"],
)
def test_odd_filters_answer_an_empty_map(places, query):
    page = places.get("/map", query_string=query)
    assert page.status_code == 200
    assert "<script>" not in page.text.replace('<script type="application/json" id="map-data">', "")
