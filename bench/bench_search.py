"""Search: full rebuild, query latency over a mixed query set, save-to-searchable, segments after edits.

    python3 ../shared/bench/make_corpus.py --pages 10000 --commits 100000 --out DIR/c100k
    python bench/bench_search.py --corpus DIR/c100k

Query times are measured in the process that serves them (what a request
spends in search, highlights included) and through the HTTP API; "cold" is
each query's first run after the index changed, "warm" the runs after it.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import ROOT, Client, environment, summary, trousse  # noqa: E402

sys.path.insert(0, str(ROOT))

QUERIES = [
    # AND of words
    "loyer mairie",
    "statuts SCIC",
    "gouvernance partagée",
    "élus convention",
    "formation makers",
    "subvention fablab",
    # OR
    "formation OR fablab",
    "coworking OR cartographie",
    "bail OR convention",
    "jardin OR cuisine",
    # phrases
    '"convention d\'occupation"',
    '"tiers-lieux nourriciers"',
    '"budget prévisionnel"',
    '"licences libres"',
    # prefixes
    "nourri*",
    "loyer*",
    "coop*",
    "mutualis*",
    # one term, a filter with a word
    "cartographie",
    "tag:juridique loyer",
    # exclusion, path filter, a misspelling
    "coworking -fablab",
    "path:loyers/ bail",
    "nouriciers",
]


def measure_queries(data: Path, rounds: int) -> tuple[list[float], list[float], dict]:
    from wiki.app.config import load_settings
    from wiki.app.datadir import DataDir
    from wiki.app.service import Wiki

    wiki = Wiki(DataDir(data), load_settings(data))
    cold, warm, totals = [], [], {}
    try:
        for run in range(rounds):
            for query in QUERIES:
                started = time.perf_counter()
                found = wiki.search.search(query, limit=10, facets=True)
                elapsed = (time.perf_counter() - started) * 1000
                (cold if run == 0 else warm).append(elapsed)
                totals[query] = found.total
        return cold, warm, totals
    finally:
        wiki.close()


def measure_edits(data: Path, edits: int) -> tuple[int, list[float], list[float]]:
    """Many single-page saves in one process: segments left, query times after."""
    from wiki.accounts.store import User
    from wiki.app.config import load_settings
    from wiki.app.datadir import DataDir
    from wiki.app.service import Wiki

    wiki = Wiki(DataDir(data), load_settings(data, {"storage": {"fsync": False}}))
    user = User(1, "bench", "Banc d'essai", "", False, "editor", False, 0, "")
    rng = random.Random(3)
    records = wiki.catalog.pages()
    save_times = []
    try:
        for n in range(edits):
            record = rng.choice(records)
            text = wiki.store.blob(record.blob).decode() + f"\nRetouche {n}.\n"
            started = time.perf_counter()
            wiki.writes.save(record.path, text, user=user, message=f"retouche {n}", base_revision=wiki.store.head())
            save_times.append((time.perf_counter() - started) * 1000)
            records = wiki.catalog.pages() if n % 200 == 0 else records
        segments = wiki.search.segment_count()
        after = []
        for _round in range(3):
            for query in QUERIES:
                started = time.perf_counter()
                wiki.search.search(query, limit=10, facets=True)
                after.append((time.perf_counter() - started) * 1000)
        return segments, save_times, after
    finally:
        wiki.close()


def measure_http(base: str, token: str, saves: int) -> tuple[list[float], list[float]]:
    client = Client(base)
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    search_times = []
    for _round in range(5):
        for query in QUERIES:
            _status, _headers, _body, elapsed = client.request("GET", "/api/v1/search?limit=10&q=" + _quote(query))
            search_times.append(elapsed)
    save_to_searchable = []
    for n in range(saves):
        word = f"zyxbench{n}q"
        body = json.dumps({"markdown": f"# Banc {n}\n\nMot unique : {word}.\n", "message": "banc"}).encode()
        started = time.perf_counter()
        status, _headers, data, _elapsed = client.request("PUT", f"/api/v1/pages/banc/page-{n}", body, auth)
        assert status == 201, data[:300]
        status, _headers, data, _elapsed = client.request("GET", "/api/v1/search?q=" + word)
        assert json.loads(data)["total"] == 1, f"{word} not searchable right after the save"
        save_to_searchable.append((time.perf_counter() - started) * 1000)
    return search_times, save_to_searchable


def _quote(text: str) -> str:
    import urllib.parse

    return urllib.parse.quote(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--rounds", type=int, default=15, help="runs of the query set")
    parser.add_argument("--saves", type=int, default=100, help="saves for save-to-searchable")
    parser.add_argument("--edits", type=int, default=1000, help="single-page edits before counting segments")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="trousse-search-bench-"))
    data = work / "data"
    try:
        started = time.perf_counter()
        trousse(data, "init", "--from", args.corpus)
        print(f"init --from (history catalog + search index): {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        output = trousse(data, "reindex")
        print(f"full search rebuild (trousse reindex): {time.perf_counter() - started:.1f} s wall  [{output.strip()}]")
        size = sum(f.stat().st_size for f in (data / "index" / "search").iterdir()) / 1e6
        print(f"search index size: {size:.1f} MB")

        cold, warm, totals = measure_queries(data, args.rounds)
        print(f"queries in-process, cold (first run):  {summary(cold)}")
        print(f"queries in-process, warm:              {summary(warm)}")
        print("  matches per query: " + ", ".join(f"{q!r}={n}" for q, n in totals.items()))

        served = work / "served"  # a copy, so that the edits below start from the corpus again
        shutil.copytree(data, served)
        trousse(served, "user", "add", "bench", "--role", "editor", "--password-stdin", input="bench password 123\n")
        token = trousse(served, "token", "create", "bench").strip().splitlines()[-1]
        base, server = _serve(served)
        try:
            search_http, save_search = measure_http(base, token, args.saves)
        finally:
            server.terminate()
            server.wait(timeout=20)
        print(f"queries through the API (client):      {summary(search_http)}")
        print(f"save through the API, then found by search (client): {summary(save_search)}")

        segments, save_times, after = measure_edits(data, args.edits)
        print(f"after {args.edits} single-page saves: {segments} segments; save (commit + catalog + index) {summary(save_times)}")
        print(f"queries after those saves:             {summary(after)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _serve(data: Path):
    from common import free_port, wait_until_up

    port = free_port()
    log = data.parent / "server.log"
    env = environment(TROUSSE_SITE_BASE_URL=f"http://127.0.0.1:{port}")
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wiki",
                "--data",
                str(data),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base + "/healthz", server, log)
    return base, server


if __name__ == "__main__":
    main()
