"""``/export/<path>.pdf``: a page, or a folder in one document with its contents, read back with pypdf.

The PDF is made by WeasyPrint in a bounded child process (``wiki/render/pdf.py``):
these tests read what it wrote, check it fetches nothing from the network, and
that a document past its budget gets a French sentence rather than a stuck
worker or a 500.
"""

from __future__ import annotations

import html
import http.server
import io
import os
import shutil
import subprocess
import threading

import pytest
from conftest import api_save, bearer
from PIL import Image
from pypdf import PdfReader

import wiki.render.pdf as pdf_module
import wiki.web.exports as exports
from wiki.render.pdf import ExportTooCostly, html_to_pdf

FRENCH = {"Accept-Language": "fr"}


def pdf_text(data: bytes) -> tuple[PdfReader, list[str]]:
    reader = PdfReader(io.BytesIO(data))
    return reader, [page.extract_text() for page in reader.pages]


def png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def guides(client, editor):
    """Two pages in ``guides-pdf`` by Camille, and one page in a sub-folder."""
    token = editor.token()
    api_save(client, token, "guides-pdf/accueil", "# Accueillir un public\n\nLe mot de passe du wifi est affiché.\n")
    api_save(client, token, "guides-pdf/compta", "---\nlicence: CC0-1.0\n---\n# Tenir la caisse\n\nUn cahier de caisse.\n")
    api_save(client, token, "guides-pdf/annexes/contrat", "# Contrat type\n\nSigné par les deux parties.\n")
    return token


def test_a_page_as_pdf_has_its_text_licence_and_authors(client, guides):
    response = client.get("/export/guides-pdf/accueil.pdf", headers=FRENCH)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "accueil.pdf" in response.headers["Content-Disposition"]
    reader, pages = pdf_text(response.data)
    text = "\n".join(pages)
    assert reader.metadata.title.startswith("Accueillir un public")
    assert "Camille Été" in reader.metadata.author
    assert "Accueillir un public" in text
    assert "Le mot de passe du wifi est affiché." in text
    assert "Rédigé par : Camille Été" in text
    assert "Cette page est partagée sous la licence" in text and "CC BY-SA 4.0" in text
    assert "/wiki/guides-pdf/accueil" in text
    assert "Sommaire" not in text  # one page: no table of contents


def test_a_folder_as_pdf_has_contents_then_each_page_with_its_credits(client, guides):
    response = client.get("/export/guides-pdf.pdf", headers=FRENCH)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    reader, pages = pdf_text(response.data)
    cover = pages[0]
    assert "guides-pdf" in cover and "Sommaire" in cover
    titles = ["Accueillir un public", "Contrat type", "Tenir la caisse"]  # by path: accueil, annexes/contrat, compta
    positions = [cover.index(title) for title in titles]
    assert positions == sorted(positions)
    body = "\n".join(pages[1:])
    for title, sentence in zip(
        titles,
        ["Le mot de passe du wifi est affiché.", "Signé par les deux parties.", "Un cahier de caisse."],
        strict=True,
    ):
        assert title in body and sentence in body
    # Each page starts a new sheet, with its own credits and licence.
    assert len(pages) >= 4
    assert body.count("Rédigé par : Camille Été") == 3
    assert "CC BY-SA 4.0" in body and "CC0" in body
    # The outline (bookmarks) lists the pages too.
    outline = [item.title for item in reader.outline if not isinstance(item, list)]
    assert all(any(title in entry for entry in outline) for title in titles)


@pytest.mark.skipif(
    shutil.which("pdftotext") is None and not os.environ.get("CI"), reason="pdftotext (poppler-utils) is not installed"
)
def test_pdftotext_reads_a_folder_with_its_pages_licences_and_authors(client, guides, tmp_path):
    """What people use to read a PDF without a viewer (poppler's pdftotext) finds every page and its credits."""
    (tmp_path / "dossier.pdf").write_bytes(client.get("/export/guides-pdf.pdf", headers=FRENCH).data)
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(tmp_path / "dossier.pdf"), "-"], capture_output=True, check=True, timeout=60
    )
    text = " ".join(result.stdout.decode("utf-8").split())
    for title, sentence in (
        ("Accueillir un public", "Le mot de passe du wifi est affiché."),
        ("Contrat type", "Signé par les deux parties."),
        ("Tenir la caisse", "Un cahier de caisse."),
    ):
        assert title in text and sentence in text
    assert text.count("Rédigé par : Camille Été") == 3
    assert "CC BY-SA 4.0" in text and "CC0" in text


def test_attached_images_are_in_the_pdf_and_nothing_is_fetched(client, guides):
    requests: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            requests.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        outside = f"http://127.0.0.1:{server.server_port}/tracker.png"
        api_save(client, guides, "guides-pdf/plan", f"# Le plan\n\n![Le plan](plan.png)\n\n![Ailleurs]({outside})\n")
        assert client.put("/api/v1/files/guides-pdf/plan/plan.png", data=png(), headers=bearer(guides)).status_code == 201
        response = client.get("/export/guides-pdf/plan.pdf")
    finally:
        server.shutdown()
        server.server_close()
    assert response.status_code == 200
    reader, _pages = pdf_text(response.data)
    images = [image for page in reader.pages for image in page.images]
    assert len(images) == 1 and images[0].image.size == (40, 30)
    assert requests == []


def test_a_folder_over_the_page_limit_is_refused_in_french(client, guides, monkeypatch):
    monkeypatch.setattr(exports, "MAX_PDF_PAGES", 2)
    response = client.get("/export/guides-pdf.pdf", headers=FRENCH)
    assert response.status_code == 413
    assert "trop long pour être mis en PDF" in html.unescape(response.text)
    api = client.get("/export/guides-pdf.pdf", headers={"Accept": "application/json", **FRENCH})
    assert api.status_code == 413


def test_a_pdf_past_its_time_budget_is_refused_in_french(app_factory, editor):
    app = app_factory({"storage": {"fsync": False}, "limits": {"export_seconds": 0.01}})
    client = app.test_client()
    editor.app, editor.client = app, client
    editor.login()
    api_save(client, editor.token(), "lent", "# Lent\n\n" + "Un paragraphe.\n\n" * 2000)
    response = client.get("/export/lent.pdf", headers=FRENCH)
    assert response.status_code == 413
    assert "trop long pour être mis en PDF" in html.unescape(response.text)


def test_when_every_turn_is_taken_the_visitor_is_asked_to_come_back(app_factory, monkeypatch):
    app = app_factory({"storage": {"fsync": False}, "limits": {"export_seconds": 0.01}})
    taken = threading.BoundedSemaphore(1)
    taken.acquire()
    monkeypatch.setattr(pdf_module, "_SLOTS", taken)
    response = app.test_client().get("/export/home.pdf", headers=FRENCH)
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "réessayez" in html.unescape(response.text)


@pytest.mark.slow
def test_the_layout_child_is_bounded_in_memory_and_in_size():
    document = "<p>" + "mot " * 1000 + "</p>"
    assert html_to_pdf(document, seconds=30, max_bytes=10_000_000).startswith(b"%PDF-")
    with pytest.raises(ExportTooCostly):
        html_to_pdf(document, seconds=30, max_bytes=10_000_000, memory_bytes=60_000_000)
    with pytest.raises(ExportTooCostly):
        html_to_pdf(document, seconds=30, max_bytes=1_000)


def test_missing_pages_and_empty_folders_are_not_found(client):
    assert client.get("/export/absente.pdf").status_code == 404
    assert client.get("/export/dossier/absent.pdf").status_code == 404


def test_private_wiki_sends_anonymous_visitors_to_log_in(app_factory):
    app = app_factory({"access": {"read": "accounts"}, "storage": {"fsync": False}})
    client = app.test_client()
    for address in ("/export/home.pdf", "/export/loyers.pdf"):
        response = client.get(address)
        assert response.status_code == 302 and "/login" in response.headers["Location"], address


def test_pages_and_folders_link_to_their_pdf(client, guides):
    assert 'href="/export/guides-pdf/accueil.pdf"' in client.get("/wiki/guides-pdf/accueil").text
    assert 'href="/export/guides-pdf.pdf"' in client.get("/pages/guides-pdf").text
