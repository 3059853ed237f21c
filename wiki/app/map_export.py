"""The map of places in the static copy: ``map.html`` with Leaflet and the list of places, links relative.

The copy opens from a USB stick: Leaflet, ``map.js`` and ``map.css`` are
copied beside the pages, the places' list works without JavaScript, and
tiles are fetched from ``map.tiles_url`` only when a network is there.
"""

from __future__ import annotations

import shutil
import urllib.parse
from pathlib import Path

from babel.numbers import get_decimal_symbol
from flask import render_template
from flask_babel import get_locale
from flask_babel import gettext as _

from repo_store.catalog import PageRecord

from .page_templates import template_declarations
from .places import MAX_PLACES, coordinates_text, find_places, map_settings
from .service import Wiki

STATIC = Path(__file__).parent.parent / "static"


def export_map(wiki: Wiki, records: list[PageRecord], out: Path) -> bool:
    """Write ``OUT/map.html`` and its scripts when some page has coordinates; say whether it did.

    Runs inside the export's request context (for the templates and the language).
    """
    found = find_places(records, template_declarations(wiki.catalog), limit=MAX_PLACES)
    if not found.places:
        return False
    shutil.copytree(STATIC / "vendor" / "leaflet", out / "static" / "vendor" / "leaflet", dirs_exist_ok=True)
    for name in ("map.js", "map.css"):
        shutil.copyfile(STATIC / name, out / "static" / name)
    shown = sorted(found.places, key=lambda place: (place.title.casefold(), place.path))
    rows = [
        (
            place,
            urllib.parse.quote(place.path + ".html"),
            coordinates_text(place.latitude, place.longitude, get_decimal_symbol(get_locale())),
        )
        for place in shown
    ]
    site = wiki.settings["site"]
    html = render_template(
        "export_map.html",
        language=site["language"],
        site_name=site["name"],
        found=found,
        rows=rows,
        data={
            "settings": map_settings(wiki.settings["map"], _),
            "points": [[p.latitude, p.longitude, p.title, href] for p, href, _c in rows],
        },
    )
    (out / "map.html").write_text(html, encoding="utf-8")
    return True
