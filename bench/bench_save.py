"""Saves through the API, as a script sees them, and where their time goes.

    python3 ../shared/bench/make_corpus.py --pages 2000 --commits 20000 --out DIR/c20k
    python bench/bench_save.py --corpus DIR/c20k [--saves 300] [--runs 3] [--profile]

The corpus is imported once (``trousse init --from``, an editor account and
its token); every run then serves a fresh copy of that data directory, with
``storage.fsync`` on, and makes the same saves: ``--saves`` PUTs of
``/api/v1/pages/<path>`` with the ``base_revision`` just read, on pages drawn
with a fixed seed, one at a time. It prints the p50/p95/p99/max of the time
the client waited and of the server's own time (``Server-Timing``).

``--profile`` makes the same saves in this process instead (the Flask test
client over the same application, maintenance thread included, as a server
runs it) with timers wrapped around the functions of each phase, from here:
nothing is added to the application. Each phase's time is its own, without
the phases it calls; what no phase claims is Flask, JSON and the response.
The cProfile functions that cost most follow.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import inspect
import io
import json
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import PASSWORD, ROOT, Client, environment, free_port, percentile, server_time, trousse, wait_until_up  # noqa: E402

sys.path.insert(0, str(ROOT))  # in process too, the packages of this checkout, as the served runs use

SEED = 7
WARMUP = 10
# Rate limits are not what is measured here.
UNLIMITED = {"api_writes_per_minute": 1_000_000, "pushes_per_minute": 1_000_000}


# -- the data directory ---------------------------------------------------------


def prepare(corpus: str, work: Path) -> tuple[Path, str]:
    """Import ``corpus`` once into ``work/template``: (data directory, an editor's API token)."""
    data = work / "template"
    started = time.perf_counter()
    trousse(data, "init", "--from", corpus)
    print(f"import of {corpus}: {time.perf_counter() - started:.1f} s", flush=True)
    trousse(
        data,
        "user",
        "add",
        "bench",
        "--role",
        "editor",
        "--display-name",
        "Banc d'essai",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    token = trousse(data, "token", "create", "bench").strip().splitlines()[-1]
    return data, token


def fresh_copy(template: Path, work: Path, name: str) -> Path:
    """A copy of the imported data directory, so that every run starts from the same state."""
    target = work / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(template, target, symlinks=True)
    return target


@contextmanager
def served(data: Path, workers: int) -> Iterator[str]:
    """``trousse serve`` on ``data`` with fsync on; yields its base URL."""
    port = free_port()
    log = data.parent / f"{data.name}.log"
    env = environment(
        TROUSSE_SITE_BASE_URL=f"http://127.0.0.1:{port}",
        TROUSSE_STORAGE_FSYNC="true",
        **{f"TROUSSE_LIMITS_{name.upper()}": str(value) for name, value in UNLIMITED.items()},
    )
    command = [sys.executable, "-m", "wiki", "--data", str(data), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with open(log, "wb") as output:
        server = subprocess.Popen([*command, "--workers", str(workers)], stdout=output, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/healthz", server, log)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# -- the saves --------------------------------------------------------------------


def plan(paths: list[str], saves: int, seed: int) -> list[str]:
    """The pages saved, warm-up first: the same list for every run and both modes."""
    rng = random.Random(seed)
    return [rng.choice(paths) for _ in range(WARMUP + saves)]


def edited(current: dict[str, Any], n: int) -> dict[str, Any]:
    return {
        "markdown": current["markdown"] + f"\nAjout {n} du banc d'essai.\n",
        "base_revision": current["revision"],
        "message": f"Banc d'essai {n}",
    }


def run_served(data: Path, token: str, saves: int, seed: int, workers: int) -> dict[str, list[float]]:
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    client_ms: list[float] = []
    server_ms: list[float] = []
    with served(data, workers) as base:
        client = Client(base)
        _, listing, _ = client.json("GET", "/api/v1/pages")
        pages = plan(sorted(page["path"] for page in listing["pages"]), saves, seed)
        for n, path in enumerate(pages):
            status, current, _ = client.json("GET", f"/api/v1/pages/{path}")
            assert status == 200, (path, status)
            status, headers, body, elapsed = client.request(
                "PUT", f"/api/v1/pages/{path}", json.dumps(edited(current, n)).encode(), auth
            )
            assert status == 200, (status, body[:300])
            if n >= WARMUP:
                client_ms.append(elapsed)
                server_ms.append(server_time(headers) or 0.0)
    return {"client": client_ms, "server": server_ms}


def line(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 0.5):6.1f}  p95 {percentile(values, 0.95):6.1f}"
        f"  p99 {percentile(values, 0.99):6.1f}  max {max(values):6.1f}  mean {statistics.fmean(values):6.1f} ms"
    )


# -- the profile ------------------------------------------------------------------


class Phases:
    """Wall time by phase, each phase's own (the phases it calls are counted apart), in one thread."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.stack: list[list[float]] = []  # [start, time spent in phases called from it]
        self.current: dict[str, float] = defaultdict(float)
        self.saves: list[dict[str, float]] = []
        self.order: list[str] = []
        self.missing: list[str] = []

    def wrap(self, owner: Any, name: str, phase: str, *, classify: Callable[..., str] | None = None) -> None:
        """Time ``owner.name`` as ``phase``; a name the code no longer has is left out (the table says so)."""
        original = getattr(owner, name, None)
        if original is None:
            self.missing.append(f"{getattr(owner, '__name__', owner)}.{name}")
            return
        if phase not in self.order:
            self.order.append(phase)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() != self.thread:
                return original(*args, **kwargs)
            label = classify(*args, **kwargs) if classify else phase
            if label not in self.order:
                self.order.append(label)
            frame = [time.perf_counter(), 0.0]
            self.stack.append(frame)
            try:
                return original(*args, **kwargs)
            finally:
                self.stack.pop()
                elapsed = time.perf_counter() - frame[0]
                self.current[label] += (elapsed - frame[1]) * 1000
                if self.stack:
                    self.stack[-1][1] += elapsed

        setattr(owner, name, staticmethod(timed) if isinstance(inspect.getattr_static(owner, name), staticmethod) else timed)

    def finish(self, total_ms: float) -> None:
        claimed = sum(self.current.values())
        self.current["Flask, auth glue, JSON, response (rest)"] += total_ms - claimed
        self.current["total"] += total_ms
        self.saves.append(dict(self.current))
        self.current.clear()


def instrument(phases: Phases) -> None:
    """Timers around the functions of each phase of a save (this process only)."""
    import repo_store.catalog
    import repo_store.objects
    import repo_store.refs
    import repo_store.store
    import search.index
    import wiki.accounts.store
    import wiki.app.search_sync
    import wiki.app.service

    service = wiki.app.service
    store = repo_store.store.PageStore
    phases.wrap(wiki.accounts.store.Accounts, "take", "accounts: rate count")
    for name in ("user_for_token", "token_user", "authenticate_token", "user_by_token"):
        if hasattr(wiki.accounts.store.Accounts, name):
            phases.wrap(wiki.accounts.store.Accounts, name, "accounts: token")
    phases.wrap(
        service.Wiki,
        "sync",
        "",
        classify=lambda *a, bounded=False, **k: "sync: before request" if bounded else "sync: after commit (glue)",
    )
    try:  # the write rules have their own module since every write goes through one service
        from wiki.app.write_rules import WriteRules

        for name in ("page_name", "page_text", "fiche_fields", "message"):
            phases.wrap(WriteRules, name, "validation: path, text, message")
    except ImportError:
        phases.wrap(service, "check_page", "validation: path, text, message")
        phases.wrap(service, "check_new_page_path", "validation: path, text, message")
        phases.wrap(service, "render_title", "validation: path, text, message")
    phases.wrap(store, "page_exists", "validation: path, text, message")
    phases.wrap(store, "save_page", "store: read head, build trees, commit")
    phases.wrap(store, "merge_texts", "store: merge-file")
    phases.wrap(repo_store.objects.LooseObjectWriter, "write", "store: object writes")
    phases.wrap(repo_store.objects.LooseObjectWriter, "write_all", "store: object writes")
    phases.wrap(repo_store.objects.LooseObjectWriter, "sync_directories", "store: object writes")
    phases.wrap(repo_store.refs, "compare_and_swap", "store: ref CAS")
    phases.wrap(os, "fsync", "fsync (from Python, this thread)")
    phases.wrap(repo_store.catalog.Catalog, "sync", "catalog sync")
    phases.wrap(repo_store.catalog.Catalog, "state", "sync: after commit (glue)")
    updater = wiki.app.search_sync.SearchUpdater
    phases.wrap(updater, "__call__", "search: plan, documents")
    phases.wrap(updater, "_plan", "search: plan, documents")
    phases.wrap(search.index.SearchIndex, "update", "search: writer lock, read meta")
    phases.wrap(search.index, "_apply", "search: Whoosh add + commit")
    phases.wrap(search.index.SearchIndex, "_record_checksums", "search: checksums")
    phases.wrap(search.index.SearchIndex, "is_filled", "search: is the index filled")
    phases.wrap(search.index.SearchIndex, "has_segments", "search: is the index filled")
    phases.wrap(service.Wiki, "_render", "render, caches")


def run_profile(data: Path, token: str, saves: int, seed: int, top: int, slow: float) -> None:
    """The saves in this process: first timed by phase, then (on a fresh copy) under cProfile."""
    phases = Phases()
    instrument(phases)
    in_process(data, token, saves, seed, phases=phases)
    print_phases(phases)
    if slow:
        print(f"  saves over {slow:g} ms, with their longest phases:")
        for n, save in enumerate(phases.saves):
            if save["total"] > slow:
                longest = sorted((value, label) for label, value in save.items() if label != "total")[-2:]
                print(
                    f"    #{n}: {save['total']:.0f} ms; "
                    + ", ".join(f"{label} {value:.0f}" for value, label in reversed(longest))
                )
    if top:
        profiler = cProfile.Profile()
        in_process(fresh_copy(data.parent / "template", data.parent, "cprofile"), token, saves, seed, profiler=profiler)
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
        print("\ncProfile of the same saves (its overhead inflates the many small calls):")
        print(stream.getvalue())


def in_process(
    data: Path, token: str, saves: int, seed: int, *, phases: Phases | None = None, profiler: cProfile.Profile | None = None
) -> None:
    """The saves through the Flask test client over the application a server runs (maintenance thread included)."""
    from wiki.web import close_app, create_app

    app = create_app(
        {
            "DATA_DIR": str(data),
            "SETTINGS": {"storage": {"fsync": True}, "limits": UNLIMITED},
            "TROUSSE_MAINTENANCE": True,
        }
    )
    assert app.config["TROUSSE_SETTINGS"]["storage"]["fsync"] is True
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    pages = plan(sorted(page["path"] for page in client.get("/api/v1/pages").get_json()["pages"]), saves, seed)
    try:
        for n, path in enumerate(pages):
            current = client.get(f"/api/v1/pages/{path}").get_json()
            measured = n >= WARMUP
            if phases is not None:
                phases.current.clear()
            if profiler is not None and measured:
                profiler.enable()
            started = time.perf_counter()
            response = client.put(f"/api/v1/pages/{path}", json=edited(current, n), headers=auth)
            elapsed = (time.perf_counter() - started) * 1000
            if profiler is not None and measured:
                profiler.disable()
            assert response.status_code == 200, (response.status_code, response.data[:300])
            if phases is not None and measured:
                phases.finish(elapsed)
    finally:
        close_app(app)


def print_phases(phases: Phases) -> None:
    labels = [label for label in phases.order if label] + ["Flask, auth glue, JSON, response (rest)", "total"]
    count = len(phases.saves)
    print(f"\nwhere a save's time goes, in process ({count} saves), ms: mean / p50 / p95 per save")
    print(f"  {'phase':44} {'mean':>7} {'p50':>7} {'p95':>7}")
    for label in dict.fromkeys(labels):
        values = [save.get(label, 0.0) for save in phases.saves]
        if not any(values):
            continue
        mean = statistics.fmean(values)
        print(f"  {label:44} {mean:7.2f} {percentile(values, 0.5):7.2f} {percentile(values, 0.95):7.2f}")
    if phases.missing:
        print(f"  (not timed, not found in this version: {', '.join(phases.missing)})")


# -- main -------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, help="git repository to import (make_corpus.py output)")
    parser.add_argument("--saves", type=int, default=300, help=f"saves measured per run (after {WARMUP} of warm-up)")
    parser.add_argument("--runs", type=int, default=1, help="served runs, each on a fresh copy of the imported data")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the pages drawn")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--profile", action="store_true", help="also make the saves in this process and show where the time goes")
    parser.add_argument("--slow", type=float, default=0, help="list the saves whose server time exceeds this (ms)")
    parser.add_argument("--top", type=int, default=25, help="cProfile functions shown (0: no cProfile pass)")
    parser.add_argument("--work", help="directory for the imported data, kept and reused (default: a temporary one, removed)")
    args = parser.parse_args()

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="trousse-bench-save-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if (work / "token").is_file():
            template, token = work / "template", (work / "token").read_text().strip()
        else:
            template, token = prepare(args.corpus, work)
            (work / "token").write_text(token + "\n")
        print(f"API saves on {args.corpus}, fsync on, {args.saves} saves (seed {args.seed}), {args.workers} worker(s)")
        for run in range(args.runs):
            data = fresh_copy(template, work, "run")
            times = run_served(data, token, args.saves, args.seed, args.workers)
            print(f"  run {run + 1}  client {line(times['client'])}")
            print(f"         server {line(times['server'])}", flush=True)
            if args.slow:
                slow = [f"#{n}:{ms:.0f}" for n, ms in enumerate(times["server"]) if ms > args.slow]
                print(f"         saves over {args.slow:g} ms (server): {' '.join(slow) or 'none'}")
        if args.profile:
            data = fresh_copy(template, work, "profile")
            run_profile(data, token, args.saves, args.seed, args.top, args.slow)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
