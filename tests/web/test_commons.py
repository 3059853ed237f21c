"""The commons: licences, attachments, templates, collections as open data, navigation."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from conftest import api_save, bearer, csrf_token, git


def put_file(client, token, path, data):
    return client.put(f"/api/v1/files/{path}", data=data, headers=bearer(token))


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


# -- licences -------------------------------------------------------------


def test_licence_is_shown_machine_readable_and_in_the_api(client, token):
    api_save(client, token, "guides/ouvert", "---\ntitle: Ouvert\nlicence: CC0-1.0\n---\n\nTexte.\n")
    html = client.get("/wiki/guides/ouvert").text
    assert '<link rel="license" href="https://creativecommons.org/publicdomain/zero/1.0/deed.fr">' in html
    assert "CC0 1.0" in html
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))
    assert data["@type"] == "Article" and data["license"].startswith("https://creativecommons.org/publicdomain/zero")
    assert data["author"] == [{"@type": "Person", "name": "Camille Été"}]
    assert client.get("/api/v1/pages/guides/ouvert").json["licence"] == "CC0-1.0"


def test_default_licence_and_attribution(client, token):
    api_save(client, token, "guides/defaut", "# Par défaut\n\nTexte.\n")
    html = client.get("/wiki/guides/defaut").text
    assert "CC BY-SA 4.0" in html
    attribution = re.search(r'<textarea id="attribution"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    assert attribution.startswith("« Par défaut » par Camille Été — Réseau des tiers-lieux, CC BY-SA 4.0, http://")


@pytest.mark.parametrize("licence", ["Proprietary", "CC-BY-NC-ND-4.0", "GPL-3.0"])
def test_unknown_licences_are_refused(client, token, licence):
    response = client.put("/api/v1/pages/guides/x", json={"markdown": f"---\nlicence: {licence}\n---\n"}, headers=bearer(token))
    assert response.status_code == 400 and licence in response.json["message"]


# -- attachments ------------------------------------------------------------


def test_upload_from_the_page_list_and_serve(client, editor):
    page = client.get("/wiki/licence")
    response = client.post(
        "/attachments/licence",
        data={
            "csrf_token": csrf_token(page.text),
            "file": (io.BytesIO(PDF), "Modèle de Statuts.PDF"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    html = client.get("/wiki/licence").text
    assert "/files/licence/modele-de-statuts.pdf" in html and "PDF" in html
    served = client.get("/files/licence/modele-de-statuts.pdf")
    assert served.data == PDF and served.headers["Content-Type"] == "application/pdf"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    assert served.headers["Content-Disposition"].startswith("inline")


def test_files_are_typed_by_the_wiki_not_by_the_host(app, client):
    """Imported repositories may hold any file: unknown types are downloaded, never rendered."""
    from repo_store import FileChange, Identity

    wiki = app.extensions["trousse"]
    wiki.store.commit(
        [FileChange("licence/vieux.html", b"<script>alert(1)</script>"), FileChange("licence/dessin.odg", b"PK\x03\x04")],
        author=Identity("Zoé", "zoe@example.org"),
        message="import",
    )
    wiki.sync()
    page = client.get("/files/licence/vieux.html")
    assert page.headers["Content-Type"] == "application/octet-stream"
    assert page.headers["Content-Disposition"].startswith("attachment")
    drawing = client.get("/files/licence/dessin.odg")
    assert drawing.headers["Content-Type"] == "application/vnd.oasis.opendocument.graphics"


def test_api_upload_replace_delete_are_commits(client, token, data_dir):
    repo = data_dir / "wiki.git"
    first = put_file(client, token, "licence/convention.pdf", PDF)
    assert first.status_code == 201 and len(first.json["revision"]) == 40
    replaced = put_file(client, token, "licence/convention.pdf", PDF + b"% v2\n")
    assert replaced.status_code == 200 and replaced.json["revision"] != first.json["revision"]
    same = put_file(client, token, "licence/convention.pdf", PDF + b"% v2\n")
    assert same.status_code == 200 and same.json["revision"] == replaced.json["revision"]
    deleted = client.delete("/api/v1/files/licence/convention.pdf", headers=bearer(token))
    assert deleted.status_code == 200
    subjects = git(repo, "log", "-3", "--format=%s").strip().splitlines()
    assert subjects == [
        "Retire « convention.pdf » de « Licence des contenus »",
        "Remplace « convention.pdf » dans « Licence des contenus »",
        "Joint « convention.pdf » à « Licence des contenus »",
    ]
    assert client.get("/files/licence/convention.pdf").status_code == 404


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("faux.pdf", b"<!doctype html><script>alert(1)</script>"),
        ("faux.png", b"GIF89a....."),
        ("faux.odt", b"PK\x03\x04 not really a zip"),
        ("page.html", b"<html></html>"),
        ("script.exe", b"MZ\x90\x00"),
        ("vide.txt", b""),
        ("texte.txt", b"\x00\x01binary"),
    ],
)
def test_content_is_checked_not_only_the_extension(client, token, name, data):
    response = put_file(client, token, f"licence/{name}", data)
    assert response.status_code == 400 and response.json["error"] == "invalid"


def test_size_limit(app_factory, auth):
    app = app_factory({"limits": {"max_file_bytes": 1000}, "storage": {"fsync": False}})
    auth.app = app
    auth.create()
    client = app.test_client()
    response = client.put("/api/v1/files/licence/gros.pdf", data=PDF + b"0" * 2000, headers=bearer(auth.token()))
    assert response.status_code == 413 and response.json["error"] == "too_large"


@pytest.mark.parametrize(
    "path, status, error",
    [
        ("licence/../etc/passwd.pdf", 400, "invalid"),
        ("licence/..%2F..%2Fx.pdf", 400, "invalid"),
        ("licence/a%0d%0aSet-Cookie:x.pdf", 404, "not_found"),  # no route matches a line break
        ("licence/Bad Name.pdf", 400, "invalid"),
        ("absente/doc.pdf", 404, "not_found"),  # an attachment's page must exist
    ],
)
def test_hostile_attachment_paths(client, token, path, status, error):
    response = put_file(client, token, path, PDF)
    assert response.status_code == status and response.json["error"] == error
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("filename", ['a"\r\nSet-Cookie: pwned=1\r\n.pdf', 'a";\tSet-Cookie=pwned.pdf', "../../x.pdf"])
def test_crlf_in_an_uploaded_file_name_cannot_inject_headers(client, editor, filename):
    page = client.get("/wiki/licence")
    response = client.post(
        "/attachments/licence",
        data={
            "csrf_token": csrf_token(page.text),
            "file": (io.BytesIO(PDF), filename),
        },
        content_type="multipart/form-data",
    )
    assert "pwned" not in response.headers.get("Set-Cookie", "")
    if response.status_code != 302:
        assert response.status_code == 400  # a body the multipart parser cannot read
        return
    html = client.get("/wiki/licence").text
    served = re.search(r'href="(/files/licence/[^"]+\.pdf)"', html).group(1)
    assert re.fullmatch(r"/files/licence/[a-z0-9-]+\.pdf", served)
    response = client.get(served)
    assert "pwned" not in response.headers.get("Set-Cookie", "")
    assert "\r" not in response.headers["Content-Disposition"] and "\n" not in response.headers["Content-Disposition"]


def test_svg_with_script_cannot_run(client, token):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
    assert put_file(client, token, "licence/dessin.svg", svg).status_code == 201
    served = client.get("/files/licence/dessin.svg")
    assert served.headers["Content-Type"].startswith("image/svg+xml")
    policy = served.headers["Content-Security-Policy"]
    assert "sandbox" in policy and "script-src" not in policy and "default-src 'none'" in policy
    assert served.headers["Content-Disposition"].startswith("attachment")


def test_images_embed_relative_to_the_page(client, token):
    assert put_file(client, token, "licence/plan.png", PNG).status_code == 201
    api_save(
        client,
        token,
        "licence",
        "# Licence\n\n![Le plan](plan.png) et [la convention](convention.pdf)\n",
        client.get("/api/v1/pages/licence").json["revision"],
    )
    html = client.get("/wiki/licence").text
    assert '<img src="/files/licence/plan.png" alt="Le plan"' in html
    assert 'href="/files/licence/convention.pdf"' in html


# -- templates --------------------------------------------------------------


def test_new_page_form_offers_templates_whose_fields_become_front_matter(client, editor):
    form = client.get("/new").text
    assert 'value="fiche-loyer"' in form and 'value="lieu"' in form
    response = client.get(
        "/new", query_string={"title": "Loyer du café de Pauillac", "folder": "loyers", "template": "fiche-loyer"}
    )
    assert response.status_code == 302
    editor_page = client.get(response.headers["Location"]).text
    text = re.search(r'<textarea id="markdown"[^>]*>(.*?)</textarea>', editor_page, re.S).group(1)
    import html as html_module

    text = html_module.unescape(text)
    assert text.startswith('---\ntitle: "Loyer du café de Pauillac"\n')
    for field in (
        "commune:",
        "surface_m2:",
        "loyer_mensuel_eur:",
        "type_de_bail:",
        "proprietaire:",
        "date_debut:",
        "duree:",
        "negocie:",
    ):
        assert field in text
    assert "modele: fiche-loyer\n" in text and "champs:" not in text and "# Loyer du café de Pauillac" in text
    from repo_store.pages import parse_page

    meta = parse_page(text).meta
    assert meta["title"] == "Loyer du café de Pauillac" and meta["licence"] == "CC0-1.0"


# -- collections ------------------------------------------------------------


FICHES = {
    "loyers/pauillac": {
        "commune": "Pauillac",
        "surface_m2": 120,
        "loyer_mensuel_eur": 300,
        "type_de_bail": "convention précaire",
    },
    "loyers/hourtin": {
        "commune": '=HYPERLINK("http://evil.example")',
        "surface_m2": 80,
        "loyer_mensuel_eur": 0,
        "type_de_bail": "+mise à disposition",
        "note": "-1+2",
    },
    "loyers/blaye": {
        "commune": "Blaye",
        "surface_m2": 200,
        "loyer_mensuel_eur": 900,
        "latitude": 45.1278,
        "longitude": -0.6622,
        "type_de_bail": "@bail commercial",
    },
}


@pytest.fixture
def fiches(client, token):
    for path, fields in FICHES.items():
        front = "\n".join(f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in fields.items())
        api_save(client, token, path, f"---\ntitle: Fiche {path.split('/')[1]}\nlicence: CC0-1.0\n{front}\n---\n\nTexte.\n")
    return FICHES


def test_collection_json(client, fiches):
    data = client.get("/collections/loyers.json").json
    assert data["folder"] == "loyers"
    assert data["columns"][:2] == ["path", "title"]
    assert data["columns"] == [
        "path",
        "title",
        "commune",
        "latitude",
        "licence",
        "longitude",
        "loyer_mensuel_eur",
        "note",
        "surface_m2",
        "tags",
        "type_de_bail",
    ]
    rows = {row["path"]: row for row in data["rows"]}
    assert rows["loyers/pauillac"]["surface_m2"] == 120 and rows["loyers/pauillac"]["title"] == "Fiche pauillac"
    assert set(rows) >= set(FICHES) | {"loyers/conventions-avec-les-mairies"}


def test_collection_csv_neutralises_formulas(client, fiches):
    response = client.get("/collections/loyers.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'rel="license"' in response.headers["Link"]
    assert "creativecommons.org/publicdomain/zero" in response.headers["Link"]
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8"))))
    by_path = {row["path"]: row for row in rows}
    assert by_path["loyers/hourtin"]["commune"] == '\'=HYPERLINK("http://evil.example")'
    assert by_path["loyers/hourtin"]["type_de_bail"] == "'+mise à disposition"
    assert by_path["loyers/hourtin"]["note"] == "'-1+2"
    assert by_path["loyers/blaye"]["type_de_bail"] == "'@bail commercial"
    assert by_path["loyers/pauillac"]["loyer_mensuel_eur"] == "300"
    assert by_path["loyers/pauillac"]["commune"] == "Pauillac"
    assert list(rows[0])[:2] == ["path", "title"]


def test_collection_geojson(client, fiches):
    data = client.get("/collections/loyers.geojson").json
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 1
    feature = data["features"][0]
    assert feature["geometry"] == {"type": "Point", "coordinates": [-0.6622, 45.1278]}
    assert feature["properties"]["commune"] == "Blaye"
    assert client.get("/collections/guides.geojson").status_code == 404


def test_collection_table_sorts_and_totals(client, fiches):
    html = client.get("/collections/loyers?sort=loyer_mensuel_eur&order=desc").text
    assert html.index("loyers/blaye") < html.index("loyers/pauillac") < html.index("loyers/hourtin")
    footer = html.split("<tfoot>")[1]
    assert re.search(r"1\s?200", footer.replace("\u202f", " ").replace("\xa0", " "))  # total of the monthly rents
    assert client.get("/collections/absent").status_code == 404


def test_collection_lists_unparseable_pages_by_path_and_title(client, app, fiches):
    from repo_store import FileChange, Identity

    app.extensions["trousse"].store.commit(
        [FileChange("loyers/cassee.md", b"---\ntitle: [pas ferme\n---\n\n# Fiche cassee\n")],
        author=Identity("x", "x@x"),
        message="cassée",
    )
    rows = {row["path"]: row for row in client.get("/collections/loyers.json").json["rows"]}
    assert set(rows["loyers/cassee"]) <= {"path", "title", "licence"}


# -- navigation -------------------------------------------------------------


def test_tags_index_and_tag_pages(client):
    assert "/tags/juridique" in client.get("/tags").text
    assert "Montages juridiques et gouvernance" in client.get("/tags/juridique").text
    assert client.get("/tags/inexistant").status_code == 404


def test_page_templates_are_not_content(client, token):
    """A template's tags and folder are placeholders: no tag page, no open-data collection."""
    api_save(client, token, "_templates/essai", "---\ntags: [gabarit-unique]\n---\n# Essai\n")
    assert "gabarit-unique" not in client.get("/tags").text
    assert client.get("/tags/gabarit-unique").status_code == 404
    assert "_templates" not in client.get("/collections").text


def test_backlinks_list_only_links_that_lead_here(client, token):
    api_save(client, token, "guides/elus", "---\ntitle: Elus\n---\nLe guide.\n")
    api_save(client, token, "elus", "# Une autre page\n")
    api_save(client, token, "guides/source", "# Source\n\nVoir [[elus]].\n")  # by path: the page elus
    assert 'href="/wiki/elus"' in client.get("/wiki/guides/source").text
    assert "guides/source" in client.get("/wiki/elus").text.split('id="backlinks-title"')[1]
    assert "guides/source" not in client.get("/wiki/guides/elus").text


def test_backlinks_survive_a_rename(client, token):
    api_save(client, token, "guides/cible", "# Cible\n")
    api_save(client, token, "guides/source", "# Source\n\nVoir [[guides/cible]].\n")
    assert "guides/source" in client.get("/wiki/guides/cible").text.split('id="backlinks-title"')[1]
    client.post("/api/v1/pages/guides/cible/move", json={"to": "guides/nouvelle-cible"}, headers=bearer(token))
    section = client.get("/wiki/guides/nouvelle-cible").text.split('id="backlinks-title"')[1]
    assert "/wiki/guides/source" in section


def test_orphans_and_wanted_pages(client, token):
    api_save(client, token, "guides/isolee", "# Isolée\n\nVoir [[Une page à écrire]].\n")
    html = client.get("/curation").text
    wanted, orphans = html.split('id="orphans-title"')
    assert "Une page à écrire" in wanted and "guides/isolee" in wanted
    assert "/wiki/guides/isolee" in orphans


def test_csv_file_name_cannot_break_the_header(app, client):
    from repo_store import FileChange, Identity

    app.extensions["trousse"].store.commit(
        [FileChange('dossier "x"; filename=pirate.html/fiche.md', b"---\ntitle: Fiche\n---\n")],
        author=Identity("x", "x@x"),
        message="imported",
    )
    response = client.get('/collections/dossier "x"; filename=pirate.html.csv')
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition.count('"') == 2 and "\r" not in disposition and "\n" not in disposition
    assert 'filename="dossier%20%22x%22%3B%20filename%3Dpirate.html.csv"' in disposition
