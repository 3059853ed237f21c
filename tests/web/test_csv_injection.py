"""Collection CSV exports: nothing a page's front matter holds reaches a spreadsheet as a formula.

Cells and column names that start with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return get a leading ``'`` (OWASP's advice); plain numbers, signed
or not, with a decimal point or a French decimal comma, stay numbers.
"""

from __future__ import annotations

import csv
import io
import json

from conftest import api_save

HOSTILE_KEYS = ["=cmd", "+somme", "-moins", "@arobase", "\tonglet", "\rretour", " =espace", "\uff1dpleine"]
HOSTILE_VALUES = {
    "formule": '=HYPERLINK("http://evil.example","clic")',
    "plus": "+33 5 56 00 00 00",
    "calcul": "-1+2",
    "appel": "@SUM(A1:A9)",
    "onglet": "\t=1+1",
    "retour": "\r=1+1",
    "blanc": "  =1+1",
    "pleine": "\uff1d1+1",
    "liste": ["=1+1", "x"],
}
NUMBERS = {
    "longitude": -0.93,
    "latitude": 45.2,
    "montant": -12,
    "texte_negatif": "-12",
    "virgule": "-1,5",
    "exposant": -1.5e-7,
    "positif": "+4",
}


def save_fiche(client, token, path: str, fields: dict) -> None:
    front = "\n".join(
        f"{json.dumps(key, ensure_ascii=False)}: {json.dumps(value, ensure_ascii=False)}" for key, value in fields.items()
    )
    api_save(client, token, path, f"---\ntitle: Fiche\nlicence: CC0-1.0\n{front}\n---\n\nTexte.\n")


def exported(client, folder: str) -> list[list[str]]:
    response = client.get(f"/collections/{folder}.csv")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.data.decode("utf-8"), newline="")))


def test_hostile_values_are_neutralised_and_numbers_stay_numbers(client, token):
    save_fiche(client, token, "piege/valeurs", {**HOSTILE_VALUES, **NUMBERS})
    header, row = exported(client, "piege")
    cells = dict(zip(header, row, strict=True))
    for key, value in HOSTILE_VALUES.items():
        text = ", ".join(value) if isinstance(value, list) else value
        assert cells[key] == "'" + text, key  # shown as typed, never run
    assert cells["longitude"] == "-0.93" and float(cells["longitude"]) == -0.93
    assert cells["montant"] == "-12" and cells["texte_negatif"] == "-12"
    assert cells["virgule"] == "-1,5"  # a French decimal: a number to a French spreadsheet, never a formula
    assert float(cells["exposant"]) == -1.5e-7 and cells["positif"] == "+4"
    assert cells["latitude"] == "45.2"


def test_hostile_column_names_are_neutralised(client, token):
    save_fiche(client, token, "piege/cles", {key: "valeur" for key in HOSTILE_KEYS})
    header, row = exported(client, "piege")
    assert header[:2] == ["path", "title"]
    assert sorted(header[2:]) == sorted(["licence", *("'" + key for key in HOSTILE_KEYS)])
    assert row[0] == "piege/cles"
    for name, cell in zip(header, row, strict=True):
        assert not name.lstrip().startswith(("=", "+", "-", "@", "\t", "\r", "\uff1d")), name
        assert not cell.lstrip().startswith(("=", "+", "-", "@", "\t", "\r", "\uff1d")), cell


def test_hostile_paths_and_titles_are_neutralised(app, client):
    """The web refuses such page names, but a push may bring them: the path column is a cell like any other."""
    from repo_store import Identity

    store = app.extensions["trousse"].store
    store.save_page(
        "=piege/appel",
        '---\ntitle: "@titre"\n---\n\nTexte.\n',
        author=Identity("Camille", "c@example.org"),
        message="Poussé",
        base_revision=None,
    )
    header, row = exported(client, "=piege")
    assert header[:2] == ["path", "title"]
    assert row[:2] == ["'=piege/appel", "'@titre"]
