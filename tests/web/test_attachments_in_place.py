"""Attachments managed where they are used: listed with size and type, removed after confirming, brought back."""

from __future__ import annotations

import html
import io

from conftest import api_save, bearer, csrf_token, git

PDF = b"%PDF-1.4\n% convention signee\n"


def attach(client, token: str, path: str, data: bytes = PDF) -> None:
    assert client.put(f"/api/v1/files/{path}", data=data, headers=bearer(token)).status_code in (200, 201)


def test_documents_are_listed_with_type_and_size_on_the_page_and_in_the_editor(client, editor):
    token = editor.token()
    api_save(client, token, "lieux/cafe", "# Le café\n")
    attach(client, token, "lieux/cafe/convention.pdf")
    for address in ("/wiki/lieux/cafe", "/edit/lieux/cafe"):
        text = html.unescape(client.get(address).text)
        assert "convention.pdf" in text and "(PDF, " in text and "octets" in text, address
    editor_page = client.get("/edit/lieux/cafe").text
    assert 'href="/attachments/lieux/cafe/delete?name=convention.pdf" target="_blank"' in editor_page


def test_removing_a_document_asks_first_then_it_can_be_brought_back(client, editor, data_dir):
    token = editor.token()
    api_save(client, token, "lieux/cafe", "# Le café\n")
    attach(client, token, "lieux/cafe/convention.pdf")
    before = git(data_dir / "wiki.git", "rev-parse", "main")
    confirm = client.get("/attachments/lieux/cafe/delete?name=convention.pdf")
    assert confirm.status_code == 200
    assert "Retirer « convention.pdf » de « Le café »" in html.unescape(confirm.text)
    assert git(data_dir / "wiki.git", "rev-parse", "main") == before, "asking removes nothing"
    removed = client.post(
        "/attachments/lieux/cafe/delete", data={"name": "convention.pdf", "csrf_token": csrf_token(confirm.text)}
    )
    assert removed.status_code == 302
    assert client.get("/files/lieux/cafe/convention.pdf").status_code == 404
    page = html.unescape(client.get("/wiki/lieux/cafe").text)
    assert "1 document retiré peut être remis" in page and "retiré le" in page and "Camille Été" in page
    back = client.post("/attachments/lieux/cafe/restore", data={"name": "convention.pdf", "csrf_token": csrf_token(page)})
    assert back.status_code == 302 and back.headers["Location"] == "/wiki/lieux/cafe#attachments"
    assert client.get("/files/lieux/cafe/convention.pdf").data == PDF
    assert "document retiré" not in html.unescape(client.get("/wiki/lieux/cafe").text)
    assert git(data_dir / "wiki.git", "log", "-1", "--format=%s").strip() == "Remet « convention.pdf » dans « Le café »"


def test_readers_do_not_see_removed_documents_and_cannot_restore(client, token, data_dir):
    api_save(client, token, "lieux/cafe", "# Le café\n")
    attach(client, token, "lieux/cafe/convention.pdf")
    assert client.delete("/api/v1/files/lieux/cafe/convention.pdf", headers=bearer(token)).status_code == 200
    assert "retiré" not in html.unescape(client.get("/wiki/lieux/cafe").text)
    refused = client.post("/attachments/lieux/cafe/restore", data={"name": "convention.pdf"})
    assert refused.status_code in (400, 401)  # no session: the form is refused before anything is done
    assert client.get("/files/lieux/cafe/convention.pdf").status_code == 404


def test_restoring_what_was_never_removed_is_a_clear_404(client, editor):
    token = editor.token()
    api_save(client, token, "lieux/cafe", "# Le café\n")
    page = client.get("/wiki/lieux/cafe").text
    missing = client.post("/attachments/lieux/cafe/restore", data={"name": "inconnu.pdf", "csrf_token": csrf_token(page)})
    assert missing.status_code == 404 and "Traceback" not in missing.text


def test_an_upload_error_leads_back_to_the_page_and_the_editor(client, editor, data_dir):
    token = editor.token()
    api_save(client, token, "lieux/cafe", "# Le café\n")
    page = client.get("/wiki/lieux/cafe").text
    before = git(data_dir / "wiki.git", "rev-parse", "main")
    refused = client.post(
        "/attachments/lieux/cafe",
        data={"file": (io.BytesIO(b"<html>pas un pdf</html>"), "faux.pdf"), "csrf_token": csrf_token(page)},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400
    text = html.unescape(refused.text)
    assert "ne correspond pas" in text
    assert 'href="/wiki/lieux/cafe#attachments"' in text and 'href="/edit/lieux/cafe"' in text
    assert git(data_dir / "wiki.git", "rev-parse", "main") == before
