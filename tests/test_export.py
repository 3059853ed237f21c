"""Exports: standalone HTML, ODT, the whole wiki as a zip, and a static site whose links all resolve."""

from __future__ import annotations

import io
import re
import urllib.parse
import zipfile
from html.parser import HTMLParser
from xml.etree import ElementTree

from click.testing import CliRunner

from repo_store import FileChange, Identity
from wiki.cli.commands import main

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


class LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def add_content(app) -> None:
    wiki = app.extensions["trousse"]
    wiki.store.commit(
        [
            FileChange(
                "guides/avec-image.md",
                b"# Avec image\n\n![Plan](plan.png) et [[Accueil]], [le guide](../licence.md), "
                b"[absolu](/wiki/home) [[Page absente]].\n",
            ),
            FileChange("guides/avec-image/plan.png", PNG),
        ],
        author=Identity("Zoé Lefèbvre", "z@example.org"),
        message="image",
    )
    wiki.sync()


def test_static_site_links_all_resolve(app, data_dir, tmp_path):
    add_content(app)
    out = tmp_path / "site"
    result = CliRunner().invoke(main, ["--data", str(data_dir), "export-site", "--base-url", "https://exemple.org", str(out)])
    assert result.exit_code == 0, result.output
    pages = list(out.rglob("*.html"))
    assert (out / "index.html").exists() and (out / "home.html").exists()
    assert (out / "guides" / "avec-image" / "plan.png").read_bytes() == PNG
    checked = 0
    for page in pages:
        collector = LinkCollector()
        text = page.read_text(encoding="utf-8")
        collector.feed(text)
        for link in collector.links:
            parts = urllib.parse.urlsplit(link)
            if parts.scheme or link.startswith("#") or link.startswith("//"):
                continue
            assert not link.startswith("/"), f"{page}: absolute link {link}"
            target = (page.parent / urllib.parse.unquote(parts.path)).resolve()
            assert target.exists(), f"{page.relative_to(out)} → {link}"
            checked += 1
        if page.name != "index.html":
            assert 'rel="license"' in text
            assert "Trousse" in text or "Zoé" in text  # authors are named
    assert checked > 50
    image_page = (out / "guides" / "avec-image.html").read_text(encoding="utf-8")
    assert 'src="avec-image/plan.png"' in image_page and 'href="../home.html"' in image_page
    assert "Zoé Lefèbvre" in image_page and "/search" not in image_page


def test_page_as_standalone_html(client):
    response = client.get("/export/guides/tiers-lieux-nourriciers.html")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    html = response.text
    assert "<style>" in html and 'rel="license"' in html and "Tiers-lieux nourriciers" in html
    assert "par Trousse" in html
    assert re.search(r'href="http://localhost/wiki/', html)  # the address it was asked at
    page = client.get("/wiki/guides/tiers-lieux-nourriciers").text
    credit = re.search(r'<textarea id="attribution"[^>]*>(.*?)</textarea>', page, re.S).group(1).strip()
    assert credit.startswith("« Tiers-lieux nourriciers » par ") and credit in html  # one credit line everywhere


def test_page_as_odt(client):
    response = client.get("/export/loyers/conventions-avec-les-mairies.odt")
    assert response.headers["Content-Type"] == "application/vnd.oasis.opendocument.text"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    first = archive.infolist()[0]
    assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
    assert archive.read("mimetype") == b"application/vnd.oasis.opendocument.text"
    content = ElementTree.fromstring(archive.read("content.xml"))
    text = " ".join(content.itertext())
    assert "Baux et conventions avec les mairies" in text and "convention d" in text
    assert content.findall(".//{urn:oasis:names:tc:opendocument:xmlns:table:1.0}table")
    meta = archive.read("meta.xml").decode()
    assert "Baux et conventions avec les mairies" in meta and "creativecommons.org" in meta
    ElementTree.fromstring(archive.read("META-INF/manifest.xml"))


def test_page_as_markdown(client):
    response = client.get("/export/home.md")
    assert response.data.startswith(b"---\ntitle: Accueil")
    assert response.headers["Content-Disposition"].startswith("attachment")


def test_whole_wiki_as_zip(client):
    response = client.get("/export/wiki.zip")
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = set(archive.namelist())
    assert "wiki/home.md" in names and "wiki/_templates/fiche-loyer.md" in names
    assert archive.read("wiki/home.md").startswith(b"---\ntitle: Accueil")


def test_exports_of_missing_pages(client):
    assert client.get("/export/absente.odt").status_code == 404
    assert client.get("/export/home.exe").status_code == 404


def test_static_site_credits_pages_at_a_base_url_with_a_path(app_factory, tmp_path):
    from wiki.app.export import export_static_site

    app = app_factory({"site": {"base_url": "https://exemple.org/wiki-commun"}})
    out = tmp_path / "site"
    export_static_site(app.extensions["trousse"], app, out)
    html = (out / "home.html").read_text(encoding="utf-8")
    assert "https://exemple.org/wiki-commun/wiki/home" in html
    assert "wiki-commun/wiki-commun" not in html
