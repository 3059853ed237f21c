"""Fiches: reading a template's declaration, checking and typing values, merging the editor's form."""

from __future__ import annotations

import pytest

from repo_store.pages import FrontMatterError, load_front_matter, parse_page
from wiki.app.content_rules import page_problems
from wiki.app.fiches import (
    Field,
    InvalidFields,
    check_fields,
    check_value,
    declaration,
    field_problems,
    form_entries,
    merge_fields,
    submitted_values,
    template_of,
    typed_values,
)
from wiki.app.page_templates import instantiate

LOYER = {
    "modele": "Fiche loyer",
    "dossier": "loyers",
    "champs": [
        {"nom": "commune", "libelle": "Commune", "type": "commune", "requis": True, "aide": "ex. Lesparre-Médoc"},
        {"nom": "surface_m2", "libelle": "Surface", "type": "nombre", "unite": "m²"},
        {"nom": "type_de_bail", "libelle": "Type de bail", "type": "choix", "valeurs": ["bail commercial", "convention"]},
        {"nom": "debut", "libelle": "Début", "type": "date"},
        {"nom": "public", "libelle": "Ouvert au public", "type": "oui_non"},
    ],
}
TEMPLATE_TEXT = """---
modele: Fiche loyer
dossier: loyers
licence: CC0-1.0  # données ouvertes
champs:
  - nom: commune
    libelle: Commune
    type: commune
    requis: true
  # la surface, en m²
  - nom: surface_m2
    type: nombre
    unite: m²
tags: [loyers]
---

# Fiche loyer

## Le local
"""


def field(kind: str, **options) -> Field:
    return Field(name="x", label="X", type=kind, **options)


@pytest.mark.parametrize(
    ("kind", "value", "typed"),
    [
        ("texte", "  Un café  ", "Un café"),
        ("texte", 12, "12"),
        ("texte_long", "Ligne 1\nLigne 2", "Ligne 1\nLigne 2"),
        ("nombre", 85, 85),
        ("nombre", 12.5, 12.5),
        ("nombre", "12,5", 12.5),
        ("nombre", "1 200", 1200),
        ("nombre", "-3", -3),
        ("date", "2026-12-03", "2026-12-03"),
        ("date", "3/12/2026", "2026-12-03"),
        ("oui_non", True, True),
        ("oui_non", "non", False),
        ("oui_non", "Oui", True),
        ("url", "https://tiers-lieux.example.org/lieu", "https://tiers-lieux.example.org/lieu"),
        ("email", "contact@lieu.example.org", "contact@lieu.example.org"),
        ("commune", "Saint-Médard-en-Jalles", "Saint-Médard-en-Jalles"),
        ("commune", "L’Île-d’Yeu", "L’Île-d’Yeu"),
        ("code_postal", "01000", "01000"),
        ("code_postal", 33340, "33340"),
        ("latitude", 45.3106, 45.3106),
        ("latitude", "-90", -90.0),
        ("longitude", "-0,9358", -0.9358),
        ("licence", "cc-by-sa-4.0", "CC-BY-SA-4.0"),
    ],
)
def test_each_type_accepts_and_types_its_values(kind, value, typed):
    assert check_value(field(kind), value) == (typed, None)


@pytest.mark.parametrize(
    ("kind", "value", "sentence"),
    [
        ("texte", ["a", "b"], "not a list"),
        ("nombre", "beaucoup", "Enter a number"),
        ("nombre", True, "Enter a number"),
        ("nombre", "nan", "Enter a number"),
        ("nombre", "inf", "Enter a number"),
        ("date", "2026-02-30", "YYYY-MM-DD"),
        ("date", "demain", "YYYY-MM-DD"),
        ("date", "2026-12-03T10:00:00", "YYYY-MM-DD"),
        ("oui_non", "peut-être", "yes or no"),
        ("url", "www.exemple.org", "web address"),
        ("url", "javascript:alert(1)", "web address"),
        ("email", "camille(at)exemple.org", "e-mail address"),
        ("commune", "33340 Lesparre", "commune"),
        ("code_postal", "3334", "five-digit"),
        ("code_postal", 512, "five-digit"),  # 01000 written without quotes: YAML reads an octal number
        ("latitude", "91", "from -90 to 90"),
        ("longitude", "-181", "from -180 to 180"),
        ("licence", "Proprietary-1.0", "not a licence this wiki knows"),
    ],
)
def test_each_type_refuses_what_it_cannot_hold(kind, value, sentence):
    _value, problem = check_value(field(kind), value)
    assert problem is not None
    assert sentence in problem.describe(lambda key, **values: key % values if values else key)


def test_a_choice_is_among_its_values_whatever_the_case():
    choice = field("choix", values=("bail commercial", "convention d'occupation précaire"))
    assert check_value(choice, "Bail  Commercial") == ("bail commercial", None)
    _value, problem = check_value(choice, "bail verbal")
    assert problem is not None and dict(problem.values)["values"] == "bail commercial, convention d'occupation précaire"
    assert check_value(field("choix"), "tout texte") == ("tout texte", None)  # no values declared: free text


def test_empty_is_none_and_required_says_so():
    for empty in (None, "", "   ", []):
        assert check_value(field("nombre"), empty) == (None, None)
        value, problem = check_value(field("nombre", required=True), empty)
        assert value is None and problem is not None and problem.key == "This field is required."


def test_typed_values_are_numbers_iso_dates_booleans_and_none():
    found = declaration("fiche-loyer", LOYER)
    meta = {"commune": "Pauillac", "surface_m2": "120", "debut": "2026-01-15", "public": "oui"}
    assert typed_values(found.fields, meta) == {
        "commune": "Pauillac",
        "surface_m2": 120,
        "type_de_bail": None,
        "debut": "2026-01-15",
        "public": True,
    }


def test_a_declaration_is_read_tolerantly():
    found = declaration(
        "lieu",
        {
            "modele": "Lieu",
            "dossier": "/lieux/",
            "champs": [
                "adresse",
                {"nom": "surface", "type": "inconnu", "requis": "oui"},
                {"nom": "bad name"},
                {"libelle": "sans nom"},
                {"nom": "modele"},
                {"nom": "adresse", "type": "nombre"},
                42,
                {"nom": "type", "type": "choix", "valeurs": "a, b ,a"},
            ],
        },
    )
    assert found.label == "Lieu" and found.folder == "lieux"
    assert [(f.name, f.label, f.type, f.required) for f in found.fields] == [
        ("adresse", "Adresse", "texte", False),
        ("surface", "Surface", "texte", True),
        ("type", "Type", "choix", False),
    ]
    assert found.fields[2].values == ("a", "b")


def test_an_old_template_without_declaration_still_works():
    old = declaration("guide", {"modele": "Guide pratique", "tags": []})
    assert (old.label, old.folder, old.fields) == ("Guide pratique", None, ())
    assert declaration("x", {"champs": "pas une liste", "dossier": ["non"]}, "Titre").fields == ()
    assert declaration("x", {}, "Titre").label == "Titre"
    assert declaration("x", {"dossier": "../ailleurs"}).folder is None
    page = instantiate("---\nmodele: Guide\ntags: []  # mots\n---\n\n# Guide\n", "Mon guide", "guide")
    assert page == '---\ntitle: "Mon guide"\nmodele: guide\ntags: []  # mots\n---\n\n# Mon guide\n'


def test_a_new_page_records_its_template_and_gets_a_key_per_field():
    page = instantiate(TEMPLATE_TEXT, "Loyer à Pauillac", "fiche-loyer")
    front = page.split("---\n")[1]
    assert front == (
        'title: "Loyer à Pauillac"\nmodele: fiche-loyer\nlicence: CC0-1.0  # données ouvertes\n'
        "tags: [loyers]\ncommune:\nsurface_m2:\n"
    )
    assert page.endswith("# Loyer à Pauillac\n\n## Le local\n")
    meta = parse_page(page).meta
    assert meta["modele"] == "fiche-loyer" and "champs" not in meta and "dossier" not in meta


def test_template_of_names_the_template_of_pages_only():
    assert template_of("loyers/pauillac", {"modele": "fiche-loyer"}) == "fiche-loyer"
    assert template_of("loyers/pauillac", {"modele": "fiche-loyer.md"}) == "fiche-loyer"
    assert template_of("_templates/fiche-loyer", {"modele": "Fiche loyer"}) is None
    assert template_of("x", {"modele": "../secret"}) is None
    assert template_of("x", {"modele": ["a"]}) is None
    assert template_of("x", {}) is None


def test_check_fields_refuses_with_a_sentence_per_field():
    def read(name: str) -> str | None:
        return TEMPLATE_TEXT if name == "fiche-loyer" else None

    good = "---\nmodele: fiche-loyer\ncommune: Pauillac\nsurface_m2: 12\n---\n# P\n"
    check_fields("loyers/p", good, read)
    check_fields("loyers/p", "---\nmodele: autre\nsurface_m2: x\n---\n", read)  # no such template: nothing declared
    check_fields("loyers/p", "---\nsurface_m2: x\n---\n", read)  # made from no template
    check_fields("loyers/p", "---\nmodele: [fiche\n---\n", read)  # unreadable: the content rules say why
    check_fields("_templates/fiche-loyer", TEMPLATE_TEXT, read)
    with pytest.raises(InvalidFields) as refused:
        check_fields("loyers/p", "---\nmodele: fiche-loyer\nsurface_m2: beaucoup\n---\n", read)
    english = refused.value.sentences(lambda key, **values: key % values if values else key)
    assert english == {"commune": "This field is required.", "surface_m2": "Enter a number, such as 12 or 12.5."}
    assert refused.value.code == "invalid_fields" and refused.value.status == 400
    assert refused.value.details()["fields"] == english
    assert "Commune: This field is required." in refused.value.describe(lambda key, **values: key % values if values else key)


# -- the editor's form ----------------------------------------------------------

PAGE = """---
title: Loyer à Pauillac
modele: fiche-loyer
# un commentaire gardé
commune: ""   # ex. Lesparre
surface_m2:
tags:
  - loyers
  - mairie
autre: "gardé tel quel"
---

# Loyer à Pauillac

Texte  avec  espaces   \r
et une fin sans saut de ligne"""


def test_merge_writes_only_changed_inputs_and_keeps_the_rest_byte_for_byte():
    found = declaration("fiche-loyer", LOYER)
    shown = {entry.field.name: entry.value for entry in form_entries(found, parse_page(PAGE).meta)}
    assert shown == {"commune": "", "surface_m2": "", "type_de_bail": "", "debut": "", "public": ""}
    sent = {**shown, "commune": "Pauillac", "surface_m2": "12,5", "debut": "2026-12-03", "public": "oui"}
    merged = merge_fields(PAGE, found, sent, shown)
    body = PAGE[PAGE.index("\n---\n") :]
    assert merged.endswith(body)
    assert merged[: -len(body)] == (
        "---\ntitle: Loyer à Pauillac\nmodele: fiche-loyer\n# un commentaire gardé\ncommune: Pauillac\n"
        'surface_m2: 12.5\ntags:\n  - loyers\n  - mairie\nautre: "gardé tel quel"\ndebut: 2026-12-03\npublic: true'
    )
    meta = parse_page(merged).meta
    assert (meta["surface_m2"], meta["debut"], meta["public"], meta["tags"]) == (12.5, "2026-12-03", True, ["loyers", "mairie"])
    assert merge_fields(PAGE, found, shown, shown) == PAGE  # nothing changed in the form: not one byte changes


def test_merge_lets_an_expert_edit_the_yaml_and_the_form_win_only_where_it_changed():
    found = declaration("fiche-loyer", LOYER)
    text = PAGE.replace('commune: ""   # ex. Lesparre', "commune: Blaye")  # typed in the text area
    shown = {"commune": "", "surface_m2": "", "type_de_bail": "", "debut": "", "public": ""}
    merged = merge_fields(text, found, {**shown, "surface_m2": "80"}, shown)
    assert parse_page(merged).meta["commune"] == "Blaye" and parse_page(merged).meta["surface_m2"] == 80


def test_merge_keeps_what_was_typed_even_when_invalid_and_quotes_what_yaml_would_misread():
    found = declaration("fiche-loyer", LOYER)
    shown = {"commune": "", "surface_m2": "", "type_de_bail": "", "debut": "", "public": ""}
    merged = merge_fields(PAGE, found, {**shown, "surface_m2": "beaucoup", "commune": "oui"}, shown)
    meta = parse_page(merged).meta
    assert meta["surface_m2"] == "beaucoup" and meta["commune"] == "oui"  # a string, not YAML's true
    assert "surface_m2" in field_problems(found.fields, meta)


def test_merge_unchecks_a_box_and_clears_a_field():
    found = declaration("fiche-loyer", LOYER)
    text = PAGE.replace("surface_m2:\n", "surface_m2: 40\npublic: true\n")
    shown = {entry.field.name: entry.value for entry in form_entries(found, parse_page(text).meta)}
    assert shown["public"] == "oui" and shown["surface_m2"] == "40"
    merged = merge_fields(text, found, {**shown, "public": "", "surface_m2": ""}, shown)
    meta = parse_page(merged).meta
    assert meta["public"] is False and meta["surface_m2"] is None and "surface_m2:\n" in merged


def test_merge_leaves_unreadable_yaml_alone_and_adds_a_front_matter_when_there_is_none():
    found = declaration("fiche-loyer", LOYER)
    broken = "---\nmodele: fiche-loyer\ncommune: [Pauillac\n---\n# P\n"
    shown = {"commune": ""}
    assert merge_fields(broken, found, {"commune": "Blaye"}, shown) == broken
    assert merge_fields("# P\n", found, {"commune": "Blaye"}, shown) == "---\ncommune: Blaye\n---\n# P\n"


def test_submitted_values_come_from_the_form_inputs_the_editor_showed():
    found = declaration("fiche-loyer", LOYER)
    form = {"champ-initial-commune": "", "champ-commune": "Blaye", "champ-initial-public": "oui", "champ-surface_m2": "9"}
    assert submitted_values(found, form) == ({"commune": "Blaye", "public": ""}, {"commune": "", "public": "oui"})


def test_form_entries_pick_input_types_and_keep_values_a_browser_would_blank():
    found = declaration("fiche-loyer", LOYER)
    entries = {e.field.name: e for e in form_entries(found, {"surface_m2": "beaucoup", "type_de_bail": "bail verbal"})}
    assert entries["surface_m2"].input == "text" and entries["surface_m2"].value == "beaucoup"
    assert entries["debut"].input == "date" and entries["public"].input == "checkbox"
    assert entries["type_de_bail"].input == "select"
    assert entries["type_de_bail"].choices == ("bail commercial", "convention", "bail verbal")
    again = form_entries(found, {}, submitted={"commune": "Blay"}, initial={"commune": ""}, errors={"commune": "Non."})
    assert (again[0].value, again[0].initial, again[0].error) == ("Blay", "", "Non.")


# -- YAML mistakes, in words ---------------------------------------------------


@pytest.mark.parametrize(
    ("front", "reason", "line"),
    [
        ('title: "Loyer\nmodele: x\n', "unclosed_quote", 2),
        ("title: [a\nb: 2\n", "unclosed_bracket", 2),
        ("a: b: c\n", "colon_in_value", 2),
        ("a: b\nb\nc: d\n", "missing_colon", 3),
        ("a: 1\n\tb: 2\n", "tab", 3),
        ("a: @x\n", "reserved_character", 2),
        ("a: *x\n", "alias", 2),
        ("a:\n  - x\n b: 2\n", "indentation", 4),
        ("x: 2024-02-30\n", "bad_value", None),
        ("- a\n", "not_mapping", None),
    ],
)
def test_yaml_mistakes_are_named_with_their_line(front, reason, line):
    with pytest.raises(FrontMatterError) as error:
        load_front_matter(front)
    assert (error.value.reason, error.value.line) == (reason, line)


def test_a_yaml_mistake_is_explained_with_its_line():
    problems = page_problems(
        "---\ntitle: Loyer\ncommune: [Pauillac\n---\n# L\n", max_bytes=10**6, max_nesting=20, max_table_cells=99
    )
    sentence = problems[0].describe(lambda key, **values: key % values if values else key)
    assert sentence == (
        "The front matter (the block between the “---” lines) cannot be read: a bracket “[” or a brace “{” opened on line 3 "
        "is never closed, or a comma is missing between its items."
    )
