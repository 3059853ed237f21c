"""Shared pieces of the benchmarks: a served wiki, an HTTP client, percentiles."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench password 123"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 0.5):7.2f} ms  p95 {percentile(values, 0.95):7.2f} ms"
        f"  mean {statistics.fmean(values):7.2f} ms  (n={len(values)})"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "TROUSSE_"))}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def trousse(data: Path, *args: str, input: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "wiki", "--data", str(data), *args], input=input, capture_output=True, text=True, env=environment()
    )
    if result.returncode != 0:
        raise SystemExit(f"trousse {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def wait_until_up(url: str, process: subprocess.Popen, log: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    parts = urllib.parse.urlsplit(url)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("server died:\n" + log.read_text(errors="replace")[-3000:])
        try:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
            connection.request("GET", parts.path or "/")
            if connection.getresponse().status < 500:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("server did not start:\n" + log.read_text(errors="replace")[-3000:])


@contextmanager
def served_trousse(
    corpus: str | None, *, workers: int = 1, keep: bool = False, fsync: bool = True, settings: dict[str, str] | None = None
):
    """Import ``corpus`` into a fresh data directory and serve it; yields (base URL, data dir, import s)."""
    work = Path(tempfile.mkdtemp(prefix="trousse-bench-"))
    data = work / "data"
    started = time.perf_counter()
    trousse(data, "init", *(["--from", corpus] if corpus else []))
    import_seconds = time.perf_counter() - started
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
    port = free_port()
    log = work / "server.log"
    # The benchmarks measure the server, not its per-account rate limits.
    unlimited = {"TROUSSE_LIMITS_API_WRITES_PER_MINUTE": "1000000", "TROUSSE_LIMITS_PUSHES_PER_MINUTE": "1000000"}
    env = environment(
        TROUSSE_SITE_BASE_URL=f"http://127.0.0.1:{port}",
        TROUSSE_STORAGE_FSYNC="true" if fsync else "false",
        **{**unlimited, **(settings or {})},
    )
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
                str(workers),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/healthz", server, log)
        yield base, data, import_seconds
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


class Client:
    """One keep-alive HTTP connection; returns (status, headers, body, milliseconds)."""

    def __init__(self, base: str) -> None:
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                self.connection.request(method, urllib.parse.quote(path, safe="/?=&%"), body=body, headers=headers or {})
                response = self.connection.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
                if attempt == 2:
                    raise
        elapsed = (time.perf_counter() - started) * 1000
        return response.status, dict(response.getheaders()), data, elapsed

    def json(self, method: str, path: str, payload=None, headers: dict | None = None):
        body = json.dumps(payload).encode() if payload is not None else None
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        status, _headers, data, elapsed = self.request(method, path, body, all_headers)
        return status, (json.loads(data) if data else None), elapsed


def server_time(headers: dict) -> float | None:
    value = headers.get("Server-Timing", "")
    if "dur=" in value:
        return float(value.split("dur=")[1].split(";")[0])
    return None


def wrk(url: str, seconds: int = 10, connections: int = 4) -> float | None:
    """Requests per second measured by wrk, or None when wrk is not installed."""
    if shutil.which("wrk") is None:
        return None
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "20s", url], capture_output=True, text=True
    ).stdout
    for line in output.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    return None


def python_throughput(url: str, seconds: int = 10, connections: int = 4) -> float:
    """Fallback when wrk is missing: threads with keep-alive connections."""
    import threading

    stop = time.monotonic() + seconds
    counts = [0] * connections
    parts = urllib.parse.urlsplit(url)

    def loop(index: int) -> None:
        client = Client(f"{parts.scheme}://{parts.netloc}")
        while time.monotonic() < stop:
            client.request("GET", parts.path)
            counts[index] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds
