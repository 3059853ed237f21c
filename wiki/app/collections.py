"""Collections: the front matter of a folder's pages as one table of open data.

A folder of lease fiches is a data set: each page a row, each field a column.
When a template names the folder as its ``dossier`` and pages of the folder
were made from it, the rows are those pages, the columns the template's
fields in its order (with their labels, types and units) and the values are
typed (numbers as numbers, dates as ISO dates, empty as None); the folder's
other pages are listed apart. A folder without such pages is read as before:
every front-matter key is a column, values as YAML gave them. The same table
feeds the HTML view and every download (``wiki.app.open_data``), so they
always agree. Building one is a single pass over the catalog's records, with
no git call, and stops at ``ROW_LIMIT`` rows.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from repo_store.catalog import PageRecord
from repo_store.errors import N_

from .fiches import Declaration, template_of, typed_values
from .fiches import Field as FicheField
from .licences import Licence, find_licence

FIXED_COLUMNS = ("path", "title")
# Enough for every network's fiches; past it a collection says it was cut rather than taking the server down.
ROW_LIMIT = 5000
_LATITUDE = ("latitude", "lat")
_LONGITUDE = ("longitude", "lon", "lng")
_PAIRS = ("coordonnees", "coordinates", "coords", "gps")
# A spreadsheet runs a cell starting with one of these as a formula (OWASP's list, and the full-width
# forms some Excel locales read as the same signs).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# A plain number, signed, with a decimal point or comma (French "-1,5") and an exponent: a spreadsheet
# reads it as a number, never as a formula, so it is written as it is.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?", re.ASCII)
# Labels of the columns every collection has; translated where they are shown.
FIXED_LABELS = {"path": N_("Page"), "title": N_("Title"), "licence": N_("Licence")}


@dataclass(frozen=True)
class Column:
    """A column of a collection: the field it shows, how people read its name, its type and unit."""

    name: str
    label: str
    type: str = "texte"  # a fiche field type (wiki.app.fiches.FIELD_TYPES)
    unit: str = ""
    values: tuple[str, ...] = ()

    @property
    def is_coordinate(self) -> bool:
        return self.type in ("latitude", "longitude") or self.name in _LATITUDE + _LONGITUDE

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "type": self.type, "unit": self.unit or None}


@dataclass
class Summary:
    total: float
    average: float
    count: int


@dataclass
class Collection:
    folder: str
    columns: list[str]
    rows: list[dict[str, Any]]
    licences: list[Licence]
    summaries: dict[str, Summary] = field(default_factory=dict)
    fields: dict[str, Column] = field(default_factory=dict)
    template: Declaration | None = None
    other_pages: list[tuple[str, str]] = field(default_factory=list)
    truncated: int = 0  # rows left out past ROW_LIMIT
    updated: dict[str, int] = field(default_factory=dict)  # each row's last change, as a Unix time

    @property
    def licence(self) -> Licence | None:
        """The licence of the whole set when every page shares one."""
        return self.licences[0] if len(self.licences) == 1 else None

    @property
    def label(self) -> str:
        return self.template.label if self.template is not None else self.folder

    @property
    def has_coordinates(self) -> bool:
        return any(self.point(row) for row in self.rows)

    @property
    def date_column(self) -> str | None:
        """The first date field of the template: what an agenda shows the rows on."""
        return next((column.name for column in self.fields.values() if column.type == "date"), None)

    def column(self, name: str) -> Column:
        return self.fields.get(name) or Column(name, name)

    def point(self, row: dict[str, Any]) -> tuple[float, float] | None:
        """(latitude, longitude) of a row: from the template's latitude and longitude fields, else by name."""
        latitude = next((row.get(c.name) for c in self.fields.values() if c.type == "latitude"), None)
        longitude = next((row.get(c.name) for c in self.fields.values() if c.type == "longitude"), None)
        if self.template is not None and latitude is not None and longitude is not None:
            return coordinates({"latitude": latitude, "longitude": longitude})
        return coordinates(row)


def build(
    folder: str,
    records: Iterable[PageRecord],
    default_licence: str,
    declarations: Iterable[Declaration] = (),
    *,
    limit: int = ROW_LIMIT,
) -> Collection:
    """The collection of the pages directly inside ``folder``, sorted by path."""
    folder = folder.strip("/")
    prefix = folder + "/"
    inside = [r for r in records if r.path.startswith(prefix) and "/" not in r.path[len(prefix) :]]
    inside.sort(key=lambda r: r.path)
    template = _template_for(folder, inside, declarations)
    if template is None:
        return _untyped(folder, inside, default_licence, limit)
    return _typed(folder, template, inside, default_licence, limit)


def build_all(records: Iterable[PageRecord], default_licence: str, declarations: Iterable[Declaration]) -> list[Collection]:
    """Every folder's collection, in one pass over the records: what ``/collections`` lists."""
    by_folder: dict[str, list[PageRecord]] = defaultdict(list)
    for record in records:
        if "/" in record.path:
            by_folder[record.path.rsplit("/", 1)[0]].append(record)
    found = list(declarations)
    collections = [build(folder, pages, default_licence, found) for folder, pages in sorted(by_folder.items())]
    return [collection for collection in collections if collection.rows]


def _template_for(folder: str, records: list[PageRecord], declarations: Iterable[Declaration]) -> Declaration | None:
    """The template that names ``folder`` as its ``dossier`` and made most of its pages; None when none did."""
    candidates = {found.name: found for found in declarations if found.folder == folder}
    if not candidates:
        return None
    made: dict[str, int] = defaultdict(int)
    for record in records:
        name = template_of(record.path, record.meta)
        if name in candidates:
            made[name] += 1
    if not made:
        return None
    return candidates[min(made, key=lambda name: (-made[name], name))]


def _row_licence(meta: dict[str, Any], default_licence: str) -> Licence | None:
    return find_licence(meta.get("licence")) or find_licence(default_licence)


def _typed(folder: str, template: Declaration, records: list[PageRecord], default_licence: str, limit: int) -> Collection:
    fields: tuple[FicheField, ...] = template.fields
    columns = [Column("path", FIXED_LABELS["path"]), Column("title", FIXED_LABELS["title"])]
    columns += [Column(f.name, f.label, f.type, f.unit, f.values) for f in fields if f.name not in FIXED_COLUMNS]
    if not any(column.name == "licence" for column in columns):
        columns.append(Column("licence", FIXED_LABELS["licence"], "licence"))
    collection = Collection(folder, [column.name for column in columns], [], [], fields={c.name: c for c in columns})
    collection.template = template
    licences: dict[str, Licence] = {}
    for record in records:
        if template_of(record.path, record.meta) != template.name:
            collection.other_pages.append((record.path, record.title))
            continue
        if len(collection.rows) >= limit:
            collection.truncated += 1
            continue
        row: dict[str, Any] = {"path": record.path, "title": record.title}
        row.update((name, value) for name, value in typed_values(fields, record.meta).items() if name not in FIXED_COLUMNS)
        licence = _row_licence(record.meta, default_licence)
        if licence is not None:
            licences[licence.spdx] = licence
        row["licence"] = licence.spdx if licence is not None else None
        collection.rows.append(row)
        collection.updated[record.path] = record.updated
    collection.licences = sorted(licences.values(), key=lambda item: item.spdx)
    _summarise(collection, [c.name for c in columns if c.type == "nombre" and not c.is_coordinate])
    return collection


def _untyped(folder: str, records: list[PageRecord], default_licence: str, limit: int) -> Collection:
    rows: list[dict[str, Any]] = []
    keys: set[str] = set()
    licences: dict[str, Licence] = {}
    updated: dict[str, int] = {}
    truncated = 0
    for record in records:
        if len(rows) >= limit:
            truncated += 1
            continue
        row: dict[str, Any] = {"path": record.path, "title": record.title}
        if not record.meta_error:
            for key, value in record.meta.items():
                if key not in FIXED_COLUMNS:
                    row[key] = value
                    keys.add(key)
        licence = find_licence(row.get("licence")) or find_licence(default_licence)
        if licence is not None:
            licences[licence.spdx] = licence
            row["licence"] = licence.spdx  # every row says under which licence it may be reused
            keys.add("licence")
        rows.append(row)
        updated[record.path] = record.updated
    columns = list(FIXED_COLUMNS) + sorted(keys)
    collection = Collection(folder, columns, rows, sorted(licences.values(), key=lambda item: item.spdx))
    collection.truncated, collection.updated = truncated, updated
    numbers = []
    for name in columns[2:]:
        values = [row[name] for row in rows if row.get(name) not in (None, "")]
        kind = "texte"
        if values and all(_is_number(value) for value in values):
            kind = "latitude" if name in _LATITUDE else "longitude" if name in _LONGITUDE else "nombre"
            if kind == "nombre":
                numbers.append(name)
        collection.fields[name] = Column(name, name, kind)
    for name in FIXED_COLUMNS:
        collection.fields[name] = Column(name, FIXED_LABELS[name])
    _summarise(collection, numbers)
    return collection


def _summarise(collection: Collection, names: list[str]) -> None:
    """Totals and averages of the number columns; coordinates are never added up."""
    for name in names:
        values = [row[name] for row in collection.rows if _is_number(row.get(name))]
        if not values:
            continue
        try:
            total = math.fsum(values)
        except OverflowError:  # each value fits in a float, their sum does not: no total to show
            continue
        if not math.isfinite(total):
            continue
        collection.summaries[name] = Summary(total, total / len(values), len(values))


def _is_number(value: Any) -> bool:
    """A finite number a float can hold: YAML reads ``9999…`` (hundreds of digits) as an int beyond any float."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


is_number = _is_number


def cell_text(value: Any) -> str:
    """How a value reads in a table cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(cell_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value)


def safe_text(text: str) -> str:
    """A cell's text that a spreadsheet will show, never run (OWASP's CSV injection advice).

    Text that starts (leading blanks aside: some imports trim them) with a
    sign a spreadsheet reads as a formula gets a leading ``'``, which makes
    it text. A plain number stays a number, whether YAML read it as one
    (``-0.93``) or as text (``"-12"``, the French ``"-1,5"``): nothing in it
    can run. ``-1+2`` or ``-0.93, 47.2`` (a list) are not plain numbers and
    are neutralised.
    """
    if _PLAIN_NUMBER.fullmatch(text):
        return text
    if text.startswith(_FORMULA_STARTS) or text.lstrip().startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def safe_cell(value: Any) -> str:
    """``safe_text`` of how a value reads in a cell."""
    return safe_text(cell_text(value))


def coordinates(row: dict[str, Any]) -> tuple[float, float] | None:
    """(latitude, longitude) from ``latitude``/``longitude`` fields or a ``coordonnees: [lat, lon]`` pair."""
    latitude = next((row[key] for key in _LATITUDE if key in row), None)
    longitude = next((row[key] for key in _LONGITUDE if key in row), None)
    if latitude is None or longitude is None:
        pair = next((row[key] for key in _PAIRS if key in row), None)
        if isinstance(pair, str):
            pair = [part.strip() for part in pair.split(",")]
        if isinstance(pair, list) and len(pair) == 2:
            latitude, longitude = pair
    if isinstance(latitude, bool) or isinstance(longitude, bool):
        return None
    if not isinstance(latitude, (int, float, str)) or not isinstance(longitude, (int, float, str)):
        return None
    try:
        lat, lon = float(latitude), float(longitude)
    except (ValueError, OverflowError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def coordinate_keys(collection: Collection) -> set[str]:
    """The columns a GeoJSON feature carries as its geometry rather than as properties."""
    if collection.template is not None:
        return {c.name for c in collection.fields.values() if c.type in ("latitude", "longitude")}
    return set(_LATITUDE + _LONGITUDE + _PAIRS)
