"""History at scale: a page's history, diffs, recent changes, the Atom feed and blame, served over HTTP.

    python3 ../shared/bench/make_corpus.py --pages 10000 --commits 100000 --out DIR/c100k
    python bench/bench_history.py --corpus DIR/c100k

Pages are sampled at random plus the ones with the most revisions; "blame,
cold" is the first blame of each page since the server started.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import Client, served_trousse, server_time, summary  # noqa: E402


def sample_pages(data: Path, count: int) -> list[tuple[str, int]]:
    db = sqlite3.connect(data / "index" / "catalog.sqlite")
    rows = db.execute(
        "SELECT substr(path, 1, length(path) - 3), COUNT(*) FROM changes WHERE path LIKE '%.md'"
        " GROUP BY path ORDER BY COUNT(*) DESC"
    ).fetchall()
    db.close()
    rng = random.Random(11)
    busiest = rows[: max(1, count // 10)]
    return busiest + rng.sample(rows[len(busiest) :], min(count - len(busiest), len(rows) - len(busiest)))


def timed(client: Client, url: str, client_times: list, server_times: list) -> bytes:
    status, headers, body, elapsed = client.request("GET", url)
    assert status == 200, (url, status, body[:200])
    client_times.append(elapsed)
    server_times.append(server_time(headers) or 0.0)
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--pages", type=int, default=100)
    args = parser.parse_args()
    started = time.perf_counter()
    with served_trousse(args.corpus) as (base, data, import_seconds):
        print(f"import: {import_seconds:.1f} s")
        pages = sample_pages(data, args.pages)
        print(
            f"{len(pages)} pages, {pages[0][1]} revisions for the busiest, "
            f"{sorted(n for _, n in pages)[len(pages) // 2]} for the median"
        )
        client = Client(base)
        results: dict[str, tuple[list, list]] = {}

        def run(name: str, urls: list[str]) -> list[bytes]:
            client_times, server_times = results.setdefault(name, ([], []))
            return [timed(client, url, client_times, server_times) for url in urls]

        quoted = [urllib.parse.quote(path) for path, _ in pages]
        run("blame, cold (first request)", [f"/blame/{p}" for p in quoted])
        for _round in range(3):
            run("history page (HTML, 50 revisions)", [f"/history/{p}" for p in quoted])
            run("history (API)", [f"/api/v1/pages/{p}/history?limit=50" for p in quoted])
            run("diff of the last change (HTML)", [f"/diff/{p}" for p in quoted])
            run("diff (API, unified)", [f"/api/v1/pages/{p}/diff" for p in quoted])
        for _round in range(30):
            run("recent changes (HTML, 50)", ["/changes"])
            run("recent changes (API, 50)", ["/api/v1/changes?limit=50"])
            feed = run("Atom feed (50 entries)", ["/changes.atom"])[0]
        run("recent changes filtered by folder", ["/changes?folder=loyers"] * 20)
        run("recent changes filtered by author", ["/changes?author=Camille%20Martin"] * 20)
        for name, (client_times, server_times) in results.items():
            print(f"{name}")
            print(f"    client {summary(client_times)}")
            print(f"    server {summary(server_times)}")
        print(f"Atom feed size: {len(feed) / 1024:.1f} KiB")
    print(f"(benchmark took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
