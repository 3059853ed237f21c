"""``/map``: the wiki's places on a map, and the same places as a plain list of links.

The list is the page: it works without JavaScript, on a phone and with a
screen reader. ``map.js`` draws the map from the points handed over in a
``<script type="application/json">`` block (never written into a script),
with Leaflet vendored under ``static/vendor/leaflet``. Tiles come from
``map.tiles_url``; when none load, the points still show on a plain
background.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from babel.numbers import get_decimal_symbol
from flask import Blueprint, Flask, current_app, make_response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _

from ..app import places
from ..app.config import tiles_origin
from ..app.page_templates import template_declarations
from .auth import settings, wiki

blueprint = Blueprint("map", __name__)

_IMG_SRC = re.compile(r"img-src [^;]*")
# Longest folder or tag read from the query string: anything longer matches nothing anyway.
_MAX_FILTER = 200


def content_policy(base_policy: str, tiles_url: str) -> str:
    """The pages' policy with the tile server's origin added to ``img-src`` (the default allows any https)."""
    origin = tiles_origin(tiles_url) if tiles_url else None
    return _IMG_SRC.sub(lambda found: f"{found.group(0)} {origin}", base_policy, count=1) if origin else base_policy


def map_policy(base_policy: str, tiles_url: str) -> str:
    """``/map``'s policy: images from the wiki itself and from the tile server's host, nothing else."""
    origin = tiles_origin(tiles_url) if tiles_url else None
    return _IMG_SRC.sub("img-src 'self'" + (f" {origin}" if origin else ""), base_policy, count=1)


def map_settings() -> dict[str, Any]:
    """What ``map.js`` needs besides the points, in the visitor's language."""
    return places.map_settings(settings()["map"], _)


@blueprint.route("/map")
def places_map() -> ResponseReturnValue:
    folder = request.args.get("folder", "").strip().strip("/")[:_MAX_FILTER]
    tag = request.args.get("tag", "").strip()[:_MAX_FILTER]
    catalog = wiki().catalog
    found = places.find_places(
        catalog.pages(templates=False), template_declarations(catalog), folder=folder, tag=tag, limit=places.MAX_PLACES
    )
    shown = sorted(found.places, key=lambda place: (place.title.casefold(), place.path))
    prefix = url_for("pages.view", path="-")[:-1]  # one url_for, not thousands: page paths are plain slugs
    symbol = get_decimal_symbol(get_locale())
    rows = [
        (place, prefix + quote(place.path), places.coordinates_text(place.latitude, place.longitude, symbol)) for place in shown
    ]
    points = [[place.latitude, place.longitude, place.title, href] for place, href, _text in rows]
    response = make_response(
        render_template(
            "map.html",
            found=found,
            rows=rows,
            folder=folder,
            tag=tag,
            data={"settings": map_settings(), "points": points},
        )
    )
    tiles = str(settings()["map"]["tiles_url"])
    response.headers["Content-Security-Policy"] = map_policy(current_app.config["TROUSSE_CONTENT_POLICY"], tiles)
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
    app.jinja_env.globals.update(map_settings=map_settings, decimal_text=format_decimal)
