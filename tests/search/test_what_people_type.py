"""What people type that plain AND search missed: fiche fields, questions, compounds, typos, stemming traps, links."""

from __future__ import annotations

import pytest

from search import Document, SearchIndex
from search.analysis import french_stems, stems_by_position
from search.index import ANALYSIS_FILE, Plan
from search.schema import MAX_FIELD_VALUE_CHARS, MAX_FIELDS, fiche_fields
from search.spelling import edit_distance

LIEU = {"modele": "lieu", "commune": "Bordeaux", "code_postal": "33000", "activites": ["coworking", "fablab"]}

DOCUMENTS = [
    Document("lieux/la-fabrique", "La Fabrique", "Un lieu ouvert à tous.", meta=LIEU),
    Document(
        "lieux/le-hangar",
        "Le Hangar",
        "Ateliers partagés.",
        meta={"modele": "lieu", "commune": "La Rochelle", "code_postal": "17000", "activites": ["fablab"]},
    ),
    Document("lieux/la-grange", "La Grange", "Café associatif.", meta={"modele": "lieu", "commune": "Bordeaux"}),
    Document("loyers/bail", "Bail de Bordeaux", "Un loyer modeste.", meta={"commune": "Pessac", "notes": ["a", "b"]}),
    Document("guides/licences", "Choisir une licence", "La licence ouverte permet de partager des données publiques."),
    Document("guides/open-data", "Ouvrir ses données", "Publier des données sous une licence libre."),
    Document("guides/partage", "Partager", "Partager ses outils entre lieux."),
    Document("guides/co", "Co-construction du projet", "La co-construction avec les habitants."),
    Document("guides/coco", "Démarche", "Une coconstruction réussie avec les e-mails des habitants."),
    Document("guides/tiers", "Réseau", "Les tierslieux du département."),
    Document("guides/financement", "Financement", "Le financement participatif des lieux. " * 3),
    Document("juridique/association", "Créer une association", "Les statuts de l'association loi 1901."),
    Document("juridique/associes", "Les associés d'une SARL", "Les associés apportent le capital."),
    Document("guides/locaux", "Trouver des locaux", "Visiter les locaux vacants."),
    Document("guides/construire", "Construire ensemble", "Construire un projet commun."),
    Document("guides/baux", "Les baux commerciaux", "Comparer les baux."),
    Document("guides/liens", "Liens utiles", "Voir la page officielle.", links="https://www.legifrance.gouv.fr/code-civil"),
    Document(
        "guides/voisins",
        "Jardin et cuisine",
        "Un jardin partagé derrière la cuisine collective. La cuisine du jardin est ouverte.",
    ),
    Document("guides/loin", "Cuisine", "Une cuisine. " + "Autre chose encore ici. " * 5 + "Un jardin au fond."),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    search = SearchIndex(tmp_path_factory.mktemp("people") / "index")
    search.update(lambda _last: Plan("a" * 40, DOCUMENTS, rebuild=True))
    yield search
    search.close()


def found(index, text, **options):
    return [hit.path for hit in index.search(text, limit=100, **options).hits]


# -- (a) fiche fields ---------------------------------------------------------


def test_fiche_fields_are_found_by_word_and_by_field(index):
    assert set(found(index, "33000")) == {"lieux/la-fabrique"}
    assert set(found(index, "commune:bordeaux")) == {"lieux/la-fabrique", "lieux/la-grange"}
    assert set(found(index, 'commune:"La Rochelle"')) == {"lieux/le-hangar"}
    assert set(found(index, "activites:fablab")) == {"lieux/la-fabrique", "lieux/le-hangar"}
    assert set(found(index, "commune:Pessac")) == {"loyers/bail"}  # a plain page's scalar key
    # Bordeaux in a title, not in a field: found by the word, not by the field.
    assert "loyers/bail" in found(index, "bordeaux") and "loyers/bail" not in found(index, "commune:bordeaux")
    # A key no page has is read as plain words, never an error.
    assert found(index, "inconnu:bordeaux") == []
    assert index.search("commune:").total == 0 and index.search('commune:"').total == 0


def test_fields_are_facets_of_the_results(index):
    results = index.search("lieu OR fablab OR ateliers OR café", facets=True)
    facets = dict(results.field_facets)
    assert facets["commune"] == [("Bordeaux", 2), ("La Rochelle", 1)]
    assert dict(facets["modele"]) == {"lieu": 3}
    assert "code_postal" in facets
    narrowed = index.search("commune:bordeaux", facets=True)
    assert dict(narrowed.field_facets)["commune"] == [("Bordeaux", 2)]


def test_which_front_matter_keys_are_fields():
    assert fiche_fields({"title": "x", "tags": ["a"], "commune": "Lyon", "liste": ["a"], "d": {"x": 1}}) == [("commune", "Lyon")]
    fiche = fiche_fields({"modele": "lieu", "activites": ["a", "b"], "ouvert": True, "surface": 12.5})
    assert fiche == [("modele", "lieu"), ("activites", "a"), ("activites", "b"), ("ouvert", "oui"), ("surface", "12.5")]
    many = fiche_fields({f"k{n}": "v" * 1000 for n in range(100)})
    assert len(many) == MAX_FIELDS and all(len(value) == MAX_FIELD_VALUE_CHARS for _key, value in many)


# -- (b) pages with most of the words -----------------------------------------


def test_a_question_finds_pages_with_most_of_its_words(index):
    results = index.search("quelle licence pour partager des données")
    assert results.fallback == "any"
    paths = [hit.path for hit in results.hits]
    # Two of the three meaningful words first (licence and données, the rarest), "partager" alone last or absent.
    assert paths[:2] == ["guides/licences", "guides/open-data"] or paths[0] == "guides/licences"
    assert set(paths[:2]) == {"guides/licences", "guides/open-data"}
    assert "guides/partage" not in paths[:2]


def test_pages_with_every_word_come_first_and_no_fallback_when_many(index):
    results = index.search("licence données")
    assert [hit.path for hit in results.hits][:2] == ["guides/open-data", "guides/licences"] or results.total >= 2
    assert all(path in {"guides/open-data", "guides/licences"} for path in found(index, "licence données", fallback=False))
    # Fallback keeps filters and exclusions.
    assert "guides/open-data" not in found(index, "quelle licence pour partager des données -publier")
    assert found(index, "licence données path:lieux/") == []


def test_question_words_alone_do_not_let_pages_in(index):
    assert "guides/partage" not in found(index, "comment partager licence données")[:2]
    assert index.search("comment xyzzy").total == 0


# -- (c) hyphens and compounds ------------------------------------------------


@pytest.mark.parametrize("text", ["co-construction", "coconstruction", "co construction"])
def test_compounds_meet_however_written(index, text):
    assert {"guides/co", "guides/coco"} <= set(found(index, text))


@pytest.mark.parametrize("text", ["tiers-lieux", "tierslieux", "tiers lieux", "tiers-lieu"])
def test_tiers_lieux(index, text):
    assert "guides/tiers" in found(index, text)


def test_emails(index):
    assert "guides/coco" in found(index, "emails") and "guides/coco" in found(index, "e-mails")


def test_hyphenated_words_keep_their_parts_and_join_them():
    assert stems_by_position("co-construction") == [("co",), ("construir", "coconstruir")]
    assert stems_by_position("coconstruction") == [("coconstruir",)]


# -- (d) stemming: protected words and the lemma table -------------------------


def test_association_is_not_associes(index):
    # "associatif" is of the association's family; the partners (associés) are not.
    assert set(found(index, "association")) == {"juridique/association", "lieux/la-grange"}
    assert found(index, "associés") == ["juridique/associes"]
    assert french_stems("associatif") == french_stems("association")
    assert french_stems("associées") == french_stems("associé")


@pytest.mark.parametrize(
    ("one", "other"),
    [("local", "locaux"), ("construction", "construire"), ("bail", "baux"), ("travail", "travaux"), ("gestion", "gérer")],
)
def test_lemma_table_joins_families(one, other):
    assert french_stems(one) == french_stems(other)


def test_families_are_searched_together(index):
    assert "guides/construire" in found(index, "construction")
    assert "guides/baux" in found(index, "bail")
    assert "guides/locaux" in found(index, "local")


# -- (g) typos ------------------------------------------------------------------


def test_a_typo_is_corrected_when_nothing_matches(index):
    results = index.search("finacement")
    assert results.corrected == "financement" and results.total == 1
    assert results.hits[0].path == "guides/financement"
    results = index.search("finacement participatf")
    assert results.corrected == "financement participatif"


def test_any_number_of_unknown_words(index):
    # Four unknown words (three were the limit), corrected together; pages with most of them then found.
    results = index.search("finacement participatf lieuxx modestte")
    assert results.corrected == "financement participatif lieux modeste"
    assert results.hits[0].path == "guides/financement"


def test_a_correction_is_offered_when_the_query_finds_little(index):
    results = index.search("licence cuisne", fallback=False)
    assert results.total == 0 or results.suggestion or results.corrected


def test_no_correction_for_known_words(index):
    results = index.search("financement")
    assert results.corrected is None and results.suggestion is None


def test_edit_distance():
    assert edit_distance("finacement", "financement", 2) == 1
    assert edit_distance("ab", "ba", 2) == 1
    assert edit_distance("abcdef", "badcfe", 2) == 3


# -- (f) proximity, (h) links -----------------------------------------------------


def test_words_standing_together_rank_first(index):
    ranked = found(index, "jardin cuisine")
    assert ranked.index("guides/voisins") < ranked.index("guides/loin")
    unboosted = index.search("cuisine jardin", proximity=False)
    assert {hit.path for hit in unboosted.hits} == set(ranked)


def test_link_targets_are_indexed(index):
    assert found(index, "legifrance") == ["guides/liens"]


# -- reindexing ---------------------------------------------------------------------


def test_an_index_made_by_another_analysis_is_made_again(tmp_path):
    search = SearchIndex(tmp_path / "index")
    search.update(lambda _last: Plan("a" * 40, DOCUMENTS[:2], rebuild=True))
    assert search.is_filled()
    search.close()
    (tmp_path / "index" / ANALYSIS_FILE).write_text("0\n", encoding="ascii")
    again = SearchIndex(tmp_path / "index")
    assert not again.is_filled()  # made again empty: the wiki refills it from git
    again.close()


def test_malformed_queries_never_fail(index):
    for text in ['"', 'commune:"', "-", "*", "a:b:c", ":", "OR", "quel OR", "x" * 2000, "co--construction", "-commune:x"]:
        index.search(text, facets=True)


def test_a_typo_is_corrected_even_when_some_words_alone_find_pages(index):
    # "lieux" alone finds pages (the fallback would show them); the corrected words all together win.
    results = index.search("finacement participatif lieux")
    assert results.corrected == "financement participatif lieux"
    assert results.hits[0].path == "guides/financement"
