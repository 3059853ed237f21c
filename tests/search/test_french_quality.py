"""What visitors type, and what they should find: the French quality suite."""

from __future__ import annotations

import pytest

from search import Document, SearchIndex
from search.index import Plan

DOCUMENTS = [
    Document(
        "guides/elus-mairies",
        "Élus et mairies",
        "Rencontrer les élus de la commune avant de signer. Le maire et ses adjoints décident.",
        tags=["mairie", "gouvernance"],
        updated=100,
    ),
    Document(
        "loyers/lesparre",
        "Loyer du tiers-lieu de Lesparre",
        "Un loyer mensuel de 300 euros pour 120 m². La mairie a accepté 1,5 mois de franchise.",
        tags=["loyers"],
        updated=200,
    ),
    Document(
        "juridique/scic",
        "Statuts d'une SCIC",
        "La société coopérative d'intérêt collectif associe salariés, usagers et collectivités.",
        tags=["juridique"],
        updated=300,
    ),
    Document(
        "guides/nourriciers",
        "Tiers-lieux nourriciers",
        "Jardins partagés, cuisines collectives et légumeries : les tiers-lieux nourriciers relient producteurs et habitants.",
        tags=["nourricier"],
        updated=400,
    ),
    Document(
        "guides/gouvernance",
        "Gouvernance partagée",
        "Décider ensemble, au consentement. " * 20 + "On peut aussi rédiger des statuts, mais ce n'est pas le sujet.",
        tags=["gouvernance"],
        updated=500,
    ),
    Document(
        "loyers/convention",
        "Occuper un local communal",
        "Nous avons signé une convention d'occupation précaire avec la commune pour un euro symbolique.",
        tags=["loyers", "mairie"],
        updated=600,
    ),
    Document(
        "loyers/autre",
        "Négocier avec la commune",
        "La convention de mise à disposition prévoit une occupation partielle du bâtiment.",
        tags=["loyers"],
        updated=700,
    ),
    Document(
        "formations/formateurs",
        "Formation de formateurs",
        "Se former entre pairs pour transmettre : l'expérience partagée vaut un catalogue.",
        tags=["formation"],
        updated=800,
    ),
    Document(
        "en/training",
        "Training the trainers",
        "Peer trainings for makers and community managers, with shared experiences.",
        tags=["formation"],
        language="en",
        updated=900,
    ),
    Document(
        "guides/tiers-payants",
        "Santé",
        "Les tiers payants et les lieux de soins ne sont pas des tiers-lieux au sens du réseau.",
        tags=["hors-sujet"],
        updated=1000,
    ),
    Document(
        "juridique/association",
        "L'association loi 1901",
        "L'association est la forme la plus courante. Qu'elle soit petite ou grande, elle a des statuts.",
        tags=["juridique"],
        updated=1100,
    ),
    Document(
        "juridique/modele/statuts.odt",
        "statuts.odt",
        "Modèle de statuts de la coopérative, article premier : objet social.",
        kind="file",
        page="juridique/modele",
        updated=1200,
    ),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    search = SearchIndex(tmp_path_factory.mktemp("index"))
    search.update(lambda _last: Plan("c" * 40, DOCUMENTS, rebuild=True))
    yield search
    search.close()


def paths(index, query, **options):
    """The pages with every word (the fallback to pages with most of them is tested apart)."""
    options.setdefault("fallback", False)
    return {hit.path for hit in index.search(query, limit=100, **options).hits}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("élus", {"guides/elus-mairies"}),
        ("elus", {"guides/elus-mairies"}),
        ("ELUS", {"guides/elus-mairies"}),
        ("élu", {"guides/elus-mairies"}),
        # tags count as words of the page
        ("loyers", {"loyers/lesparre", "loyers/convention", "loyers/autre"}),
        ("loyer", {"loyers/lesparre", "loyers/convention", "loyers/autre"}),
        ("loi", {"juridique/association"}),
        ("mairies", {"guides/elus-mairies", "loyers/lesparre", "loyers/convention"}),
        ("formations", {"formations/formateurs", "en/training"}),
        ("experience partagee", {"formations/formateurs"}),
        ("partager", {"formations/formateurs", "guides/nourriciers", "guides/gouvernance"}),
        ("cooperative", {"juridique/scic", "juridique/modele/statuts.odt"}),
        ("l'association", {"juridique/association"}),
        ("l’association", {"juridique/association"}),
        ("qu'elle soit petite", {"juridique/association"}),
        ("SCIC", {"juridique/scic"}),
        ("scic statuts", {"juridique/scic"}),
        ("1901", {"juridique/association"}),
        ("1,5", {"loyers/lesparre"}),
        ("300 euros", {"loyers/lesparre"}),
    ],
)
def test_accents_plurals_elisions_numbers(index, query, expected):
    assert paths(index, query) == expected


def test_hyphenated_words_match_both_spellings(index):
    expected = {"guides/nourriciers", "guides/tiers-payants", "loyers/lesparre"}  # tiers-lieu, singular, too
    assert paths(index, "tiers-lieux") == expected
    assert paths(index, '"tiers lieux"') == expected
    assert paths(index, "tiers-lieu") == expected


def test_hyphen_is_a_phrase_not_two_loose_words(tmp_path):
    search = SearchIndex(tmp_path)
    loose = Document("loose", "Santé", "Les tiers payants et les lieux de soins.")
    search.update(lambda _last: Plan("a" * 40, [loose], rebuild=True))
    assert search.search("tiers lieux").total == 1  # two words, both present
    assert search.search("tiers-lieux").total == 0  # a phrase: they are not adjacent
    assert search.search('"tiers payants"').total == 1
    search.close()


def test_phrases(index):
    assert paths(index, '"convention d\'occupation"') == {"loyers/convention"}
    assert paths(index, "convention occupation") == {"loyers/convention", "loyers/autre"}
    assert paths(index, '"occupation convention"') == set()


def test_prefixes(index):
    assert paths(index, "nourri*") == {"guides/nourriciers"}
    assert paths(index, "loyer*") == {"loyers/lesparre", "loyers/convention", "loyers/autre"}
    assert paths(index, "élu*") == {"guides/elus-mairies"}


def test_a_short_prefix_finds_every_page_however_many_words_it_starts(tmp_path):
    search = SearchIndex(tmp_path)
    pages = [Document(f"p{n:03d}", f"Page {n}", f"Le mot coq{n:03d}x est unique.") for n in range(150)]
    search.update(lambda _last: Plan("a" * 40, pages, rebuild=True))
    assert search.search("coq*").total == 150
    assert search.search("coq*", limit=100).hits
    search.close()


def test_exclusions(index):
    assert paths(index, "loyers -mairie") == {"loyers/autre"}
    assert paths(index, "commune -convention") == {"guides/elus-mairies"}
    assert paths(index, 'commune -"convention d\'occupation"') == {"guides/elus-mairies", "loyers/autre"}


def test_filters(index):
    assert paths(index, "tag:loyers") == {"loyers/lesparre", "loyers/convention", "loyers/autre"}
    assert paths(index, "tag:loyers convention") == {"loyers/convention", "loyers/autre"}
    assert paths(index, "path:juridique/ statuts") == {"juridique/scic", "juridique/association", "juridique/modele/statuts.odt"}
    assert paths(index, "path:juridique") == paths(index, "path:juridique/")
    assert paths(index, "-tag:loyers commune") == {"guides/elus-mairies"}


def test_or(index):
    assert paths(index, "scic OR nourriciers") == {"juridique/scic", "guides/nourriciers"}


def test_english_pages_use_english_stemming(index):
    assert paths(index, "training") == {"en/training"}
    assert paths(index, "trainer") == {"en/training"}


def test_french_words_are_not_matched_through_their_english_pieces(tmp_path):
    """An elided French word or a quoted phrase is no bag of English words."""
    search = SearchIndex(tmp_path)
    english = Document("en/letters", "Letters", "The letter L and the word the, over and over.", language="en")
    search.update(lambda _last: Plan("a" * 40, [english], rebuild=True))
    assert search.search("l'association").total == 0
    assert search.search('"le loyer"').total == 0
    assert search.search("letters").total == 1
    search.close()


def test_title_match_ranks_above_a_passing_mention(index):
    ranked = [hit.path for hit in index.search("statuts").hits]
    assert ranked.index("juridique/scic") < ranked.index("juridique/association")
    assert ranked[-1] == "guides/gouvernance"


def test_snippets_highlight_the_original_words(index):
    hit = index.search("elus").hits[0]
    assert "<mark>élus</mark>" in hit.snippet
    assert "<mark>" in index.search("loyers").hits[0].snippet


def test_snippets_are_escaped(tmp_path):
    search = SearchIndex(tmp_path)
    document = Document("x", "x", "Attention <script>alert('loyer')</script> & loyer")
    search.update(lambda _last: Plan("a" * 40, [document], rebuild=True))
    snippet = search.search("loyer").hits[0].snippet
    assert "<script>" not in snippet and "&lt;script&gt;" in snippet
    search.close()


def test_suggestions_for_misspelled_words(index):
    # Nothing matches the typed words: the correction is applied, and said.
    results = index.search("nouriciers")
    assert results.corrected == "nourriciers" and results.total == 1 and results.suggestion is None
    assert index.search("coperative").corrected == "coopérative"
    assert index.search("loyer").suggestion is None


def test_facets_and_totals(index):
    results = index.search("commune", facets=True)
    assert results.total == 3
    assert dict(results.facets["tags"]) == {"loyers": 2, "mairie": 2, "gouvernance": 1}
    assert dict(results.facets["folder"]) == {"guides": 1, "loyers": 2}


def test_pagination_and_date_order(index):
    everything = index.search("tag:loyers", order="date", limit=2)
    assert [hit.path for hit in everything.hits] == ["loyers/autre", "loyers/convention"]
    second = index.search("tag:loyers", order="date", limit=2, offset=2)
    assert [hit.path for hit in second.hits] == ["loyers/lesparre"] and second.total == 3


def test_files_point_to_their_page(index):
    hit = next(hit for hit in index.search("objet social").hits)
    assert hit.kind == "file" and hit.page == "juridique/modele"


MALFORMED = [
    "",
    " ",
    "*",
    "**",
    "-",
    "--",
    '"',
    '""',
    '"unbalanced phrase',
    'a "b',
    "OR",
    "OR OR",
    "loyer OR",
    "AND",
    "NOT",
    "(",
    ")",
    "((loyer",
    "loyer)",
    "tag:",
    "path:",
    'tag:""',
    "-tag:",
    ":",
    "::::",
    "a:b:c",
    "unknown:field",
    "*loyer",
    "lo*yer",
    "l'",
    "'",
    "’’’",
    "\\",
    "\\\\",
    "%",
    "%%%",
    "\x00",
    "é" * 500,
    "loyer " * 300,
    "-loyer",
    "- loyer",
    "+loyer",
    "~loyer",
    "loyer~2",
    "loyer^3",
    "[a TO z]",
    "{}",
    "<script>",
    "élus AND",
    "AND élus",
    "NOT élus",
    "élus NOT",
    '"élus',
    'élus"',
    "tag:a tag:b tag:c",
    "\t\n\r",
]


@pytest.mark.parametrize("query", MALFORMED)
def test_malformed_queries_never_fail(index, query):
    results = index.search(query, facets=True)
    assert results.total >= 0
    assert results.query == query


def test_maintenance_merges_many_segments_and_keeps_every_document(tmp_path):
    from whoosh.writing import NO_MERGE

    search = SearchIndex(tmp_path)
    search.update(lambda _last: Plan("a" * 40, [], rebuild=True))
    ix = search._index()
    for n in range(12):
        writer = ix.writer()
        writer.add_document(**Document(f"p{n}", f"Page {n}", f"mot{n} commun").fields())
        writer.commit(mergetype=NO_MERGE)
    assert search.segment_count() >= 12
    assert search.maintain() is True
    assert search.segment_count() <= 6
    assert search.search("commun").total == 12
    assert all(search.search(f"mot{n}").total == 1 for n in range(12))
    search.close()
