"""The search page and API: field facets, the most-words notice, an applied correction."""

from __future__ import annotations

import re

from tests.conftest import api_save

LIEU = """---
title: {title}
commune: {commune}
type_de_lieu: {kind}
---

# {title}

Un tiers-lieu avec un atelier de réparation et un financement participatif.
"""


def _fill(client, token):
    api_save(client, token, "lieux/fabrique", LIEU.format(title="La Fabrique", commune="Bordeaux", kind="fablab"))
    api_save(client, token, "lieux/hangar", LIEU.format(title="Le Hangar", commune="La Rochelle", kind="fablab"))
    api_save(client, token, "lieux/grange", LIEU.format(title="La Grange", commune="Bordeaux", kind="café"))


def test_fields_are_searched_and_shown_as_facets(client, token):
    _fill(client, token)
    found = client.get("/api/v1/search", query_string={"q": "commune:bordeaux"}).json
    assert {hit["path"] for hit in found["results"]} == {"lieux/fabrique", "lieux/grange"}
    assert found["corrected"] is None and found["fallback"] is None
    html = client.get("/search", query_string={"q": "atelier réparation"}).text
    facets = re.search(r'<aside class="facets".*?</aside>', html, re.S).group(0)
    assert "<h2>Commune</h2>" in facets and "<h2>Type de lieu</h2>" in facets
    assert re.search(r'>Bordeaux</a> <span class="count">\(2\)</span>', facets)
    assert "commune:%22La+Rochelle%22" in facets
    narrowed = client.get("/search", query_string={"q": 'atelier commune:"La Rochelle"'}).text
    assert "Le Hangar" in narrowed and "La Fabrique" not in narrowed


def test_a_typo_is_corrected_and_said(client, token):
    _fill(client, token)
    found = client.get("/api/v1/search", query_string={"q": "finacement"}).json
    assert found["corrected"] == "financement" and found["total"] >= 3
    html = client.get("/search", query_string={"q": "finacement"}).text
    assert "Résultats pour <em>financement</em>" in html


def test_pages_with_most_of_the_words_are_announced(client, token):
    _fill(client, token)
    found = client.get("/api/v1/search", query_string={"q": "combien coûte un atelier de réparation à xyzville"}).json
    assert found["fallback"] == "any" and found["total"] >= 3
    html = client.get("/search", query_string={"q": "combien coûte un atelier de réparation à xyzville"}).text
    assert "pages avec la plupart" in html


def test_malformed_queries_never_fail(client):
    for text in ['commune:"', "a:b:c", "-", '"', "OR OR", "x" * 3000, "type_de_lieu:"]:
        assert client.get("/search", query_string={"q": text}).status_code == 200
        assert client.get("/api/v1/search", query_string={"q": text}).status_code == 200
