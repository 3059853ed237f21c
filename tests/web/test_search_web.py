"""Search from the browser (no JavaScript needed) and from the API."""

from __future__ import annotations

import re

import pytest
from conftest import api_save


def test_search_box_on_every_page(client):
    page = client.get("/wiki/home").text
    assert 'role="search"' in page and 'action="/search"' in page and 'name="q"' in page


def test_results_page_with_snippets_and_facets(client):
    response = client.get("/search", query_string={"q": "élus mairie"})
    assert response.status_code == 200
    html = response.text
    assert "/wiki/loyers/conventions-avec-les-mairies" in html
    assert "<mark>" in html
    assert 'class="facets"' in html and "tag:" in html
    assert 'role="status"' in html


def test_a_typo_that_finds_nothing_is_corrected_on_the_page(client):
    html = client.get("/search", query_string={"q": "nouriciers"}).text
    assert "Résultats pour <em>nourriciers</em>" in html
    assert "Tiers-lieux nourriciers" in html
    # One link searches the words as typed: no correction then, and nothing found.
    link = re.search(r'<a href="(/search\?[^"]*typed=1[^"]*)">Rechercher « nouriciers » tel quel</a>', html)
    assert link
    as_typed = client.get(link.group(1).replace("&amp;", "&")).text
    assert "Résultats pour" not in as_typed and '<p class="result-count" role="status">0 résultat</p>' in as_typed


def test_malformed_query_is_not_an_error(client):
    for query in ['"unbalanced', "*", "-", "tag:", "((", "OR", "x" * 5000]:
        assert client.get("/search", query_string={"q": query}).status_code == 200


def test_pagination_parameters_are_lenient(client):
    assert client.get("/search?q=tiers&page=abc").status_code == 200
    assert client.get("/search?q=tiers&page=-5").status_code == 200


def test_search_finds_what_was_just_saved(client, auth):
    auth.create()
    token = auth.token()
    response = client.put(
        "/api/v1/pages/guides/kombucha",
        json={"markdown": "# Kombucha\n\nFermentation partagée.\n"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201
    body = client.get("/api/v1/search", query_string={"q": "kombucha"}).json
    assert body["total"] == 1 and body["results"][0]["path"] == "guides/kombucha"


def test_api_search_shape(client):
    body = client.get("/api/v1/search", query_string={"q": "tiers-lieux", "limit": 2}).json
    assert set(body) == {"query", "total", "results", "suggestion", "corrected", "fallback"}
    assert body["corrected"] is None and body["fallback"] is None
    assert body["query"] == "tiers-lieux" and body["total"] >= 2 and len(body["results"]) == 2
    assert set(body["results"][0]) == {"path", "title", "snippet", "score"}
    second = client.get("/api/v1/search", query_string={"q": "tiers-lieux", "limit": 1, "offset": 1}).json
    assert second["results"][0]["path"] == body["results"][1]["path"]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"limit": "x"}, {"offset": -1}, {"offset": "y"}])
def test_api_search_bad_parameters(client, params):
    response = client.get("/api/v1/search", query_string={"q": "x", **params})
    assert response.status_code == 400 and response.json["error"] == "invalid"


def test_private_wiki_search_needs_an_account(app_factory):
    app = app_factory({"access": {"read": "accounts"}, "storage": {"fsync": False}})
    client = app.test_client()
    assert client.get("/api/v1/search?q=tiers").status_code == 401
    assert client.get("/search?q=tiers").status_code == 302


def test_attachment_hits_link_to_the_file_and_its_page(app, client):
    from repo_store import FileChange, Identity

    wiki = app.extensions["trousse"]
    wiki.store.commit(
        [FileChange("licence/notes.txt", b"Un texte sur le tamanoir.\n")], author=Identity("x", "x@x"), message="note"
    )
    html = client.get("/search", query_string={"q": "tamanoir"}).text
    assert "/files/licence/notes.txt" in html and "/wiki/licence" in html
    served = client.get("/files/licence/notes.txt")
    assert served.status_code == 200 and served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]


def test_field_facets_are_headed_by_their_template_labels(client, auth):
    auth.create()
    token = auth.token()
    for town, owner in (("Hourtin", "mairie"), ("Pauillac", "communauté de communes")):
        fiche = f"---\nmodele: fiche-loyer\ncommune: {town}\nproprietaire: {owner}\n---\n# Local de {town}\n\nUn local prêté.\n"
        api_save(client, token, f"loyers/local-{town.lower()}", fiche)
    html = client.get("/search", query_string={"q": "local prêté"}).text
    facets = html.split('class="facets"')[1]
    headings = re.findall(r"<h2>([^<]*)</h2>", facets)
    # « Propriétaire » as the template writes it, not the key « proprietaire » made readable.
    assert "Propriétaire" in headings and "Commune" in headings and "Proprietaire" not in headings
    assert "communauté de communes" in facets
