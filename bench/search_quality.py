"""Search relevance: hand-judged French queries, Trousse against a plain SQLite FTS5 index.

    python bench/search_quality.py [--verbose] [--json results.json] [--compare earlier.json]

The documents are the wiki's starter pages plus the pages in
``bench/relevance/corpus`` (CC BY-SA 4.0, see the LICENSE there). The queries
and their graded judgments (0 to 3, unjudged pages count as 0) are in
``bench/relevance/queries.yaml``; each says which kind of difficulty it tests:

    a  fiche fields (commune, postcode, type of place; ``champ:valeur``)
    b  natural questions of several words
    c  hyphenated and compound words
    d  stemming traps (association/associés, local/locaux, construction/construire)
    e  a short, exact page against long ones
    f  words standing together in the query and in the page
    g  typos
    h  link texts

Trousse is queried through ``/api/v1/search`` (the Flask test client) on a
data directory built like ``trousse init --from`` a git repository of the
documents. The baselines are one FTS5 table (title, whole file text; ``bm25``
with the title weighted 2, ``unicode61 remove_diacritics 2``) queried with
the user's words quoted one by one: all of them (``fts5-and``, what a plain
search box does) or any of them (``fts5-or``).

Metrics (a page is *relevant* when judged 2 or 3): MRR@10 (first relevant
page), nDCG@10 (gain 2^grade - 1 over the ideal ordering of every judged
page), P@5, Recall@20 and the number of queries that found nothing.
Deterministic; takes well under a minute. ``--compare`` names the queries
whose nDCG@10 fell since an earlier ``--json`` run (a change of the search
code should make none worse without a reason).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RELEVANCE = Path(__file__).resolve().parent / "relevance"
CORPUS = RELEVANCE / "corpus"
QUERIES = RELEVANCE / "queries.yaml"
KINDS = {
    "a": "fiche fields",
    "b": "natural questions",
    "c": "hyphens, compounds",
    "d": "stemming traps",
    "e": "short exact pages",
    "f": "adjacency",
    "g": "typos",
    "h": "link texts",
}
RELEVANT = 2  # the lowest grade counted as relevant by MRR, P@5 and Recall@20
DEPTH = 20  # results asked of each system

sys.path.insert(0, str(ROOT))


# -- judgments ----------------------------------------------------------------


@dataclass
class Query:
    id: str
    kind: str
    text: str
    tests: str
    grades: dict[str, int]


def load_queries(path: Path = QUERIES) -> list[Query]:
    """The judged queries; raises ValueError on a malformed entry."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise ValueError(f"{path.name}: expected a list of queries")
    queries, seen = [], set()
    for number, entry in enumerate(entries, 1):
        where = f"{path.name} entry {number}"
        if not isinstance(entry, dict) or set(entry) != {"id", "kind", "query", "tests", "grades"}:
            raise ValueError(f"{where}: expected exactly the keys id, kind, query, tests, grades")
        if entry["id"] in seen:
            raise ValueError(f"{where}: id {entry['id']} twice")
        seen.add(entry["id"])
        if entry["kind"] not in KINDS:
            raise ValueError(f"{where}: kind must be one of {', '.join(KINDS)}")
        grades = entry["grades"]
        if not isinstance(grades, dict) or not grades:
            raise ValueError(f"{where}: grades must map page paths to 0-3")
        for page, grade in grades.items():
            if not isinstance(page, str) or grade not in (0, 1, 2, 3):
                raise ValueError(f"{where}: grade of {page!r} must be 0, 1, 2 or 3")
        if max(grades.values()) < RELEVANT:
            raise ValueError(f"{where}: no page judged relevant ({RELEVANT} or more)")
        if not str(entry["query"]).strip() or not str(entry["tests"]).strip():
            raise ValueError(f"{where}: empty query or tests")
        queries.append(Query(str(entry["id"]), entry["kind"], str(entry["query"]), str(entry["tests"]), dict(grades)))
    return queries


def documents() -> dict[str, bytes]:
    """Every file of the benchmark's wiki by repository path: the starter pages, then the corpus."""
    from wiki.app.datadir import starter_pages

    files = dict(starter_pages())
    for path in sorted(CORPUS.rglob("*")):
        if path.is_file() and path.suffix == ".md":
            files[path.relative_to(CORPUS).as_posix()] = path.read_bytes()
    return files


def page_paths(files: dict[str, bytes]) -> set[str]:
    """The wiki paths of the pages (``guides/x.md`` is ``guides/x``), templates left out."""
    return {name[:-3] for name in files if name.endswith(".md") and not name.startswith("_templates/")}


# -- metrics ------------------------------------------------------------------


def reciprocal_rank(ranked: Sequence[str], grades: dict[str, int], k: int = 10) -> float:
    for position, path in enumerate(ranked[:k], 1):
        if grades.get(path, 0) >= RELEVANT:
            return 1 / position
    return 0.0


def ndcg(ranked: Sequence[str], grades: dict[str, int], k: int = 10) -> float:
    def dcg(gains: Iterable[int]) -> float:
        return sum((2**grade - 1) / math.log2(position + 1) for position, grade in enumerate(gains, 1))

    ideal = dcg(sorted(grades.values(), reverse=True)[:k])
    return dcg(grades.get(path, 0) for path in ranked[:k]) / ideal if ideal else 0.0


def precision(ranked: Sequence[str], grades: dict[str, int], k: int = 5) -> float:
    return sum(1 for path in ranked[:k] if grades.get(path, 0) >= RELEVANT) / k


def recall(ranked: Sequence[str], grades: dict[str, int], k: int = 20) -> float:
    wanted = {path for path, grade in grades.items() if grade >= RELEVANT}
    return len(wanted.intersection(ranked[:k])) / len(wanted) if wanted else 0.0


METRICS: dict[str, Callable[[Sequence[str], dict[str, int]], float]] = {
    "MRR@10": reciprocal_rank,
    "nDCG@10": ndcg,
    "P@5": precision,
    "R@20": recall,
}


@dataclass
class Scores:
    """One system's per-query scores."""

    per_query: dict[str, dict[str, float]] = field(default_factory=dict)
    zero: list[str] = field(default_factory=list)

    def mean(self, metric: str, ids: Iterable[str] | None = None) -> float:
        chosen = list(self.per_query) if ids is None else list(ids)
        return sum(self.per_query[i][metric] for i in chosen) / len(chosen) if chosen else 0.0


def score(queries: list[Query], results: dict[str, list[str]]) -> Scores:
    scores = Scores()
    for query in queries:
        ranked = results[query.id]
        scores.per_query[query.id] = {name: metric(ranked, query.grades) for name, metric in METRICS.items()}
        if not ranked:
            scores.zero.append(query.id)
    return scores


# -- the systems --------------------------------------------------------------


class Trousse:
    """A real data directory made from a git repository of the documents, searched through the API."""

    name = "trousse"

    def __init__(self, files: dict[str, bytes], work: Path) -> None:
        from repo_store.store import FileChange, Identity, PageStore
        from wiki.app.datadir import DataDir, initialise
        from wiki.app.derived import build_derived
        from wiki.web import create_app

        source = work / "documents.git"
        subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(source)], check=True)
        with PageStore(source) as store:
            store.commit(
                [FileChange(path, data=data) for path, data in sorted(files.items())],
                author=Identity("Banc de pertinence", "banc@example.org"),
                message="Documents du banc de pertinence",
            )
        data = DataDir(work / "data")
        logging.disable(logging.WARNING)  # "index unreadable; rebuilding it": the index is new
        try:
            initialise(data, str(source))
            build_derived(data)
        finally:
            logging.disable(logging.NOTSET)
        self.app = create_app({"DATA_DIR": str(data.root), "TESTING": True, "SETTINGS": {"storage": {"fsync": False}}})
        self.client = self.app.test_client()

    def search(self, text: str) -> list[str]:
        response = self.client.get("/api/v1/search", query_string={"q": text, "limit": DEPTH})
        if response.status_code != 200:
            raise SystemExit(
                f"/api/v1/search?q={text!r} answered {response.status_code}: {response.get_data(as_text=True)[:300]}"
            )
        return [hit["path"] for hit in response.get_json()["results"]]

    def close(self) -> None:
        from wiki.web import close_app

        close_app(self.app)


_WORD = re.compile(r"\w+")
_TITLE = re.compile(r"^title:\s*[\"']?(.*?)[\"']?\s*$|^#\s+(.*)$", re.MULTILINE)


class Fts5:
    """One FTS5 table of the files as they are; the query's words quoted one by one, ANDed or ORed."""

    def __init__(self, files: dict[str, bytes], operator: str) -> None:
        self.name = f"fts5-{operator.lower()}"
        self.operator = operator
        self.db = sqlite3.connect(":memory:")
        self.db.execute(
            "CREATE VIRTUAL TABLE docs USING fts5(path UNINDEXED, title, body, tokenize='unicode61 remove_diacritics 2')"
        )
        for path in sorted(page_paths(files)):
            text = files[path + ".md"].decode("utf-8")
            found = _TITLE.search(text)
            title = (found.group(1) or found.group(2)) if found else path
            self.db.execute("INSERT INTO docs VALUES (?, ?, ?)", (path, title, text))

    def search(self, text: str) -> list[str]:
        words = _WORD.findall(text)
        if not words:
            return []
        match = f" {self.operator} ".join('"' + word.replace('"', '""') + '"' for word in words)
        rows = self.db.execute(
            "SELECT path FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 0, 2.0, 1.0), path LIMIT ?", (match, DEPTH)
        )
        return [path for (path,) in rows]

    def close(self) -> None:
        self.db.close()


# -- report -------------------------------------------------------------------


def table(queries: list[Query], scores: dict[str, Scores]) -> str:
    lines = [f"{len(queries)} queries; relevant = grade {RELEVANT}+; unjudged results count as 0", ""]
    header = f"{'system':<10}" + "".join(f"{name:>9}" for name in METRICS) + f"{'zero':>6}"
    lines += [header, "-" * len(header)]
    for system, result in scores.items():
        lines.append(f"{system:<10}" + "".join(f"{result.mean(name):9.3f}" for name in METRICS) + f"{len(result.zero):6d}")
    lines += ["", "nDCG@10 (MRR@10) by kind of query:"]
    lines.append(f"{'kind':<24}{'n':>3}" + "".join(f"{system:>18}" for system in scores))
    for kind, label in KINDS.items():
        ids = [query.id for query in queries if query.kind == kind]
        cells = "".join(f"{result.mean('nDCG@10', ids):10.3f} ({result.mean('MRR@10', ids):.2f})" for result in scores.values())
        lines.append(f"({kind}) {label:<20}{len(ids):>3}{cells}")
    return "\n".join(lines)


def verbose(queries: list[Query], results: dict[str, dict[str, list[str]]], scores: dict[str, Scores]) -> str:
    lines = []
    for query in queries:
        lines += ["", f"[{query.id}] ({query.kind}) {query.text!r}: {query.tests}"]
        wanted = sorted(query.grades.items(), key=lambda item: (-item[1], item[0]))
        lines.append("  judged: " + ", ".join(f"{path}={grade}" for path, grade in wanted))
        for system, by_query in results.items():
            found, own = by_query[query.id], scores[system].per_query[query.id]
            lines.append(f"  {system}: nDCG@10 {own['nDCG@10']:.2f}, MRR {own['MRR@10']:.2f}, {len(found)} results")
            for position, path in enumerate(found[:10], 1):
                lines.append(f"    {position:2d}. [{query.grades.get(path, 0)}] {path}")
    return "\n".join(lines)


def compare(queries: list[Query], scores: dict[str, Scores], earlier: dict) -> str:
    """Each system's queries whose nDCG@10 moved since an earlier ``--json`` run, worst first."""
    lines = []
    for system, result in scores.items():
        before = earlier.get(system, {}).get("queries", {})
        moves = [
            (result.per_query[query.id]["nDCG@10"] - before[query.id]["nDCG@10"], query)
            for query in queries
            if query.id in before
        ]
        worse = sorted((move for move in moves if move[0] < -1e-9), key=lambda move: move[0])
        better = sum(1 for delta, _query in moves if delta > 1e-9)
        lines += ["", f"{system} against the earlier run: {better} queries better, {len(worse)} worse"]
        lines += [f"  {delta:+.3f} [{query.id}] {query.text!r}" for delta, query in worse]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="write every score, per query and overall, to this file")
    parser.add_argument("--verbose", action="store_true", help="list each query's top ten results per system")
    parser.add_argument("--compare", metavar="FILE", help="list the queries whose nDCG@10 changed since this earlier --json")
    args = parser.parse_args(argv)

    queries = load_queries()
    files = documents()
    missing = {path for query in queries for path in query.grades} - page_paths(files)
    if missing:
        raise SystemExit("judged pages missing from the documents: " + ", ".join(sorted(missing)))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="trousse-relevance-") as work:
        systems = [Trousse(files, Path(work)), Fts5(files, "AND"), Fts5(files, "OR")]
        built = time.perf_counter() - started
        try:
            results = {system.name: {query.id: system.search(query.text) for query in queries} for system in systems}
        finally:
            for system in systems:
                system.close()
    scores = {name: score(queries, found) for name, found in results.items()}
    print(f"{len(page_paths(files))} pages; built in {built:.1f} s, searched in {time.perf_counter() - started - built:.1f} s")
    print(table(queries, scores))
    if args.compare:
        print(compare(queries, scores, json.loads(Path(args.compare).read_text(encoding="utf-8"))))
    if args.verbose:
        print(verbose(queries, results, scores))
    if args.json:
        report = {
            system: {
                "mean": {name: result.mean(name) for name in METRICS},
                "zero_results": result.zero,
                "by_kind": {
                    kind: {name: result.mean(name, [q.id for q in queries if q.kind == kind]) for name in METRICS}
                    for kind in KINDS
                },
                "queries": {q.id: {**result.per_query[q.id], "results": results[system][q.id]} for q in queries},
            }
            for system, result in scores.items()
        }
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
