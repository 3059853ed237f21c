"""Folders and moves by title: new pages in any folder, red links next to their page, renames that leave redirects."""

from __future__ import annotations

import html
import urllib.parse

import pytest
from conftest import api_save, bearer, csrf_token, git

from wiki.app.titles import with_title


def page_links(text: str) -> list[str]:
    return [html.unescape(part.split('"', 1)[0]) for part in text.split('href="')[1:]]


def test_the_new_page_form_offers_every_folder_and_makes_a_new_one(client, editor):
    token = editor.token()
    api_save(client, token, "juridique/statuts/association", "# Statuts d'association\n")
    form = client.get("/new")
    assert 'value="juridique"' in form.text and 'value="juridique/statuts"' in form.text
    made = client.get("/new", query_string={"title": "Bail précaire", "folder": "juridique", "new_folder": "Baux & conventions"})
    assert made.status_code == 302
    assert made.headers["Location"].startswith("/edit/juridique/baux-conventions/bail-precaire?")
    editor_page = client.get(made.headers["Location"])
    saved = client.post(
        "/edit/juridique/baux-conventions/bail-precaire",
        data={"markdown": "# Bail précaire\n", "is_new": "1", "csrf_token": csrf_token(editor_page.text)},
    )
    assert saved.status_code == 302
    assert client.get("/api/v1/pages/juridique/baux-conventions/bail-precaire").status_code == 200


def test_a_new_folder_needs_letters(client, editor):
    refused = client.get("/new", query_string={"title": "Page", "new_folder": "&&&"})
    assert refused.status_code == 400 and 'role="alert"' in refused.text


def test_a_red_link_offers_the_page_next_to_the_page_that_links_to_it(client, editor):
    token = editor.token()
    api_save(client, token, "guides/accueil", "# Accueil\n\nVoir [[Nouvelle idée]] et [[juridique/Statuts types]].\n")
    links = page_links(client.get("/wiki/guides/accueil").text)
    offer = next(link for link in links if link.startswith("/new?"))
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(offer).query)
    assert query == {"offer": ["1"], "title": ["Nouvelle idée"], "folder": ["guides"]}
    assert any(link.startswith("/edit/juridique/statuts-types?") for link in links)
    shown = client.get(offer)
    assert shown.status_code == 200, "an offer shows the form filled in rather than jumping to the editor"
    assert 'value="Nouvelle idée"' in html.unescape(shown.text)
    assert '<option value="guides" selected>' in shown.text


def test_a_page_moves_by_title_and_folder_after_showing_the_new_address(client, editor, data_dir):
    token = editor.token()
    api_save(client, token, "guides/loyers", "---\ntags: [bail]\n---\n# Loyers\n\nLe texte reste.\n")
    api_save(client, token, "juridique/index", "# Juridique\n")
    form = client.get("/move/guides/loyers")
    assert 'value="Loyers"' in form.text and '<option value="guides" selected>' in form.text
    fields = {"csrf_token": csrf_token(form.text), "title": "Loyers des mairies", "folder": "juridique"}
    check = client.post("/move/guides/loyers", data={**fields, "action": "check"})
    assert check.status_code == 200
    assert "/wiki/juridique/loyers-des-mairies" in check.text and "/wiki/guides/loyers" in check.text
    assert client.get("/api/v1/pages/guides/loyers").status_code == 200, "nothing moves before it is confirmed"
    moved = client.post("/move/guides/loyers", data={**fields, "action": "move"})
    assert moved.status_code == 302 and moved.headers["Location"] == "/wiki/juridique/loyers-des-mairies"
    page = client.get("/api/v1/pages/juridique/loyers-des-mairies").json
    assert page["title"] == "Loyers des mairies"
    assert page["markdown"] == "---\ntags: [bail]\n---\n# Loyers des mairies\n\nLe texte reste.\n"
    old = client.get("/wiki/guides/loyers")
    assert old.status_code == 301 and old.headers["Location"] == "/wiki/juridique/loyers-des-mairies"
    repository = data_dir / "wiki.git"
    messages = git(repository, "log", "-2", "--format=%s").splitlines()
    assert messages == ["Renomme « Loyers » en « Loyers des mairies »", "Déplace « Loyers » vers juridique/loyers-des-mairies"]


def test_renaming_in_place_changes_the_title_and_the_address(client, editor):
    token = editor.token()
    api_save(client, token, "guides/brouillon", "---\ntitle: Brouillon\n---\nCorps\n")
    form = client.get("/move/guides/brouillon")
    fields = {"csrf_token": csrf_token(form.text), "title": "Guide du bail", "folder": "guides", "action": "move"}
    assert client.post("/move/guides/brouillon", data=fields).headers["Location"] == "/wiki/guides/guide-du-bail"
    assert client.get("/raw/guides/guide-du-bail").text == '---\ntitle: "Guide du bail"\n---\nCorps\n'


def test_a_move_onto_an_existing_page_is_refused_with_the_form_kept(client, editor):
    token = editor.token()
    api_save(client, token, "a", "# A\n")
    api_save(client, token, "b", "# B\n")
    form = client.get("/move/a")
    refused = client.post("/move/a", data={"csrf_token": csrf_token(form.text), "title": "B", "folder": "", "action": "move"})
    assert refused.status_code == 409 and 'role="alert"' in refused.text and 'value="B"' in refused.text
    assert client.get("/raw/a").text == "# A\n"


def test_a_folder_is_renamed_with_its_pages_documents_and_redirects(client, editor, data_dir):
    token = editor.token()
    api_save(client, token, "guides/loyers", "# Loyers\n")
    api_save(client, token, "guides/bail/precaire", "# Précaire\n")
    pdf = b"%PDF-1.4\n% test\n"
    assert client.put("/api/v1/files/guides/loyers/convention.pdf", data=pdf, headers=bearer(token)).status_code == 201
    listing = client.get("/pages/guides")
    assert "Renommer ce dossier" in listing.text
    renamed = client.post("/move-folder/guides", data={"csrf_token": csrf_token(listing.text), "name": "Guides pratiques"})
    assert renamed.status_code == 302 and renamed.headers["Location"] == "/pages/guides-pratiques"
    assert client.get("/api/v1/pages/guides-pratiques/loyers").status_code == 200
    assert client.get("/api/v1/pages/guides-pratiques/bail/precaire").status_code == 200
    assert client.get("/files/guides-pratiques/loyers/convention.pdf").data == pdf
    assert client.get("/wiki/guides/bail/precaire").headers["Location"] == "/wiki/guides-pratiques/bail/precaire"
    files = git(data_dir / "wiki.git", "ls-tree", "-r", "--name-only", "main").split()
    assert not [name for name in files if name.startswith("guides/")]
    followed = git(data_dir / "wiki.git", "log", "--follow", "--format=%H", "main", "--", "guides-pratiques/loyers.md")
    assert len(followed.split()) == 2, "git sees the move as a rename: the page's history follows it"


def test_folders_move_through_the_api_and_refuse_an_existing_target(client, token):
    api_save(client, token, "guides/loyers", "# Loyers\n")
    api_save(client, token, "fiches/autre", "# Autre\n")
    taken = client.post("/api/v1/folders/guides/move", json={"to": "fiches"}, headers=bearer(token))
    assert taken.status_code == 409 and taken.json["error"] == "conflict"
    missing = client.post("/api/v1/folders/nulle-part/move", json={"to": "ailleurs"}, headers=bearer(token))
    assert missing.status_code == 404
    moved = client.post("/api/v1/folders/guides/move", json={"to": "ressources/guides"}, headers=bearer(token))
    assert moved.status_code == 200 and moved.json["path"] == "ressources/guides"
    retitled = client.post(
        "/api/v1/pages/ressources/guides/loyers/move",
        json={"to": "ressources/loyers", "title": "Les loyers"},
        headers=bearer(token),
    )
    assert retitled.status_code == 200
    assert client.get("/api/v1/pages/ressources/loyers").json["title"] == "Les loyers"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("---\ntitle: Ancien\ntags: [a]\n---\n# Tête\n", '---\ntitle: "Neuf « x »"\ntags: [a]\n---\n# Tête\n'),
        ("---\ntitle: >\n  plié\n  sur deux\n---\ncorps\n", '---\ntitle: "Neuf « x »"\n---\ncorps\n'),
        ("Intro\n\n```\n# pas un titre\n```\n# Vrai\r\nsuite\n", "Intro\n\n```\n# pas un titre\n```\n# Neuf « x »\r\nsuite\n"),
        ("Rien\n", "# Neuf « x »\n\nRien\n"),
        ("---\ntags: [a]\n---\nCorps\n", "---\ntags: [a]\n---\n# Neuf « x »\n\nCorps\n"),
    ],
)
def test_a_new_title_changes_one_line_only(text, expected):
    assert with_title(text, "Neuf « x »") == expected
