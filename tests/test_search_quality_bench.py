"""The relevance benchmark (bench/search_quality.py): its metrics, its baseline and its judgments file."""

from __future__ import annotations

import math

import pytest

from bench import search_quality as bench

GRADES = {"b": 3, "c": 1, "e": 2}


def test_metrics_on_a_toy_ranking():
    ranked = ["a", "b", "c", "d"]
    assert bench.reciprocal_rank(ranked, GRADES) == pytest.approx(1 / 2)  # "c" is graded 1: not relevant
    dcg = 7 / math.log2(3) + 1 / math.log2(4)
    ideal = 7 + 3 / math.log2(3) + 1 / math.log2(4)
    assert bench.ndcg(ranked, GRADES) == pytest.approx(dcg / ideal)
    assert bench.precision(ranked, GRADES) == pytest.approx(1 / 5)
    assert bench.recall(ranked, GRADES) == pytest.approx(1 / 2)  # "e" never found


def test_metrics_of_a_perfect_and_an_empty_ranking():
    perfect = ["b", "e", "c"]
    assert bench.ndcg(perfect, GRADES) == pytest.approx(1.0)
    assert bench.reciprocal_rank(perfect, GRADES) == 1.0
    assert bench.recall(perfect, GRADES) == 1.0
    assert [bench.METRICS[name]([], GRADES) for name in bench.METRICS] == [0.0, 0.0, 0.0, 0.0]
    assert bench.reciprocal_rank(["x"] * 10 + ["b"], GRADES) == 0.0  # past the tenth result


def test_scores_count_queries_that_found_nothing():
    queries = [bench.Query("q1", "a", "x", "t", {"b": 3}), bench.Query("q2", "g", "y", "t", {"e": 2})]
    scores = bench.score(queries, {"q1": ["b"], "q2": []})
    assert scores.zero == ["q2"]
    assert scores.mean("MRR@10") == pytest.approx(0.5)
    assert scores.mean("MRR@10", ["q1"]) == 1.0


def test_fts5_baseline_ands_or_ors_the_words():
    files = {
        "loyers/a.md": "---\ntitle: Loyer en mairie\n---\n\nLe loyer négocié avec la mairie.\n".encode(),
        "guides/b.md": b"# Autre\n\nUne mairie.\n",
    }
    for operator, expected in (("AND", ["loyers/a"]), ("OR", ["loyers/a", "guides/b"])):
        baseline = bench.Fts5(files, operator)
        try:
            assert baseline.search("loyer mairie") == expected
            assert baseline.search("Mairie, loyers ?")[:1] == (["loyers/a"] if operator == "OR" else [])
            assert baseline.search('" -') == []
        finally:
            baseline.close()


def test_the_judgments_are_well_formed_and_name_existing_pages():
    queries = bench.load_queries()
    assert len(queries) >= 60
    for kind in bench.KINDS:
        assert sum(query.kind == kind for query in queries) >= 5, kind
    pages = bench.page_paths(bench.documents())
    missing = {path for query in queries for path in query.grades if path not in pages}
    assert not missing
    assert len({query.text for query in queries}) == len(queries)


@pytest.mark.parametrize(
    "entry, complaint",
    [
        ("- id: x\n  kind: z\n  query: q\n  tests: t\n  grades: {p: 3}\n", "kind must be"),
        ("- id: x\n  kind: a\n  query: q\n  tests: t\n  grades: {p: 4}\n", "must be 0, 1, 2 or 3"),
        ("- id: x\n  kind: a\n  query: q\n  tests: t\n  grades: {p: 1}\n", "no page judged relevant"),
        ("- id: x\n  kind: a\n  query: q\n  grades: {p: 3}\n", "exactly the keys"),
    ],
)
def test_a_malformed_judgment_is_refused(tmp_path, entry, complaint):
    path = tmp_path / "queries.yaml"
    path.write_text(entry, encoding="utf-8")
    with pytest.raises(ValueError, match=complaint):
        bench.load_queries(path)


def test_compare_lists_the_queries_that_got_worse():
    queries = [bench.Query("q1", "a", "pauillac", "t", {"b": 3}), bench.Query("q2", "g", "finacement", "t", {"e": 2})]
    now = {"trousse": bench.score(queries, {"q1": ["b"], "q2": ["x", "e"]})}
    earlier = {"trousse": {"queries": {"q1": {"nDCG@10": 0.0}, "q2": {"nDCG@10": 1.0}}}}
    report = bench.compare(queries, now, earlier)
    assert "1 queries better, 1 worse" in report
    assert "[q2] 'finacement'" in report and "[q1]" not in report.split("worse", 1)[1]
