"""A collection in the formats people and programs open: CSV, CSV for French spreadsheets, ODS, JSON,
GeoJSON, a Frictionless Data Package and iCalendar.

Each is written from the same ``Collection`` (``wiki.app.collections``), so
they agree, and each carries the collection's licence where its format has
room for it. Formats meant for programs (CSV, JSON, GeoJSON) name columns by
their field names; formats meant for people (the spreadsheet CSV, ODS) by
their labels and units. A text cell that a spreadsheet would run as a formula
is neutralised (``safe_text``); a number stays a number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import icalendar
from odf import dc, teletype
from odf import meta as odf_meta
from odf.number import DateStyle, Day, Month, Year
from odf.number import Text as NumberText
from odf.opendocument import OpenDocumentSpreadsheet
from odf.style import Style, TextProperties
from odf.table import Table, TableCell, TableColumn, TableRow
from odf.text import P

from repo_store.errors import N_

from .collections import FIXED_LABELS, Collection, Column, cell_text, coordinate_keys, is_number, safe_text

Gettext = Callable[..., str]
# Characters XML 1.0 cannot hold: a front-matter value may carry them (YAML's "\x01"), a spreadsheet must not break.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_PACKAGE_NAME = re.compile(r"[^a-z0-9._-]+")
# Table Schema types of the fiche field types (https://specs.frictionlessdata.io/table-schema/).
_SCHEMA_TYPES = {"nombre": "number", "latitude": "number", "longitude": "number", "date": "date", "oui_non": "boolean"}
_SCHEMA_FORMATS = {"url": "uri", "email": "email"}


def file_stem(collection: Collection) -> str:
    """The base name of the collection's files: its folder, slashes turned to dashes."""
    return collection.folder.replace("/", "-")


def label(column: Column, gettext: Gettext) -> str:
    """A column's label; the fixed columns' (page, title, licence) in the reader's language."""
    return gettext(column.label) if FIXED_LABELS.get(column.name) == column.label else column.label


def header(column: Column, gettext: Gettext) -> str:
    """A column's name as people read it: its label, then its unit."""
    text = label(column, gettext)
    return f"{text} ({column.unit})" if column.unit else text


def licence_sentence(collection: Collection, gettext: Gettext) -> str:
    """One line that says under which licence(s) the data may be reused, with their addresses."""
    if not collection.licences:
        return ""
    names = "; ".join(f"{licence.name} — {licence.url}" for licence in collection.licences)
    if collection.licence is None:
        return gettext("Each row is under its own licence (licence column): %(licences)s", licences=names)
    return gettext("Licence: %(licence)s", licence=names)


def _is_date(column: Column, value: Any) -> bool:
    return column.type == "date" and isinstance(value, str) and bool(_ISO_DATE.match(value))


# -- JSON ---------------------------------------------------------------------


def to_json(collection: Collection, gettext: Gettext) -> dict[str, Any]:
    licence = collection.licence
    fields = []
    for name in collection.columns:
        column = collection.column(name)
        fields.append({**column.as_json(), "label": label(column, gettext)})
    return {
        "folder": collection.folder,
        "template": collection.template.name if collection.template is not None else None,
        "licence": licence.spdx if licence else None,
        "licences": [item.spdx for item in collection.licences],
        "columns": collection.columns,
        "fields": fields,
        "rows": [{column: row[column] for column in collection.columns if column in row} for row in collection.rows],
        "other_pages": [{"path": path, "title": title} for path, title in collection.other_pages],
        "truncated": collection.truncated,
    }


# -- CSV ----------------------------------------------------------------------


def to_csv(collection: Collection) -> str:
    """RFC 4180: commas, CRLF, a header row of field names; every text cell neutralised against formulas."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_text(name) for name in collection.columns])
    for row in collection.rows:
        writer.writerow([_csv_cell(row.get(name)) for name in collection.columns])
    return out.getvalue()


def _csv_cell(value: Any) -> str:
    return cell_text(value) if is_number(value) else safe_text(cell_text(value))


def decimal_comma(value: Any) -> str:
    """A number as French spreadsheets read it: ``-0,6622``, ``1,5e-07``."""
    return cell_text(value).replace(".", ",")


def to_excel_fr_csv(collection: Collection, gettext: Gettext) -> bytes:
    """What LibreOffice and Excel in French open in columns: ``;``, decimal commas, a UTF-8 byte-order mark."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([safe_text(header(collection.column(name), gettext)) for name in collection.columns])
    for row in collection.rows:
        cells = []
        for name in collection.columns:
            value = row.get(name)
            if is_number(value):
                cells.append(decimal_comma(value))
            elif isinstance(value, bool):
                cells.append(gettext("yes") if value else gettext("no"))
            else:
                cells.append(safe_text(cell_text(value)))
        writer.writerow(cells)
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


# -- OpenDocument spreadsheet ---------------------------------------------------


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _ods_cell(column: Column, value: Any, date_style: Style) -> TableCell:
    """A typed cell: a number, date or yes/no carries its value alone (the spreadsheet writes its text)."""
    if is_number(value):
        return TableCell(valuetype="float", value=cell_text(value))
    if isinstance(value, bool):
        return TableCell(valuetype="boolean", booleanvalue="true" if value else "false")
    if _is_date(column, value):
        return TableCell(valuetype="date", datevalue=value, stylename=date_style)
    text = cell_text(value)
    if not text:
        return TableCell()
    cell = TableCell(valuetype="string")
    paragraph = P()
    teletype.addTextToElement(paragraph, _xml(safe_text(text)))
    cell.addElement(paragraph)
    return cell


def to_ods(collection: Collection, gettext: Gettext, source_url: str) -> bytes:
    """An OpenDocument spreadsheet: one sheet of typed cells (numbers, dates, yes/no) and one with the licence.

    The licence is also in the document's metadata (description, rights as a
    user-defined property), where a catalogue reads it.
    """
    document = OpenDocumentSpreadsheet()
    title = _xml(collection.label)
    sentence = _xml(licence_sentence(collection, gettext))
    document.meta.addElement(dc.Title(text=title))
    document.meta.addElement(dc.Description(text=f"{sentence}\n{gettext('Source:')} {source_url}".strip()))
    document.meta.addElement(dc.Language(text="fr"))
    for licence in collection.licences:
        document.meta.addElement(odf_meta.UserDefined(name="licence", valuetype="string", text=licence.url))
    bold = Style(name="header", family="table-cell")
    bold.addElement(TextProperties(fontweight="bold"))
    document.automaticstyles.addElement(bold)
    iso_date = DateStyle(name="iso-date")  # dates shown as they are written in the fiches: 2026-06-12
    for part in (Year(style="long"), NumberText(text="-"), Month(style="long"), NumberText(text="-"), Day(style="long")):
        iso_date.addElement(part)
    document.automaticstyles.addElement(iso_date)
    date_cell = Style(name="date", family="table-cell", datastylename="iso-date")
    document.automaticstyles.addElement(date_cell)

    sheet = Table(name=_xml(collection.folder.rsplit("/", 1)[-1])[:31] or "data")
    sheet.addElement(TableColumn(numbercolumnsrepeated=len(collection.columns)))
    row = TableRow()
    for name in collection.columns:
        cell = TableCell(valuetype="string", stylename=bold)
        cell.addElement(P(text=_xml(safe_text(header(collection.column(name), gettext)))))
        row.addElement(cell)
    sheet.addElement(row)
    for values in collection.rows:
        row = TableRow()
        for name in collection.columns:
            row.addElement(_ods_cell(collection.column(name), values.get(name), date_cell))
        sheet.addElement(row)
    document.spreadsheet.addElement(sheet)

    about = Table(name=gettext("Licence"))
    for line in (title, sentence, f"{gettext('Source:')} {source_url}"):
        row = TableRow()
        cell = TableCell(valuetype="string")
        cell.addElement(P(text=safe_text(line)))
        row.addElement(cell)
        about.addElement(row)
    document.spreadsheet.addElement(about)

    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


# -- GeoJSON ---------------------------------------------------------------------


def to_geojson(collection: Collection) -> dict[str, Any]:
    """The rows with coordinates as points (RFC 7946: longitude first), the licence on the set and on each feature."""
    features = []
    geometry_keys = coordinate_keys(collection)
    for row in collection.rows:
        point = collection.point(row)
        if point is None:
            continue
        properties = {key: value for key, value in row.items() if key not in geometry_keys}
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [point[1], point[0]]},
                "properties": properties,
            }
        )
    licence = collection.licence
    return {
        "type": "FeatureCollection",
        "name": collection.folder,
        "licence": licence.spdx if licence else None,
        "licences": [{"name": item.spdx, "path": item.url, "title": item.name} for item in collection.licences],
        "features": features,
    }


# -- Frictionless Data Package ---------------------------------------------------------


def _schema_field(collection: Collection, name: str, gettext: Gettext) -> dict[str, Any]:
    column = collection.column(name)
    values = [row[name] for row in collection.rows if row.get(name) is not None]
    kind = _SCHEMA_TYPES.get(column.type, "string")
    # A value the editor would refuse (kept from before the template said so) makes the column text, honestly.
    fits = {
        "number": lambda value: is_number(value),
        "date": lambda value: _is_date(column, value),
        "boolean": lambda value: isinstance(value, bool),
    }.get(kind)
    if fits is not None and not all(fits(value) for value in values):
        kind = "string"
    described: dict[str, Any] = {"name": name, "title": label(column, gettext), "type": kind}
    if column.unit:
        described["description"] = gettext("Unit: %(unit)s", unit=column.unit)
    if kind == "string" and column.type in _SCHEMA_FORMATS:
        described["format"] = _SCHEMA_FORMATS[column.type]
    constraints: dict[str, Any] = {}
    if kind == "number" and column.type in ("latitude", "longitude"):
        limit = 90 if column.type == "latitude" else 180
        constraints = {"minimum": -limit, "maximum": limit}
    if column.type == "choix" and column.values and all(value in column.values for value in values):
        constraints = {"enum": list(column.values)}
    if name == "path":
        constraints = {"required": True, "unique": True}
    if constraints:
        described["constraints"] = constraints
    return described


def to_datapackage(collection: Collection, gettext: Gettext, csv_path: str, source_url: str) -> dict[str, Any]:
    """A Data Package (https://specs.frictionlessdata.io/data-package/) whose one resource is the collection's CSV.

    ``csv_path`` is relative to where the descriptor is served, as the spec asks, so it holds on the wiki and in
    a static copy alike.
    """
    name = _PACKAGE_NAME.sub("-", collection.folder.casefold()).strip("-") or "collection"
    licences = [{"name": item.spdx, "path": item.url, "title": item.name} for item in collection.licences]
    return {
        "profile": "tabular-data-package",
        "name": name,
        "title": collection.label,
        "homepage": source_url,
        "licenses": licences,
        "resources": [
            {
                "name": name,
                "path": csv_path,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "licenses": licences,
                "dialect": {"delimiter": ",", "doubleQuote": True, "lineTerminator": "\r\n", "header": True},
                "schema": {
                    "fields": [_schema_field(collection, column, gettext) for column in collection.columns],
                    "primaryKey": ["path"],
                    "missingValues": [""],
                },
            }
        ],
    }


# -- iCalendar --------------------------------------------------------------------


def _display(value: Any, gettext: Gettext) -> str:
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    return cell_text(value)


def to_ics(collection: Collection, gettext: Gettext, page_url: Callable[[str], str], host: str) -> bytes:
    """The rows with a date as all-day events (RFC 5545), so an agenda can subscribe to the collection.

    Each event's UID is the page's path at this wiki's host, so a subscribed
    agenda updates an event rather than adding it again; its DTSTAMP is the
    page's last change, so the file only changes when the pages do.
    """
    date_column = collection.date_column
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Trousse//Collections//FR")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("name", collection.label)
    calendar.add("x-wr-calname", collection.label)
    sentence = licence_sentence(collection, gettext)
    if sentence:
        calendar.add("description", sentence)
        calendar.add("x-wr-caldesc", sentence)
    for licence in collection.licences:
        calendar.add("x-license", licence.url)
    if date_column is None:
        return calendar.to_ical()
    skipped = {"path", "title", "licence", date_column} | coordinate_keys(collection)
    places = [c.name for c in collection.fields.values() if c.type == "commune" or c.name in ("adresse", "lieu")]
    for row in collection.rows:
        value = row.get(date_column)
        if not isinstance(value, str) or not _ISO_DATE.match(value):
            continue
        day = dt.date.fromisoformat(value)
        event = icalendar.Event()
        event.add("uid", f"{row['path']}@{host}")
        event.add("dtstamp", dt.datetime.fromtimestamp(collection.updated.get(row["path"], 0), dt.UTC))
        event.add("dtstart", day)
        event.add("dtend", day + dt.timedelta(days=1))
        event.add("summary", row.get("title") or row["path"])
        event.add("url", page_url(row["path"]))
        lines = []
        for name in collection.columns:
            if name in skipped or row.get(name) is None:
                continue
            column = collection.column(name)
            unit = f" {column.unit}" if column.unit else ""
            lines.append(f"{label(column, gettext)} : {_display(row[name], gettext)}{unit}")
        row_licence = next((item for item in collection.licences if item.spdx == row.get("licence")), None)
        if row_licence is not None:
            named = f"{row_licence.name} — {row_licence.url}"
            lines.append(gettext("Licence: %(licence)s", licence=named))
        lines.append(page_url(row["path"]))
        event.add("description", "\n".join(lines))
        location = ", ".join(cell_text(row[name]) for name in places if row.get(name) is not None)
        if location:
            event.add("location", location)
        point = collection.point(row)
        if point is not None:
            event.add("geo", point)
        calendar.add_component(event)
    return calendar.to_ical()


# -- one entry point for the web and the static copy ---------------------------------


@dataclass(frozen=True)
class Download:
    body: bytes
    mimetype: str
    filename: str


# Each format: its key, the label of its link and the end of its file's name (the wiki serves the
# spreadsheet CSV at ``.csv?dialect=excel-fr``; a static copy has no query string).
FORMATS = (
    ("csv", "CSV", ".csv"),
    ("excel-fr", N_("CSV for spreadsheets"), ".tableur.csv"),
    ("ods", N_("ODS spreadsheet"), ".ods"),
    ("json", "JSON", ".json"),
    ("geojson", "GeoJSON", ".geojson"),
    ("datapackage", "Data Package", ".datapackage.json"),
    ("ics", "iCalendar", ".ics"),
)


def formats(collection: Collection) -> list[tuple[str, str, str]]:
    """The formats this collection downloads as: GeoJSON when rows have coordinates, iCalendar with a date field."""
    return [
        entry
        for entry in FORMATS
        if (entry[0] != "geojson" or collection.has_coordinates) and (entry[0] != "ics" or collection.date_column)
    ]


def download(
    collection: Collection,
    key: str,
    *,
    gettext: Gettext,
    source_url: str,
    page_url: Callable[[str], str],
) -> Download | None:
    """The collection in the format ``key`` (see ``FORMATS``), or None when it has no such download."""
    found = next((entry for entry in formats(collection) if entry[0] == key), None)
    if found is None:
        return None
    stem = file_stem(collection)
    filename = stem + (".csv" if key == "excel-fr" else found[2])
    if key == "csv":
        return Download(to_csv(collection).encode("utf-8"), "text/csv", filename)
    if key == "excel-fr":
        return Download(to_excel_fr_csv(collection, gettext), "text/csv", stem + "-tableur.csv")
    if key == "ods":
        return Download(to_ods(collection, gettext, source_url), "application/vnd.oasis.opendocument.spreadsheet", filename)
    if key == "ics":
        host = urllib.parse.urlsplit(source_url).hostname or "trousse"
        return Download(to_ics(collection, gettext, page_url, host), "text/calendar", filename)
    if key == "json":
        data = to_json(collection, gettext)
        mimetype = "application/json"
    elif key == "geojson":
        data = to_geojson(collection)
        mimetype = "application/geo+json"
    else:
        csv_path = urllib.parse.quote(collection.folder.rsplit("/", 1)[-1] + ".csv")
        data = to_datapackage(collection, gettext, csv_path, source_url)
        mimetype = "application/json"
    body = json.dumps(data, ensure_ascii=False, indent=1 if key == "datapackage" else None, default=str)
    return Download(body.encode("utf-8"), mimetype, filename)
