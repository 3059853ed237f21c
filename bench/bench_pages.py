"""Page views and saves, as users see them, on a corpus repository; optionally side by side with Otter Wiki.

    python3 ../shared/bench/make_corpus.py --pages 2000 --commits 20000 --out DIR/c20k
    python bench/bench_pages.py --corpus DIR/c20k [--otter-python /path/to/otter-venv/bin/python]

Prints the import time, page-view latency (cold and cached, client and server
time), page-view throughput on one worker (wrk when installed) and the latency
of saves through the API, each with p50/p95.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import Client, free_port, percentile, python_throughput, served_trousse, server_time, summary, wait_until_up, wrk


def measure_trousse(args: argparse.Namespace) -> dict:
    results: dict = {}
    with served_trousse(args.corpus, workers=args.workers) as (base, data, import_seconds):
        results["import"] = import_seconds
        client = Client(base)
        token = _token(data)
        auth = {"Authorization": f"Bearer {token}"}
        _, listing, _ = client.json("GET", "/api/v1/pages")
        paths = [page["path"] for page in listing["pages"]]
        rng = random.Random(7)
        sample = rng.sample(paths, min(args.views, len(paths)))
        cold, cold_server, cached, cached_server = [], [], [], []
        for path in sample:
            status, headers, _body, elapsed = client.request("GET", f"/wiki/{path}")
            assert status == 200, (path, status)
            cold.append(elapsed)
            cold_server.append(server_time(headers) or 0)
        for _round in range(5):
            for path in sample:
                _status, headers, _body, elapsed = client.request("GET", f"/wiki/{path}")
                cached.append(elapsed)
                cached_server.append(server_time(headers) or 0)
        results.update(cold=cold, cold_server=cold_server, cached=cached, cached_server=cached_server)
        page = sample[0]
        results["page"] = page
        url = f"{base}/wiki/{page}"
        results["throughput"] = wrk(url, args.seconds) or python_throughput(url, args.seconds)
        saves, saves_server = [], []
        for n in range(args.saves):
            path = rng.choice(paths)
            _, current, _ = client.json("GET", f"/api/v1/pages/{path}")
            body = {
                "markdown": current["markdown"] + f"\nAjout {n} du banc d'essai.\n",
                "base_revision": current["revision"],
                "message": f"Banc d'essai {n}",
            }
            status, headers, _data, elapsed = client.request(
                "PUT",
                f"/api/v1/pages/{path}",
                json.dumps(body).encode(),
                {"Content-Type": "application/json", **auth},
            )
            assert status == 200, (status, _data[:300])
            saves.append(elapsed)
            saves_server.append(server_time(headers) or 0)
        results.update(saves=saves, saves_server=saves_server)
    return results


def _token(data: Path) -> str:
    from common import trousse

    return trousse(data, "token", "create", "bench").strip().splitlines()[-1]


def measure_otter(args: argparse.Namespace, page: str, sample_paths: list[str]) -> dict:
    """Otter Wiki on a working clone of the same corpus, one gunicorn worker, same page."""
    work = Path(tempfile.mkdtemp(prefix="otter-bench-"))
    repo = work / "repo"
    subprocess.run(["git", "clone", "-q", args.corpus, str(repo)], check=True)
    port = free_port()
    log = work / "otter.log"
    env = {
        "REPOSITORY": str(repo),
        "SECRET_KEY": "bench-secret-key-0123456789",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{work / 'otter.db'}",
        "PATH": "/usr/bin:/bin",
    }
    gunicorn = [
        args.otter_python,
        "-m",
        "gunicorn",
        "-w",
        str(args.workers),
        "-b",
        f"127.0.0.1:{port}",
        "--timeout",
        "120",
        "otterwiki.server:app",
    ]
    with open(log, "wb") as output:
        server = subprocess.Popen(gunicorn, stdout=output, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/", server, log)
        client = Client(base)
        latencies = []
        for path in sample_paths[:20]:
            client.request("GET", f"/{path}")
        for path in sample_paths[:20]:
            status, _headers, _body, elapsed = client.request("GET", f"/{path}")
            assert status == 200, (path, status)
            latencies.append(elapsed)
        url = f"{base}/{page}"
        throughput = wrk(url, args.seconds) or python_throughput(url, args.seconds)
        return {"cached": latencies, "throughput": throughput}
    finally:
        server.terminate()
        server.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, help="git repository to import (make_corpus.py output)")
    parser.add_argument("--views", type=int, default=200, help="distinct pages viewed")
    parser.add_argument("--saves", type=int, default=200, help="saves through the API")
    parser.add_argument("--seconds", type=int, default=10, help="duration of the throughput run")
    parser.add_argument("--workers", type=int, default=1, help="server processes (both wikis)")
    parser.add_argument("--otter-python", help="python of a virtualenv with otterwiki and gunicorn installed")
    args = parser.parse_args()

    started = time.perf_counter()
    ours = measure_trousse(args)
    print(f"Trousse on {args.corpus} ({args.workers} worker)")
    print(f"  import (init --from, catalog + index): {ours['import']:.1f} s")
    print(f"  page view, cold     client {summary(ours['cold'])}")
    print(f"                      server {summary(ours['cold_server'])}")
    print(f"  page view, cached   client {summary(ours['cached'])}")
    print(f"                      server {summary(ours['cached_server'])}")
    print(f"  page views/s (one page, 4 connections): {ours['throughput']:.0f}")
    print(f"  save through the API client {summary(ours['saves'])}")
    print(f"                      server {summary(ours['saves_server'])}")
    if args.otter_python:
        otter = measure_otter(args, ours["page"], [ours["page"]] * 20)
        print(f"Otter Wiki, same corpus, same page, {args.workers} worker")
        print(f"  page view           client {summary(otter['cached'])}")
        print(f"  page views/s: {otter['throughput']:.1f}")
        print(f"  throughput ratio Trousse / Otter Wiki: {ours['throughput'] / otter['throughput']:.0f}x")
        print(f"  latency ratio (p50): {percentile(otter['cached'], 0.5) / percentile(ours['cached'], 0.5):.0f}x")
    print(f"(benchmark took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
