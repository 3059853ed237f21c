"""Fiches in the browser and the API: the form above the text, the box above the page, the templates' list."""

from __future__ import annotations

import html
import re

from conftest import api_save, bearer, csrf_token, git

FRENCH = {"Accept-Language": "fr"}
PATH = "loyers/loyer-a-pauillac"


def editor_text(page: str) -> str:
    return html.unescape(re.search(r'<textarea id="markdown"[^>]*>(.*?)</textarea>', page, re.S).group(1))


def form_fields(page: str) -> dict[str, str]:
    """The fiche form's hidden ``champ-initial-*`` inputs: what each input showed."""
    return {name: html.unescape(value) for name, value in re.findall(r'name="(champ-initial-[^"]+)" value="([^"]*)"', page)}


def open_new_fiche(client) -> str:
    """Nouvelle page → a lease fiche: the editor of the new page, in the template's folder."""
    response = client.get("/new", query_string={"title": "Loyer à Pauillac", "template": "fiche-loyer"}, headers=FRENCH)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/edit/{PATH}?")
    return client.get(response.headers["Location"], headers=FRENCH).text


def test_the_editor_shows_the_fiche_as_a_form(client, editor):
    page = open_new_fiche(client)
    text = editor_text(page)
    assert "modele: fiche-loyer\n" in text and "champs" not in text and "\ncommune:\n" in text
    assert "Fiche\u00a0: Fiche loyer (expérience de bail avec une commune)" in html.unescape(page)
    assert re.search(r'<label for="champ-commune">Commune <span class="fiche-required">\(obligatoire\)</span></label>', page)
    assert re.search(
        r'<input id="champ-surface_m2" name="champ-surface_m2" aria-describedby="champ-surface_m2-unite"\s+type="number"', page
    )
    assert '<span class="fiche-unit" id="champ-surface_m2-unite">m²</span>' in page
    assert re.search(r'<select id="champ-type_de_bail"', page) and '<option value="bail commercial"' in page
    assert re.search(r'id="champ-date_debut" name="champ-date_debut"[^>]*type="date"', page)
    assert re.search(r'<textarea id="champ-negocie"', page)
    assert '<p class="help" id="champ-commune-aide">ex. Lesparre-Médoc</p>' in page
    assert set(form_fields(page)) == {
        f"champ-initial-{name}"
        for name in (
            "commune",
            "code_postal",
            "surface_m2",
            "loyer_mensuel_eur",
            "type_de_bail",
            "proprietaire",
            "date_debut",
            "duree",
            "negocie",
        )
    }


def post_editor(client, page: str, path: str, **fields: str):
    data = {
        "markdown": editor_text(page),
        "message": "",
        "base_revision": "",
        "is_new": "1",
        "csrf_token": csrf_token(page),
        **form_fields(page),
        **{f"champ-{name}": value for name, value in fields.items()},
    }
    return client.post(f"/edit/{path}", data=data, headers=FRENCH)


def test_a_fiche_filled_through_the_form_is_saved_and_shown_as_a_box(client, editor, data_dir):
    page = open_new_fiche(client)
    saved = post_editor(
        client,
        page,
        PATH,
        commune="Pauillac",
        code_postal="33250",
        surface_m2="120,5",
        loyer_mensuel_eur="300",
        type_de_bail="bail associatif",
        date_debut="2026-12-03",
        negocie="Travaux de toiture\npris en charge",
    )
    assert saved.status_code == 302, saved.text
    markdown = git(data_dir / "wiki.git", "show", f"main:{PATH}.md")
    assert "commune: Pauillac\ncode_postal: '33250'\nsurface_m2: 120.5\nloyer_mensuel_eur: 300\n" in markdown
    assert "date_debut: 2026-12-03\n" in markdown and "negocie: |-\n  Travaux de toiture\n  pris en charge\n" in markdown
    assert "licence: CC0-1.0          # les fiches forment" in markdown  # the template's comment is kept
    view = html.unescape(client.get(f"/wiki/{PATH}", headers=FRENCH).text)
    box = re.search(r'<section class="fiche-box".*?</section>', view, re.S).group(0)
    assert "<dt>Surface louée</dt>" in box and re.search(r"<dd>120,5 <span class=\"fiche-unit\">m²</span></dd>", box)
    assert "<dd>3 décembre 2026</dd>" in box and "<dd>33250</dd>" in box
    assert "Propriétaire" not in box  # left empty: not shown
    again = client.get(f"/edit/{PATH}", headers=FRENCH).text
    assert form_fields(again)["champ-initial-surface_m2"] == "120.5"


def test_invalid_fields_are_refused_in_the_form_with_nothing_lost(client, editor, data_dir):
    head = git(data_dir / "wiki.git", "rev-parse", "main")
    page = open_new_fiche(client)
    refused = post_editor(client, page, PATH, surface_m2="beaucoup", date_debut="31/02/2026", code_postal="3325")
    assert refused.status_code == 400
    text = html.unescape(refused.text)
    assert "Certains champs de la fiche ne sont pas remplis correctement" in text
    assert '<p class="fiche-error" id="champ-commune-erreur">Ce champ est obligatoire.</p>' in text
    assert "Indiquez un nombre, par exemple 12 ou 12,5." in text
    assert "Indiquez un code postal à cinq chiffres, par exemple 33340." in text
    assert 'aria-invalid="true"' in text
    # What was typed is still there, in the form and in the text.
    assert re.search(r'id="champ-surface_m2" name="champ-surface_m2"[^>]*type="text"[^>]*value="beaucoup"', text)
    assert "surface_m2: beaucoup" in editor_text(refused.text)
    assert git(data_dir / "wiki.git", "rev-parse", "main") == head


def test_the_yaml_stays_editable_in_the_text(client, editor, data_dir):
    page = open_new_fiche(client)
    text = editor_text(page).replace("\ncommune:\n", "\ncommune: Blaye\n")
    data = {
        "markdown": text,
        "message": "",
        "base_revision": "",
        "is_new": "1",
        "csrf_token": csrf_token(page),
        **form_fields(page),
        "champ-surface_m2": "80",
    }
    assert client.post(f"/edit/{PATH}", data=data, headers=FRENCH).status_code == 302
    markdown = git(data_dir / "wiki.git", "show", f"main:{PATH}.md")
    assert "commune: Blaye\n" in markdown and "surface_m2: 80\n" in markdown


def test_yaml_errors_are_explained_in_french_with_the_line(client, editor):
    page = open_new_fiche(client)
    data = {
        "markdown": '---\ntitle: "Loyer\nmodele: fiche-loyer\n---\n# Loyer\n',
        "message": "",
        "base_revision": "",
        "is_new": "1",
        "csrf_token": csrf_token(page),
    }
    refused = client.post(f"/edit/{PATH}", data=data, headers=FRENCH)
    assert refused.status_code == 400
    text = " ".join(html.unescape(refused.text).replace("\u00a0", " ").split())
    assert "L’en-tête de la page (le bloc entre les lignes « --- ») est illisible" in text
    assert "un guillemet ouvert ligne 2 n’est jamais refermé : refermez-le à la fin de la valeur." in text


def test_a_template_edited_is_declared_anew_at_once(client, token):
    """The declarations are kept between requests: a saved template must not be read from before its save."""
    before = {template["name"]: template for template in client.get("/api/v1/templates").json["templates"]}
    assert before["fiche-loyer"]["fields"][2]["label"] == "Surface louée"
    template = client.get("/api/v1/pages/_templates/fiche-loyer").json
    edited = template["markdown"].replace("libelle: Surface louée", "libelle: Surface du local", 1)
    api_save(client, token, "_templates/fiche-loyer", edited, base=template["revision"])
    after = {template["name"]: template for template in client.get("/api/v1/templates").json["templates"]}
    assert after["fiche-loyer"]["fields"][2]["label"] == "Surface du local"


def test_a_template_puts_its_pages_in_its_folder_unless_another_is_chosen(client, editor):
    chosen = client.get("/new", query_string={"title": "Hourtin", "template": "fiche-loyer", "folder": "guides"})
    assert chosen.headers["Location"].startswith("/edit/guides/hourtin?")
    blank = client.get("/new", query_string={"title": "Hourtin"})
    assert blank.headers["Location"].startswith("/edit/hourtin?")


def test_api_lists_the_templates_and_their_fields(client):
    templates = client.get("/api/v1/templates").json["templates"]
    by_name = {template["name"]: template for template in templates}
    assert {"fiche-loyer", "lieu", "formation", "guide", "montage-juridique"} <= set(by_name)
    loyer = by_name["fiche-loyer"]
    assert loyer["label"].startswith("Fiche loyer") and loyer["folder"] == "loyers"
    assert loyer["fields"][0] == {
        "name": "commune",
        "label": "Commune",
        "type": "commune",
        "required": True,
        "help": "ex. Lesparre-Médoc",
        "unit": None,
        "values": [],
    }
    assert by_name["guide"]["fields"] == []
    assert by_name["lieu"]["folder"] == "lieux"


def test_api_page_has_its_template_and_typed_fields(client, token):
    api_save(
        client,
        token,
        "loyers/blaye",
        "---\ntitle: Blaye\nmodele: fiche-loyer\ncommune: Blaye\nsurface_m2: '200'\ndate_debut: 2025-09-01\n---\n# Blaye\n",
    )
    page = client.get("/api/v1/pages/loyers/blaye").json
    assert page["template"] == "fiche-loyer"
    fields = {field["name"]: field for field in page["fields"]}
    assert list(fields)[:3] == ["commune", "code_postal", "surface_m2"]
    assert fields["surface_m2"] == {"name": "surface_m2", "label": "Surface louée", "type": "nombre", "value": 200}
    assert fields["date_debut"]["value"] == "2025-09-01" and fields["proprietaire"]["value"] is None
    plain = client.get("/api/v1/pages/home").json
    assert plain["template"] is None and plain["fields"] == []


def test_api_refuses_invalid_fields_with_a_sentence_per_field(client, token, data_dir):
    head = git(data_dir / "wiki.git", "rev-parse", "main")
    response = client.put(
        "/api/v1/pages/loyers/faux",
        json={"markdown": "---\nmodele: fiche-loyer\nsurface_m2: beaucoup\ndate_debut: demain\n---\n# Faux\n"},
        headers={**bearer(token), **FRENCH},
    )
    assert response.status_code == 400
    assert response.json["error"] == "invalid_fields"
    assert response.json["fields"] == {
        "commune": "Ce champ est obligatoire.",
        "surface_m2": "Indiquez un nombre, par exemple 12 ou 12,5.",
        "date_debut": "Indiquez une date au format AAAA-MM-JJ, par exemple 2026-12-03.",
    }
    assert response.json["message"].startswith("Certains champs de la fiche ne sont pas remplis correctement")
    assert git(data_dir / "wiki.git", "rev-parse", "main") == head


def test_pages_without_a_declared_template_save_as_before(client, token):
    api_save(client, token, "loyers/ancienne", "---\ntitle: Ancienne\ncommune: ''\nsurface_m2: beaucoup\n---\n# Ancienne\n")
    api_save(client, token, "guides/g", "---\nmodele: guide\n---\n# G\n")  # a template without fields
    api_save(client, token, "guides/h", "---\nmodele: disparu\nx: 1\n---\n# H\n")  # a template that is not there
    assert "fiche-box" not in client.get("/wiki/loyers/ancienne").text


def test_the_box_links_addresses_and_says_yes_or_no(client, token):
    api_save(
        client,
        token,
        "lieux/la-fabrique",
        "---\ntitle: La Fabrique\nmodele: lieu\ncommune: Hourtin\nlatitude: 45.1856\nlongitude: -1.0581\n"
        "site_web: https://fabrique.example.org\ncontact: bonjour@fabrique.example.org\nouvert_au_public: false\n"
        "---\n# La Fabrique\n",
    )
    view = html.unescape(client.get("/wiki/lieux/la-fabrique", headers=FRENCH).text)
    box = re.search(r'<section class="fiche-box".*?</section>', view, re.S).group(0)
    assert '<dd><a href="https://fabrique.example.org" rel="nofollow noopener">https://fabrique.example.org</a></dd>' in box
    assert '<a href="mailto:bonjour@fabrique.example.org"' in box
    assert "<dt>Ouvert au public</dt>\n      <dd>non</dd>" in box
    assert "<dd>45,1856</dd>" in box and "<dd>-1,0581</dd>" in box
