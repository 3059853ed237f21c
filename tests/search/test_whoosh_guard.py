"""The guard on the Whoosh pin: the fast path must find and rank exactly what Whoosh itself does.

``search/`` reads Whoosh's private structures to go fast (``W3LeafMatcher``'s
blocks through ``_read_ids``, the raw length column through ``_lenfield``, the
pickled positions), which a Whoosh release may change without notice. So the
same index is searched twice: through ``SearchIndex.search`` (bitmaps and numpy
over those structures) and through Whoosh's own ``Searcher`` (its public
matchers and scorers), and the two must agree.

How they are made comparable. Matching: Whoosh runs the parsed query
(``parse_query``) as it is, meta document masked, and must find the same set
of pages. Ranking: the fast path sums BM25 over the distinct terms of
``parsed.scoring`` for the pages that match ``parsed.query``; Whoosh searches
those terms (prefixes expanded by Whoosh) with ``parsed.query`` as a filter,
under its ``BM25F`` set as the fast path computes: its ``B`` and ``K1``, its
idf (``log(1 + (N - n + 0.5) / (n + 0.5))``, N the pages, meta document left
out), its average field length (total length over the live documents, where
Whoosh divides by all of them, deleted ones included) and its field boosts
(``index.BOOSTS``, as query boosts). Scores then agree to float32 precision
(the fast path adds in float32 and rounds hits to four decimals) and the order
is the same, equal scores in path order as the fast path sorts them.

Not compared: queries with no word (``path:``, ``tag:`` alone), which the
fast path orders by date rather than by score, and prefixes of more than
``MAX_SCORING_PREFIX_TERMS`` terms, which it ranks by their first terms only
(this corpus has none). The last test keeps the fix of a difference this
guard found: the fast path once lost the deleted documents heading a
segment's posting list, so its idf of such terms was not Whoosh's.

Upgrading Whoosh-Reloaded: install the new release, run this file, and move
the pin in ``pyproject.toml`` (then ``make lock``) only when it passes.
"""

from __future__ import annotations

import math
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh import query as q
from whoosh import scoring
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.searching import Searcher

from search import Document, SearchIndex
from search import segments as fast
from search.docsets import FIELD_B, K1, MAX_SCORING_PREFIX_TERMS, B
from search.index import BOOSTS, INDEX_NAME, Plan
from search.query import parse_query
from search.schema import META_PATH

ROOT = Path(__file__).resolve().parents[2]

_LIEUX = ["Lesparre", "Bazas", "Saint-Macaire", "Sauveterre", "Cadillac", "Langon"]

FIRST = [
    Document(
        "guides/jardin-partage",
        "Jardin partagé",
        "Un jardin partagé se cultive à plusieurs : parcelles collectives, compost, récupération de l'eau de pluie. "
        "Le jardin ouvre chaque samedi.",
        tags=["nourricier"],
        updated=10,
    ),
    Document(
        "guides/cuisine-collective",
        "Cuisine collective",
        "La cuisine collective transforme les légumes du jardin ; une légumerie complète la cuisine.",
        tags=["nourricier"],
        updated=20,
    ),
    Document(
        "guides/nourriciers",
        "Tiers-lieux nourriciers",
        "Jardins partagés, cuisines collectives et légumeries : les tiers-lieux nourriciers relient producteurs "
        "et habitants. Un jardin partagé y tient souvent la première place.",
        tags=["nourricier"],
        updated=30,
    ),
    Document(
        "guides/compost",
        "Composter ensemble",
        "Le compost du quartier reçoit les déchets verts ; le jardin voisin en profite.",
        updated=40,
    ),
    Document(
        "juridique/scic",
        "Statuts d'une SCIC",
        "La société coopérative d'intérêt collectif associe salariés, usagers et collectivités. "
        "Ses statuts fixent les collèges de vote.",
        tags=["juridique"],
        updated=50,
    ),
    Document(
        "juridique/scop",
        "La SCOP",
        "Une société coopérative de production appartient à ses salariés. Les statuts d'une coopérative "
        "de production diffèrent de ceux d'une SCIC.",
        tags=["juridique"],
        updated=60,
    ),
    Document(
        "juridique/association",
        "L'association loi 1901",
        "L'association est la forme la plus courante. Qu'elle soit petite ou grande, elle a des statuts, "
        "un bureau et une assemblée générale.",
        tags=["juridique"],
        updated=70,
    ),
    Document(
        "juridique/cooperer",
        "Coopérer entre lieux",
        "Coopérer, c'est mutualiser : un coopérateur d'un lieu peut prêter du matériel à un autre.",
        updated=80,
    ),
    Document(
        "loyers/convention",
        "Occuper un local communal",
        "Nous avons signé une convention d'occupation précaire avec la commune pour un euro symbolique.",
        tags=["loyers", "mairie"],
        updated=90,
    ),
    Document(
        "loyers/autre",
        "Négocier avec la commune",
        "La convention de mise à disposition prévoit une occupation partielle du bâtiment communal.",
        tags=["loyers"],
        updated=100,
    ),
    Document(
        "loyers/bail",
        "Bail commercial ou convention",
        "Un bail commercial protège le locataire ; une convention d'occupation se négocie plus vite avec la mairie.",
        tags=["loyers", "mairie"],
        updated=110,
    ),
    Document(
        "guides/elus-mairies",
        "Élus et mairies",
        "Rencontrer les élus de la commune avant de signer. Le maire et ses adjoints décident ; la mairie "
        "convoque le conseil municipal.",
        tags=["mairie", "gouvernance"],
        updated=120,
    ),
    Document(
        "guides/gouvernance",
        "Gouvernance partagée",
        "Décider ensemble, au consentement. " * 6 + "On peut aussi rédiger des statuts, mais ce n'est pas le sujet.",
        tags=["gouvernance"],
        updated=130,
    ),
    Document(
        "formations/formateurs",
        "Formation de formateurs",
        "Se former entre pairs pour transmettre : l'expérience partagée vaut un catalogue de formations.",
        tags=["formation"],
        updated=140,
    ),
    Document(
        "formations/numerique",
        "Médiation numérique",
        "Les ateliers de médiation numérique forment les habitants aux démarches en ligne.",
        tags=["formation"],
        updated=150,
    ),
    Document(
        "formations/catalogue",
        "Catalogue des formations",
        "Le catalogue réunit les formations du réseau : jardin, cuisine, statuts, comptabilité.",
        tags=["formation"],
        updated=160,
    ),
    Document(
        "en/training",
        "Training the trainers",
        "Peer trainings for makers and community managers, with shared experiences.",
        tags=["formation"],
        language="en",
        updated=170,
    ),
    Document(
        "en/garden",
        "Community garden",
        "A community garden needs shared tools, a compost heap and a rota for watering the garden.",
        language="en",
        updated=180,
    ),
    Document(
        "guides/tiers-payants",
        "Santé",
        "Les tiers payants et les lieux de soins ne sont pas des tiers-lieux au sens du réseau.",
        tags=["hors-sujet"],
        updated=190,
    ),
    Document(
        "juridique/modele/statuts.odt",
        "statuts.odt",
        "Modèle de statuts de la coopérative, article premier : objet social.",
        kind="file",
        page="juridique/modele",
        updated=200,
    ),
] + [
    Document(
        f"lieux/{name.lower()}",
        f"Le tiers-lieu de {name}",
        f"À {name}, le tiers-lieu accueille un atelier de réparation"
        + (", un jardin partagé" if n % 2 == 0 else "")
        + (" et une cuisine collective" if n % 3 == 0 else "")
        + f". La commune loue le bâtiment {n + 1} euros par mois"
        + (" ; une convention d'occupation a été signée avec la mairie." if n % 2 else "."),
        tags=["lieux"],
        updated=300 + n,
    )
    for n, name in enumerate(_LIEUX)
]

# A second update: three pages rewritten (their old versions stay in the first
# segment as deleted documents) and new pages, in a second segment.
SECOND = [
    Document(
        "guides/compost",
        "Composter ensemble",
        "Le compost du quartier reçoit les déchets verts et les épluchures de la cuisine collective ; "
        "le jardin partagé voisin en profite.",
        updated=400,
    ),
    Document(
        "juridique/association",
        "L'association loi 1901",
        "L'association est la forme la plus courante. Ses statuts tiennent en deux pages.",
        tags=["juridique"],
        updated=410,
    ),
    Document(
        "lieux/bazas",
        "Le tiers-lieu de Bazas",
        "À Bazas, le tiers-lieu a quitté le bâtiment communal pour une grange prêtée par une coopérative agricole.",
        tags=["lieux"],
        updated=420,
    ),
    Document(
        "guides/grainotheque",
        "Grainothèque",
        "Une grainothèque au jardin des tiers-lieux nourriciers : échanger des graines, partager les récoltes.",
        tags=["nourricier"],
        updated=430,
    ),
    Document(
        "guides/ressourcerie",
        "Ressourcerie",
        "La ressourcerie collecte, répare et revend ; elle coopère avec les ateliers de réparation.",
        updated=440,
    ),
    Document(
        "juridique/statuts-types",
        "Statuts types",
        "Des statuts types pour une association, une SCIC ou une coopérative : à adapter, jamais à recopier.",
        tags=["juridique"],
        updated=450,
    ),
    Document(
        "formations/jardiniers",
        "Former des jardiniers",
        "Une formation au jardinage en carrés, puis au jardin partagé du quartier, avec la commune.",
        tags=["formation"],
        updated=460,
    ),
    Document(
        "en/cooperative",
        "Cooperatives",
        "A cooperative belongs to its members; a housing cooperative shares its garden and its training room.",
        language="en",
        updated=470,
    ),
]

WORDS = ["jardin", "coopérative", "statuts", "commune", "formation", "cuisine", "mairie", "training", "garden"]
SEVERAL = ["jardin cuisine", "convention occupation commune", "statuts coopérative", "loyer mairie"]
PHRASES = ['"jardin partagé"', '"cuisine collective"', '"convention d\'occupation"', '"tiers-lieux nourriciers"']
PREFIXES = ["coop*", "form*", "jard*", "répar*"]
EXCLUSIONS = [
    "jardin -cuisine",
    "statuts -association",
    'commune -"convention d\'occupation"',
    "jard* -compost",
    '"jardin partagé" -lieux',
    "jardin -tag:nourricier",
]
# These two rank terms whose posting list, in the first segment, starts with a page the second
# update rewrote: see test_the_fast_path_counts_the_documents_whoosh_counts.
RANKED_APART = ["compost jardin", "scic OR association"]  # terms whose postings start with deleted documents
OTHERS = ["statuts tag:juridique", "commune path:lieux", "jardin partagé commune"] + RANKED_APART
RANKED = WORDS + SEVERAL + PHRASES + PREFIXES + EXCLUSIONS + OTHERS
UNRANKED = ["path:loyers", "tag:nourricier", "path:lieux -tag:mairie"]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    search = SearchIndex(tmp_path_factory.mktemp("guard") / "index")
    search.update(lambda _last: Plan("a" * 40, FIRST, rebuild=True))
    search.update(lambda _last: Plan("b" * 40, SECOND))
    yield search
    search.close()


class FastPathBM25(scoring.BM25F):
    """Whoosh's BM25F with the fast path's B, K1 and idf (over ``documents`` pages, the meta document left out)."""

    def __init__(self, documents: int) -> None:
        super().__init__(B=B, K1=K1, **{f"{name}_B": b for name, b in FIELD_B.items()})
        self.documents = documents

    def idf(self, searcher, fieldname, text):
        frequency = searcher.get_parent().doc_frequency(fieldname, text)
        return math.log(1 + (self.documents - frequency + 0.5) / (frequency + 0.5))

    def scorer(self, searcher, fieldname, text, qf=1):
        scorer = super().scorer(searcher, fieldname, text, qf=qf)
        # The fast path's average length: the total over the live documents (meta included), where Whoosh
        # divides by all of them. (The block bound computed with Whoosh's average only skips blocks when a
        # search has a limit; these have none.)
        parent = searcher.get_parent()
        scorer.avgfl = parent.field_length(fieldname) / parent.doc_count() or 1
        return scorer


@pytest.fixture(scope="module")
def whoosh_searcher(index):
    """Whoosh's own searcher over the same directory, scoring as the fast path does."""
    ix = whoosh_index.open_dir(str(index.directory), indexname=INDEX_NAME)
    reader = ix.reader()
    assert len(reader.leaf_readers()) == 2 and reader.has_deletions(), "the corpus should span two segments, with deletions"
    pages = reader.doc_count() - 1  # every live document but the meta one
    with Searcher(reader, weighting=FastPathBM25(pages)) as searcher:
        yield searcher


def whoosh_scoring(searcher: Searcher, scoring_query: q.Query) -> q.Query:
    """``parsed.scoring`` as Whoosh should score it: its distinct terms, prefixes expanded, title terms boosted.

    Prefixes are expanded by Whoosh (``simplify``) over the whole index, not
    left to ``Prefix``'s own matcher: that one scores by a constant unless
    told otherwise and, in a segment where a prefix has a single term, drops
    its boost.
    """
    terms: list[q.Term] = []
    stack = [scoring_query]
    while stack:
        node = stack.pop()
        if isinstance(node, q.Prefix):
            node = node.simplify(searcher.reader())
        if isinstance(node, q.Term):
            terms.append(node)
        elif isinstance(node, q.CompoundQuery):
            stack.extend(node.subqueries)
    distinct = dict.fromkeys((term.fieldname, term.text) for term in terms)
    return q.Or([q.Term(name, text, boost=BOOSTS.get(name, 1.0)) for name, text in distinct])


def meta_mask() -> q.Query:
    return q.Term("path", META_PATH)


def whoosh_matches(searcher: Searcher, text: str) -> set[str]:
    parsed = parse_query(text)
    results = searcher.search(parsed.query, mask=meta_mask(), limit=None, scored=False)
    return {hit["path"] for hit in results}


def whoosh_ranking(searcher: Searcher, text: str) -> list[tuple[str, float]]:
    """(path, score) by decreasing score, equal scores in path order (the fast path's tie-break)."""
    parsed = parse_query(text)
    assert parsed.scoring is not None, f"{text!r} ranks nothing"
    results = searcher.search(whoosh_scoring(searcher, parsed.scoring), filter=parsed.query, mask=meta_mask(), limit=None)
    ranked = [(hit["path"], hit.score) for hit in results]
    return sorted(ranked, key=lambda item: (-item[1], item[0]))


def fast_ranking(index: SearchIndex, text: str) -> list[tuple[str, float]]:
    # BM25 alone, as Whoosh scores it: no pages with only some words, no proximity boost.
    results = index.search(text, limit=100, suggest=False, fallback=False, proximity=False)
    assert results.total == len(results.hits), "the corpus is meant to fit one page of results"
    return [(hit.path, hit.score) for hit in results.hits]


def test_the_installed_whoosh_is_the_pinned_one():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    pins = [re.fullmatch(r"Whoosh-Reloaded==(\S+)", spec) for spec in dependencies if spec.startswith("Whoosh-Reloaded")]
    assert len(pins) == 1 and pins[0], f"pyproject.toml must pin Whoosh-Reloaded exactly (==), not {dependencies}"
    pinned, installed = pins[0].group(1), metadata.version("Whoosh-Reloaded")
    assert installed == pinned, (
        f"Whoosh-Reloaded {installed} is installed but pyproject.toml pins {pinned}: search/ reads Whoosh internals. "
        f"Run tests/search/test_whoosh_guard.py against {installed}, and move the pin (then `make lock`) only if it passes."
    )


@pytest.mark.parametrize("text", RANKED + UNRANKED)
def test_the_fast_path_matches_what_whoosh_matches(index, whoosh_searcher, text):
    found = {path for path, _score in fast_ranking(index, text)}
    assert found == whoosh_matches(whoosh_searcher, text)
    assert len(found) >= 2, f"{text!r} should match several pages for the comparison to mean something"


@pytest.mark.parametrize("text", RANKED)
def test_the_fast_path_ranks_as_whoosh_scores(index, whoosh_searcher, text):
    expected = whoosh_ranking(whoosh_searcher, text)
    found = fast_ranking(index, text)
    assert [path for path, _score in found] == [path for path, _score in expected]
    for (path, score), (_same, whoosh_score) in zip(found, expected, strict=True):
        assert score == pytest.approx(whoosh_score, rel=1e-4, abs=1e-4), path


def test_the_comparison_reaches_the_cases_that_matter(index, whoosh_searcher):
    """Not vacuous: scores differ (order means something), titles weigh more, prefixes expand to few terms."""
    ranked = fast_ranking(index, "jardin")
    assert len({score for _path, score in ranked}) >= 5
    assert ranked[0][0] == "guides/jardin-partage"  # the word in the title and twice in the text
    reader = whoosh_searcher.reader()
    for text in PREFIXES:
        for name in ("title", "body"):
            prefix = parse_query(text).prefixes[0]
            assert len(list(reader.expand_prefix(name, prefix))) < MAX_SCORING_PREFIX_TERMS


TERMS = [
    ("body", "jardin"),
    ("title", "jardin"),
    ("body", "commun"),
    ("body", "statut"),
    ("title", "compost"),
    ("body", "associ"),
    ("title", "baz"),
    ("title_en", "garden"),
]


def public_postings(leaf, fieldname: str, text: str) -> tuple[list[int], list[float], list[int]]:
    """Ids, weights and position keys of the live documents holding a term, through Whoosh's public matcher."""
    ids: list[int] = []
    weights: list[float] = []
    positions: list[int] = []
    matcher = leaf.postings(fieldname, text)
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        if leaf.schema[fieldname].format.supports("positions"):
            positions += [matcher.id() << fast.POSITION_BITS | p for p in matcher.value_as("positions")]
        matcher.next()
    return ids, weights, positions


def test_the_fast_path_reads_whoosh_internals_not_its_fallbacks(whoosh_searcher):
    """The private readers agree with Whoosh's public ones on every segment, and are the ones used.

    When a release changes these structures, ``search.segments`` falls back
    to the public (slow) API where it can tell; this test says so instead of
    letting search quietly slow down, and the tests above catch the rest.
    """
    reader = whoosh_searcher.reader()
    for leaf, _offset in reader.leaf_readers():
        for fieldname in ("title", "body", "title_en", "body_en"):
            assert leaf._perdoc._cached_reader(fast._lenfield(fieldname), fast.LENGTHS_COLUMN) is not None
            public_lengths = [leaf.doc_field_length(docnum, fieldname) or 0 for docnum in range(leaf.doc_count_all())]
            assert fast._read_lengths(leaf, fieldname).tolist() == public_lengths, fieldname
        for fieldname, text in TERMS:
            if (fieldname, text) not in leaf:
                continue
            assert isinstance(fast._postings_of(leaf, fieldname, text), W3LeafMatcher), f"{fieldname}:{text}"
            ids, weights, positions = public_postings(leaf, fieldname, text)
            read_ids, read_weights = fast._read_postings(leaf, fieldname, text)
            live = [not leaf.is_deleted(docnum) for docnum in read_ids.tolist()]
            assert read_ids[live].tolist() == ids and read_weights[live].tolist() == weights, f"{fieldname}:{text}"
            if positions:
                keys = fast._read_positions(leaf, fieldname, text)
                kept = [not leaf.is_deleted(key >> fast.POSITION_BITS) for key in keys.tolist()]
                assert keys[kept].tolist() == sorted(positions), f"{fieldname}:{text}"


def test_the_fast_path_counts_the_documents_whoosh_counts(whoosh_searcher):
    """The postings read keep deleted documents, as Whoosh's document frequency does (both feed the idf).

    ``SegmentReader.postings`` wraps the block matcher in a ``FilterMatcher``
    that, when built, already steps past the deleted documents at the head of
    the list; ``segments._postings_of`` unwraps it and goes back (``child.reset()``),
    or those documents would be missing from the count.
    """
    reader = whoosh_searcher.reader()
    for leaf, _offset in reader.leaf_readers():
        for fieldname, text in TERMS:
            if (fieldname, text) in leaf:
                read_ids, _weights = fast._read_postings(leaf, fieldname, text)
                assert len(read_ids) == leaf.doc_frequency(fieldname, text), f"{fieldname}:{text}"
