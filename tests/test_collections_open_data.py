"""Collections people can open: fiches typed by their template, and every download carrying its licence.

A folder whose template made its pages is a table of typed values (numbers,
ISO dates, yes/no, empty as null) with the template's labels and units; the
folder's other pages are listed apart. It downloads as RFC 4180 CSV, as CSV
for French spreadsheets, ODS, JSON, GeoJSON, a Frictionless Data Package and
(with a date field) iCalendar; no text cell reaches a spreadsheet as a
formula, and a negative longitude stays a number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
import subprocess
import zipfile
from xml.etree import ElementTree

import icalendar
import pytest
from conftest import api_save

CC0 = "https://creativecommons.org/publicdomain/zero/1.0/deed.fr"
ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"
NS = {
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "meta": "urn:oasis:names:tc:opendocument:xmlns:meta:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
}

AFTERWORK_TEMPLATE = """---
modele: Afterwork
dossier: sorties
licence: CC0-1.0
champs:
  - nom: commune
    libelle: Commune
    type: commune
  - nom: date
    libelle: Date
    type: date
  - nom: prix
    libelle: Prix
    type: nombre
    unite: €
  - nom: latitude
    libelle: Latitude
    type: latitude
  - nom: longitude
    libelle: Longitude
    type: longitude
  - nom: note
    libelle: Note
    type: texte
---

# Afterwork
"""


def fiche(template: str, title: str, **fields: object) -> str:
    front = "".join(f"{key}: {json.dumps(value, ensure_ascii=False)}\n" for key, value in fields.items())
    return f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\nmodele: {template}\nlicence: CC0-1.0\n{front}---\n\nTexte.\n"


@pytest.fixture
def afterworks(client, token):
    api_save(client, token, "_templates/afterwork", AFTERWORK_TEMPLATE)
    api_save(
        client,
        token,
        "sorties/hourtin",
        fiche(
            "afterwork",
            "Afterwork à Hourtin",
            commune="Hourtin",
            date="2026-06-12",
            prix=4.5,
            latitude=45.18,
            longitude=-1.06,
            note="=1+1; oui",
        ),
    )
    api_save(client, token, "sorties/pauillac", fiche("afterwork", "Afterwork à Pauillac", commune="Pauillac", date="14/05/2026"))


@pytest.fixture
def places(client, token):
    """Two places made from the starter template ``lieu`` and one page of the folder that is not a place."""
    api_save(
        client,
        token,
        "lieux/cafe-de-pauillac",
        fiche(
            "lieu",
            "Café de Pauillac",
            adresse='=HYPERLINK("http://evil.example")',
            code_postal="33250",
            commune="Pauillac",
            latitude=45.1989,
            longitude=-0.7489,
            ouvert_au_public="oui",
        ),
    )
    api_save(
        client,
        token,
        "lieux/fablab-de-blaye",
        fiche("lieu", "Fablab de Blaye", commune="Blaye", latitude="45,1278", longitude=-0.6622, ouvert_au_public="non"),
    )
    api_save(client, token, "lieux/a-propos", "---\ntitle: À propos des lieux\n---\n\nLa liste des lieux.\n")


@pytest.fixture
def leases(client, token):
    for name, surface, rent, start in (("blaye", 120, 300.5, "2024-01-15"), ("hourtin", "80,5", 0, "01/09/2025")):
        api_save(
            client,
            token,
            f"loyers/{name}",
            fiche(
                "fiche-loyer",
                f"Loyer de {name}",
                commune=name.capitalize(),
                surface_m2=surface,
                loyer_mensuel_eur=rent,
                date_debut=start,
            ),
        )


# -- JSON and HTML ---------------------------------------------------------------


def test_json_rows_are_the_template_s_fiches_with_typed_values(client, places):
    data = client.get("/collections/lieux.json").json
    assert data["template"] == "lieu" and data["licence"] == "CC0-1.0"
    assert data["columns"] == [
        "path",
        "title",
        "adresse",
        "code_postal",
        "commune",
        "latitude",
        "longitude",
        "site_web",
        "contact",
        "ouvert_au_public",
        "licence",
    ]
    assert data["other_pages"] == [{"path": "lieux/a-propos", "title": "À propos des lieux"}]
    rows = {row["path"]: row for row in data["rows"]}
    assert set(rows) == {"lieux/cafe-de-pauillac", "lieux/fablab-de-blaye"}
    blaye = rows["lieux/fablab-de-blaye"]
    assert blaye["latitude"] == 45.1278 and blaye["longitude"] == -0.6622  # "45,1278" typed as a number
    assert blaye["ouvert_au_public"] is False and blaye["site_web"] is None and blaye["contact"] is None
    assert rows["lieux/cafe-de-pauillac"]["code_postal"] == "33250"
    fields = {field["name"]: field for field in data["fields"]}
    assert fields["latitude"] == {"name": "latitude", "label": "Latitude", "type": "latitude", "unit": None}
    assert fields["ouvert_au_public"]["label"] == "Ouvert au public"


def test_json_numbers_and_dates_are_typed(client, leases):
    data = client.get("/collections/loyers.json").json
    rows = {row["path"]: row for row in data["rows"]}
    assert rows["loyers/hourtin"]["surface_m2"] == 80.5 and rows["loyers/blaye"]["surface_m2"] == 120
    assert rows["loyers/blaye"]["loyer_mensuel_eur"] == 300.5
    assert rows["loyers/hourtin"]["date_debut"] == "2025-09-01" and rows["loyers/blaye"]["date_debut"] == "2024-01-15"
    assert rows["loyers/blaye"]["type_de_bail"] is None
    assert {"path": "loyers/conventions-avec-les-mairies", "title": "Baux et conventions avec les mairies"} in data["other_pages"]
    fields = {field["name"]: field for field in data["fields"]}
    assert fields["surface_m2"] == {"name": "surface_m2", "label": "Surface louée", "type": "nombre", "unit": "m²"}


def test_html_headers_show_labels_and_units_and_sums_skip_coordinates(client, leases, places):
    html = client.get("/collections/loyers").text.replace("\xa0", " ").replace("\u202f", " ")
    assert "Surface louée (m²)" in html and "Loyer mensuel hors charges (€)" in html
    assert ">surface_m2<" not in html
    footer = html.split("<tfoot>")[1]
    cells = re.findall(r'<td class="number">([^<]*)</td>', footer)
    assert "200,5" in cells  # 120 + 80,5 m²
    assert "150,25" in cells  # average rent
    assert "Baux et conventions avec les mairies" in html.split('id="other-pages-title"')[1]
    places_html = client.get("/collections/lieux").text
    assert "<tfoot>" not in places_html  # latitude and longitude are never added up
    assert "Ouvert au public" in places_html and "-0,6622" in places_html


def test_folders_without_template_do_not_sum_coordinates(client, token):
    for name, lat in (("a", 45.1), ("b", 45.2)):
        api_save(client, token, f"points/{name}", f"---\nlatitude: {lat}\nlongitude: -0.5\nvisiteurs: 10\n---\n\n# {name}\n")
    footer = client.get("/collections/points").text.split("<tfoot>")[1]
    cells = [cell for cell in re.findall(r'<td class="number">([^<]*)</td>', footer) if cell]
    assert cells == ["20", "10"]  # visitors only: no 90,3 of latitudes, no -1 of longitudes


# -- CSV ---------------------------------------------------------------------------


def test_csv_is_rfc_4180_with_field_names_and_a_licence_link(client, afterworks):
    response = client.get("/collections/sorties.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Link"] == f'<{CC0}>; rel="license"'
    assert (
        response.data
        == (
            "path,title,commune,date,prix,latitude,longitude,note,licence\r\n"
            "sorties/hourtin,Afterwork à Hourtin,Hourtin,2026-06-12,4.5,45.18,-1.06,'=1+1; oui,CC0-1.0\r\n"
            "sorties/pauillac,Afterwork à Pauillac,Pauillac,2026-05-14,,,,,CC0-1.0\r\n"
        ).encode()
    )


def test_excel_fr_csv_has_a_bom_semicolons_and_decimal_commas(client, afterworks):
    response = client.get("/collections/sorties.csv?dialect=excel-fr")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Link"] == f'<{CC0}>; rel="license"'
    assert "sorties-tableur.csv" in response.headers["Content-Disposition"]
    assert response.data == (
        "\ufeffPage;Titre;Commune;Date;Prix (€);Latitude;Longitude;Note;Licence\r\n"
        'sorties/hourtin;Afterwork à Hourtin;Hourtin;2026-06-12;4,5;45,18;-1,06;"\'=1+1; oui";CC0-1.0\r\n'
        "sorties/pauillac;Afterwork à Pauillac;Pauillac;2026-05-14;;;;;CC0-1.0\r\n"
    ).encode("utf-8")


def test_collection_page_links_every_download(client, afterworks):
    html = client.get("/collections/sorties").text
    assert '<a href="/collections/sorties.csv?dialect=excel-fr">CSV pour tableur</a>' in html
    for suffix in (".csv", ".ods", ".json", ".geojson", ".datapackage.json", ".ics"):
        assert f'href="/collections/sorties{suffix}"' in html


def test_a_download_follows_the_pages_after_an_edit(client, token, afterworks):
    assert b"Hourtin,2026-06-12,4.5," in client.get("/collections/sorties.csv").data
    page = client.get("/api/v1/pages/sorties/hourtin").json
    api_save(client, token, "sorties/hourtin", page["markdown"].replace("prix: 4.5", "prix: 6"), base=page["revision"])
    assert b"Hourtin,2026-06-12,6," in client.get("/collections/sorties.csv").data


# -- ODS ------------------------------------------------------------------------------


def _ods_rows(data: bytes) -> tuple[list[list[tuple[str, str, str]]], ElementTree.Element]:
    """Each row of the first sheet as (value type, value, text) cells, and the document's metadata."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.read("mimetype") == ODS_MIME.encode()
    content = ElementTree.fromstring(archive.read("content.xml"))
    sheet = content.find(".//table:table", NS)
    rows = []
    for row in sheet.findall("table:table-row", NS):
        cells = []
        for cell in row.findall("table:table-cell", NS):
            kind = cell.get(f"{{{NS['office']}}}value-type", "")
            value = cell.get(f"{{{NS['office']}}}value") or cell.get(f"{{{NS['office']}}}date-value") or ""
            text = "".join("".join(p.itertext()) for p in cell.findall("text:p", NS))
            cells.append((kind, value, text))
        rows.append(cells)
    return rows, ElementTree.fromstring(archive.read("meta.xml"))


def test_ods_has_typed_cells_neutralised_text_and_the_licence(client, afterworks):
    response = client.get("/collections/sorties.ods")
    assert response.headers["Content-Type"] == ODS_MIME
    assert response.headers["Link"] == f'<{CC0}>; rel="license"'
    rows, meta = _ods_rows(response.data)
    assert [text for _kind, _value, text in rows[0]] == [
        "Page",
        "Titre",
        "Commune",
        "Date",
        "Prix (€)",
        "Latitude",
        "Longitude",
        "Note",
        "Licence",
    ]
    hourtin = dict(zip([cell[2] for cell in rows[0]], rows[1], strict=True))
    assert hourtin["Prix (€)"][:2] == ("float", "4.5")
    assert hourtin["Longitude"][:2] == ("float", "-1.06")  # a number cell, never neutralised
    assert hourtin["Date"][:2] == ("date", "2026-06-12")
    assert hourtin["Note"] == ("string", "", "'=1+1; oui")
    assert rows[2][3][:2] == ("date", "2026-05-14") and rows[2][4] == ("", "", "")
    texts = " ".join(meta.itertext())
    assert CC0 in texts and "Afterwork" in texts
    user_defined = meta.find(".//meta:user-defined", NS)
    assert user_defined.get(f"{{{NS['meta']}}}name") == "licence" and user_defined.text == CC0


def test_ods_reads_back_with_odfpy(client, places):
    from odf.opendocument import load
    from odf.table import Table

    document = load(io.BytesIO(client.get("/collections/lieux.ods").data))
    sheets = document.spreadsheet.getElementsByType(Table)
    assert [sheet.getAttribute("name") for sheet in sheets] == ["lieux", "Licence"]
    assert CC0 in str(sheets[1])


# -- GeoJSON, Data Package, iCalendar ------------------------------------------------------


def test_geojson_points_from_template_fields_with_the_licence(client, places):
    response = client.get("/collections/lieux.geojson")
    assert response.headers["Link"] == f'<{CC0}>; rel="license"'
    data = response.json
    assert data["licence"] == "CC0-1.0" and data["licences"][0]["path"] == CC0
    features = {feature["properties"]["path"]: feature for feature in data["features"]}
    assert features["lieux/fablab-de-blaye"]["geometry"] == {"type": "Point", "coordinates": [-0.6622, 45.1278]}
    properties = features["lieux/cafe-de-pauillac"]["properties"]
    assert "latitude" not in properties and properties["licence"] == "CC0-1.0" and properties["ouvert_au_public"] is True


def test_datapackage_describes_the_csv_fields_and_types(client, places):
    response = client.get("/collections/lieux.datapackage.json")
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Link"] == f'<{CC0}>; rel="license"'
    package = response.json
    assert package["profile"] == "tabular-data-package" and re.fullmatch(r"[a-z0-9._-]+", package["name"])
    assert package["licenses"] == [{"name": "CC0-1.0", "path": CC0, "title": package["licenses"][0]["title"]}]
    (resource,) = package["resources"]
    assert resource["path"] == "lieux.csv" and resource["format"] == "csv" and resource["encoding"] == "utf-8"
    schema = resource["schema"]
    types = {field["name"]: field["type"] for field in schema["fields"]}
    assert types["latitude"] == types["longitude"] == "number" and types["ouvert_au_public"] == "boolean"
    assert types["commune"] == "string" and types["path"] == "string"
    assert {field["name"]: field.get("format") for field in schema["fields"]}["site_web"] == "uri"
    assert schema["primaryKey"] == ["path"]
    # The CSV it points at has exactly these columns, and its cells read as the declared types.
    rows = list(csv.DictReader(io.StringIO(client.get("/collections/" + resource["path"]).data.decode("utf-8"))))
    assert list(rows[0]) == [field["name"] for field in schema["fields"]]
    parse = {"number": float, "boolean": lambda text: {"true": True, "false": False}[text], "date": dt.date.fromisoformat}
    for row in rows:
        for name, kind in types.items():
            if row[name] and kind in parse:
                parse[kind](row[name])
    assert {field["name"]: field.get("constraints") for field in schema["fields"]}["latitude"] == {"minimum": -90, "maximum": 90}


def test_datapackage_declares_dates_and_numbers_of_a_typed_collection(client, afterworks):
    package = client.get("/collections/sorties.datapackage.json").json
    fields = {field["name"]: field for field in package["resources"][0]["schema"]["fields"]}
    assert fields["date"]["type"] == "date" and fields["prix"]["type"] == "number"
    assert fields["prix"]["title"] == "Prix" and "€" in fields["prix"]["description"]


def test_ics_lists_dated_fiches_as_all_day_events(client, afterworks):
    response = client.get("/collections/sorties.ics")
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Link"] == f'<{CC0}>; rel="license"'
    calendar = icalendar.Calendar.from_ical(response.data)
    assert str(calendar["X-LICENSE"]) == CC0 and CC0 in str(calendar["X-WR-CALDESC"])
    events = {str(event["SUMMARY"]): event for event in calendar.walk("VEVENT")}
    assert set(events) == {"Afterwork à Hourtin", "Afterwork à Pauillac"}
    hourtin = events["Afterwork à Hourtin"]
    assert hourtin.decoded("DTSTART") == dt.date(2026, 6, 12) and hourtin.decoded("DTEND") == dt.date(2026, 6, 13)
    assert events["Afterwork à Pauillac"].decoded("DTSTART") == dt.date(2026, 5, 14)
    assert str(hourtin["UID"]).startswith("sorties/hourtin@")
    assert str(hourtin["URL"]).endswith("/wiki/sorties/hourtin")
    assert CC0 in str(hourtin["DESCRIPTION"]) and "Prix : 4.5 €" in str(hourtin["DESCRIPTION"])
    assert str(hourtin["LOCATION"]) == "Hourtin"
    assert client.get("/collections/sorties.ics").data == response.data  # stable: an agenda sees no change


def test_no_calendar_without_a_date_field_and_no_map_without_coordinates(client, places, leases):
    assert client.get("/collections/lieux.ics").status_code == 404
    assert 'href="/collections/lieux.ics"' not in client.get("/collections/lieux").text
    assert client.get("/collections/loyers.geojson").status_code == 404
    assert client.get("/collections/loyers.ics").status_code == 200  # date_debut


# -- the index, the cap and the static copy --------------------------------------------------


def test_collections_index_lists_licence_fields_rows_and_downloads(client, places, afterworks):
    html = client.get("/collections").text
    row = html.split('href="/collections/lieux"')[1].split("</tr>")[0]
    assert "Lieu (fiche d&#39;un tiers-lieu du réseau)" in row or "Lieu (fiche d'un tiers-lieu du réseau)" in row
    assert f'rel="license" href="{CC0}"' in row
    assert re.findall(r'<td class="number">(\d+)</td>', row) == ["9", "2"]  # 8 fields and the licence; 2 places
    for href in ("lieux.csv", "lieux.csv?dialect=excel-fr", "lieux.ods", "lieux.geojson", "lieux.datapackage.json"):
        assert f'href="/collections/{href}"' in row
    assert "lieux.ics" not in row
    assert 'href="/collections/sorties.ics"' in html


def test_a_collection_stops_at_its_row_cap(app, places):
    from wiki.app.collections import build
    from wiki.app.page_templates import template_declarations

    catalog = app.extensions["trousse"].catalog
    collection = build("lieux", catalog.pages("lieux"), "CC-BY-SA-4.0", template_declarations(catalog), limit=1)
    assert len(collection.rows) == 1 and collection.truncated == 1


def test_static_site_holds_the_collections_and_their_downloads(app, places, afterworks, tmp_path):
    from wiki.app.export import export_static_site

    out = tmp_path / "site"
    export_static_site(app.extensions["trousse"], app, out)
    folder = out / "_collections"
    html = (folder / "lieux.html").read_text(encoding="utf-8")
    assert "Ouvert au public" in html and f'rel="license" href="{CC0}"' in html
    assert 'href="../lieux/fablab-de-blaye.html"' in html and 'href="lieux.datapackage.json"' in html
    assert (folder / "lieux.csv").read_bytes().startswith(b"path,title,adresse")
    assert (folder / "lieux.tableur.csv").read_bytes().startswith("\ufeffPage;".encode())
    assert zipfile.ZipFile(folder / "lieux.ods").read("mimetype") == ODS_MIME.encode()
    assert json.loads((folder / "lieux.datapackage.json").read_text())["resources"][0]["path"] == "lieux.csv"
    assert json.loads((folder / "lieux.geojson").read_text())["licence"] == "CC0-1.0"
    assert icalendar.Calendar.from_ical((folder / "sorties.ics").read_bytes()).walk("VEVENT")
    assert 'href="_collections/index.html"' in (out / "index.html").read_text(encoding="utf-8")
    assert 'href="lieux.html"' in (folder / "index.html").read_text(encoding="utf-8")


# -- LibreOffice, where it is installed ------------------------------------------------------


def _libreoffice_cells(path) -> list[list[tuple[str | None, str | None]]]:
    """The (value type, value) of the first sheet's first rows, as LibreOffice read the file and saved it."""
    root = ElementTree.fromstring(zipfile.ZipFile(path).read("content.xml"))
    rows = []
    for row in root.find(".//table:table", NS).findall("table:table-row", NS)[:3]:
        cells = []
        for cell in row.findall("table:table-cell", NS):
            repeated = int(cell.get(f"{{{NS['table']}}}number-columns-repeated", "1"))
            kind = cell.get(f"{{{NS['office']}}}value-type")
            value = cell.get(f"{{{NS['office']}}}value") or cell.get(f"{{{NS['office']}}}date-value") or "".join(cell.itertext())
            cells += [(kind, value)] * min(repeated, 20)
        rows.append(cells)
    return rows


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_calc_opens_the_ods_and_the_french_csv(client, leases, afterworks, tmp_path):
    """French LibreOffice reads decimal commas as numbers, ISO dates as dates and accents through the BOM."""
    (tmp_path / "sorties.ods").write_bytes(client.get("/collections/sorties.ods").data)
    (tmp_path / "sorties-tableur.csv").write_bytes(client.get("/collections/sorties.csv?dialect=excel-fr").data)
    profile = f"-env:UserInstallation=file://{tmp_path}/profile"
    common = ["soffice", "--headless", profile]
    subprocess.run(
        [*common, "--convert-to", "ods", "--outdir", str(tmp_path / "ods"), str(tmp_path / "sorties.ods")],
        check=True,
        capture_output=True,
        timeout=180,
    )
    subprocess.run(
        [
            *common,
            "--infilter=Text - txt - csv (StarCalc):59,34,76,1,,1036",
            "--convert-to",
            "ods",
            "--outdir",
            str(tmp_path / "csv"),
            str(tmp_path / "sorties-tableur.csv"),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    for saved in (tmp_path / "ods" / "sorties.ods", tmp_path / "csv" / "sorties-tableur.ods"):
        header, hourtin, _pauillac = _libreoffice_cells(saved)
        assert header[:5] == [
            ("string", "Page"),
            ("string", "Titre"),
            ("string", "Commune"),
            ("string", "Date"),
            ("string", "Prix (€)"),
        ]
        assert hourtin[2:8] == [
            ("string", "Hourtin"),
            ("date", "2026-06-12"),
            ("float", "4.5"),
            ("float", "45.18"),
            ("float", "-1.06"),
            ("string", "'=1+1; oui"),
        ], saved.name
