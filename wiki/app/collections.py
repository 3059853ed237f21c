"""Collections: the front matter of a folder's pages as one table of open data.

A folder of lease fiches is a data set: each page a row, each front-matter
field a column. The same table feeds the HTML view, CSV, JSON and (when the
pages have coordinates) GeoJSON, so the four always agree.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from repo_store.catalog import PageRecord

from .licences import Licence, find_licence

FIXED_COLUMNS = ("path", "title")
_LATITUDE = ("latitude", "lat")
_LONGITUDE = ("longitude", "lon", "lng")
_PAIRS = ("coordonnees", "coordinates", "coords", "gps")
# A spreadsheet runs a cell starting with one of these as a formula (OWASP's list, and the full-width
# forms some Excel locales read as the same signs).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# A plain number, signed, with a decimal point or comma (French "-1,5") and an exponent: a spreadsheet
# reads it as a number, never as a formula, so it is written as it is.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?", re.ASCII)


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

    @property
    def licence(self) -> Licence | None:
        """The licence of the whole set when every page shares one."""
        return self.licences[0] if len(self.licences) == 1 else None

    @property
    def has_coordinates(self) -> bool:
        return any(coordinates(row) for row in self.rows)


def build(folder: str, records: list[PageRecord], default_licence: str) -> Collection:
    """The collection of the pages directly inside ``folder``, sorted by path."""
    prefix = folder.strip("/") + "/"
    rows: list[dict[str, Any]] = []
    keys: set[str] = set()
    licences: dict[str, Licence] = {}
    for record in sorted(records, key=lambda r: r.path):
        rest = record.path[len(prefix) :]
        if not record.path.startswith(prefix) or "/" in rest:
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
    columns = list(FIXED_COLUMNS) + sorted(keys)
    collection = Collection(folder.strip("/"), columns, rows, sorted(licences.values(), key=lambda item: item.spdx))
    for column in columns[2:]:
        values = [row[column] for row in rows if column in row and row[column] not in (None, "")]
        if values and all(_is_number(value) for value in values):
            try:
                total = math.fsum(values)
            except OverflowError:  # each value fits in a float, their sum does not: no total to show
                continue
            collection.summaries[column] = Summary(total, total / len(values), len(values))
    return collection


def _is_number(value: Any) -> bool:
    """A finite number a float can hold: YAML reads ``9999…`` (hundreds of digits) as an int beyond any float."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


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
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def safe_cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will show, never run (OWASP's CSV injection advice).

    Text that starts (leading blanks aside: some imports trim them) with a
    sign a spreadsheet reads as a formula gets a leading ``'``, which makes
    it text. A plain number stays a number, whether YAML read it as one
    (``-0.93``) or as text (``"-12"``, the French ``"-1,5"``): nothing in it
    can run. ``-1+2`` or ``-0.93, 47.2`` (a list) are not plain numbers and
    are neutralised.
    """
    text = cell_text(value)
    if _PLAIN_NUMBER.fullmatch(text):
        return text
    if text.startswith(_FORMULA_STARTS) or text.lstrip().startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def to_csv(collection: Collection) -> str:
    """The collection as CSV, every cell and column name neutralised against formulas (``safe_cell``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(column) for column in collection.columns])
    for row in collection.rows:
        writer.writerow([safe_cell(row.get(column)) for column in collection.columns])
    return out.getvalue()


def to_json(collection: Collection) -> dict[str, Any]:
    licence = collection.licence
    return {
        "folder": collection.folder,
        "licence": licence.spdx if licence else None,
        "licences": [item.spdx for item in collection.licences],
        "columns": collection.columns,
        "rows": [{column: row[column] for column in collection.columns if column in row} for row in collection.rows],
    }


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
    if not isinstance(latitude, (int, float, str)) or not isinstance(longitude, (int, float, str)):
        return None
    try:
        lat, lon = float(latitude), float(longitude)
    except (ValueError, OverflowError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def to_geojson(collection: Collection) -> dict[str, Any]:
    features = []
    for row in collection.rows:
        point = coordinates(row)
        if point is None:
            continue
        properties = {key: value for key, value in row.items() if key not in _LATITUDE + _LONGITUDE + _PAIRS}
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [point[1], point[0]]},
                "properties": properties,
            }
        )
    licence = collection.licence
    return {"type": "FeatureCollection", "licence": licence.spdx if licence else None, "features": features}
