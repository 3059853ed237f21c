"""Places: the pages that have coordinates, for the map, found in the catalog in one pass.

A page is a place when the template it was made from declares a
``latitude`` and a ``longitude`` field and both hold valid values, or when
its front matter says ``lat`` and ``lon`` (or ``latitude`` and
``longitude``). Values are checked with the fiches' own rules, so a
coordinate the editor would refuse (out of range, not a number, a list) is
never drawn. The map stays bounded whatever the wiki's size: at most
``MAX_PLACES`` points are handed to the page, and it says so.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from repo_store.catalog import PageRecord

from .fiches import Declaration, Field, check_value, template_of

MAX_PLACES = 5_000
_ADDRESS = re.compile(r"https?://[^\s()<>]+")
# Front-matter keys read when no template declares the coordinates, in order of preference.
_KEY_PAIRS = (("lat", "lon"), ("latitude", "longitude"))


@dataclass(frozen=True)
class Place:
    path: str
    title: str
    latitude: float
    longitude: float

    @property
    def folder(self) -> str:
        return self.path.rsplit("/", 1)[0] if "/" in self.path else ""


@dataclass
class Places:
    """The places the filters kept (at most ``limit``), how many there were, and the choices of the filter form."""

    places: list[Place]
    total: int
    limit: int
    folders: list[tuple[str, int]] = field(default_factory=list)
    tags: list[tuple[str, int]] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return self.total > len(self.places)


def coordinate_fields(declarations: Iterable[Declaration]) -> dict[str, tuple[Field, Field]]:
    """For each template that declares both, its first latitude and first longitude field."""
    found = {}
    for declaration in declarations:
        latitude = next((item for item in declaration.fields if item.type == "latitude"), None)
        longitude = next((item for item in declaration.fields if item.type == "longitude"), None)
        if latitude is not None and longitude is not None:
            found[declaration.name] = (latitude, longitude)
    return found


def point(latitude: Field, longitude: Field, meta: Mapping[str, Any]) -> tuple[float, float] | None:
    lat, lat_problem = check_value(latitude, meta.get(latitude.name))
    lon, lon_problem = check_value(longitude, meta.get(longitude.name))
    if lat is None or lon is None or lat_problem is not None or lon_problem is not None:
        return None
    return float(lat), float(lon)


def coordinates_of(record: PageRecord, fields: Mapping[str, tuple[Field, Field]]) -> tuple[float, float] | None:
    """A page's (latitude, longitude): its template's declared fields first, then ``lat``/``lon``; None if invalid."""
    if record.meta_error or not record.meta:
        return None
    name = template_of(record.path, record.meta)
    if name is not None and name in fields:
        found = point(*fields[name], record.meta)
        if found is not None:
            return found
    for lat_key, lon_key in _KEY_PAIRS:
        if lat_key in record.meta and lon_key in record.meta:
            found = point(Field(lat_key, lat_key, "latitude"), Field(lon_key, lon_key, "longitude"), record.meta)
            if found is not None:
                return found
    return None


def fiche_point(declaration: Declaration, meta: Mapping[str, Any]) -> tuple[float, float] | None:
    """The coordinates a fiche holds in its template's declared fields, for its small map."""
    fields = coordinate_fields([declaration]).get(declaration.name)
    return point(*fields, meta) if fields is not None else None


def in_folder(path: str, folder: str) -> bool:
    """A page directly in ``folder`` or in one of its subfolders (the root holds everything)."""
    return not folder or path.startswith(folder + "/")


def find_places(
    records: Iterable[PageRecord],
    declarations: Iterable[Declaration],
    *,
    folder: str = "",
    tag: str = "",
    limit: int = MAX_PLACES,
) -> Places:
    """The places among ``records`` (in their order), filtered by folder and tag, at most ``limit`` of them.

    The filter form's choices (each folder and tag that has places, with its
    count) are gathered in the same pass, over every place.
    """
    fields = coordinate_fields(declarations)
    folder = folder.strip("/")
    wanted_tag = tag.strip().casefold()
    kept: list[Place] = []
    total = 0
    folders: Counter[str] = Counter()
    tags: Counter[str] = Counter()
    spellings: dict[str, str] = {}
    for record in records:
        point = coordinates_of(record, fields)
        if point is None:
            continue
        place = Place(record.path, record.title, *point)
        folders[place.folder] += 1
        record_tags = {item.casefold(): item for item in record.tags if isinstance(item, str)}
        for key, spelling in record_tags.items():
            tags[key] += 1
            spellings.setdefault(key, spelling)
        if not in_folder(record.path, folder) or (wanted_tag and wanted_tag not in record_tags):
            continue
        total += 1
        if len(kept) < limit:
            kept.append(place)
    return Places(
        places=kept,
        total=total,
        limit=limit,
        folders=sorted(folders.items()),
        tags=sorted(((spellings[key], count) for key, count in tags.items()), key=lambda item: item[0].casefold()),
    )


def attribution_parts(text: str) -> list[dict[str, str]]:
    """The tiles' credit as text and links, for ``map.js`` to build with DOM nodes (never as HTML)."""
    parts: list[dict[str, str]] = []
    last = 0
    for found in _ADDRESS.finditer(text):
        if found.start() > last:
            parts.append({"text": text[last : found.start()]})
        parts.append({"text": found.group(0), "href": found.group(0)})
        last = found.end()
    if last < len(text):
        parts.append({"text": text[last:]})
    return parts


def map_settings(config: Mapping[str, Any], gettext: Callable[[str], str]) -> dict[str, Any]:
    """What ``map.js`` needs besides the points: the tiles (``map`` settings), their credit, the controls' labels."""
    return {
        "tiles": config["tiles_url"],
        "attribution": attribution_parts(config["attribution"]),
        "labels": {
            "zoomIn": gettext("Zoom in"),
            "zoomOut": gettext("Zoom out"),
            "close": gettext("Close"),
            "credits": gettext("Map credits"),
        },
    }


def coordinates_text(latitude: float, longitude: float, decimal_symbol: str = ".") -> str:
    """“45,3106 ; -0,9358”: up to six decimals (about 10 cm), with the language's decimal symbol.

    Written by hand rather than by Babel: the map lists thousands of places and this runs twice for each.
    """

    def number(value: float) -> str:
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        return ("0" if text == "-0" else text).replace(".", decimal_symbol)

    return f"{number(latitude)} ; {number(longitude)}"
