"""Hostile input against a live server: what one paste or one upload costs everybody else.

    python bench/hostile.py [--workers 2] [--timeout 60] [--only NAME] [--family-size 300000]

Serves a fresh data directory (the French starter pages) with ``--workers``
server processes on 127.0.0.1 only. For each input below, saves it as a page
(or uploads it as an attachment) through the JSON API, then views it, diffs it
against a variant that changes one line, searches for a word it holds and
exports it to ODT. Meanwhile a reader thread keeps asking for the home page.

Printed per input: the wall-clock time of the save, the view, the diff, the
search and the export (``refused 400/413`` when the wiki refused the input,
``timeout`` past ``--timeout`` seconds), the peak resident memory of the
biggest server process while that input was handled, and the reader's worst
wait: "yes" when the reader was answered within a second throughout.

At the end every acknowledged save must be in ``main`` (its revision an
ancestor of ``main``), and ``trousse check`` must be clean; exits 1 otherwise.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import Client, served_trousse, trousse  # noqa: E402

USER = "bench"


@dataclass
class Hostile:
    name: str
    kind: str  # page, file
    data: bytes
    search: str = "tiers"
    variant: bytes | None = None


@dataclass
class Outcome:
    name: str
    size: int
    times: dict[str, str] = field(default_factory=dict)
    peak_mb: float = 0.0
    reader_worst_ms: float = 0.0
    reader_ok: bool = True
    saved_revisions: list[str] = field(default_factory=list)


# -- the inputs ---------------------------------------------------------------


def _page(text: str) -> bytes:
    return ("---\ntitle: Page hostile\n---\n\nUn tiers-lieu ordinaire.\n\n" + text + "\n").encode()


def _one_long_line(changed: bool) -> bytes:
    """About 3.6 KB on one line; the variant changes every word (a whole sentence retyped)."""
    letter = "b" if changed else "a"
    return _page(" ".join(f"{letter}{i}" for i in range(800)))


def _deep_list(levels: int) -> str:
    return "\n".join("  " * depth + "- niveau" for depth in range(levels))


def _table(target_bytes: int) -> str:
    header = "| a | b | c | d |\n|---|---|---|---|\n"
    row = "| 1 | 2 | 3 | 4 |\n"
    return header + row * ((target_bytes - len(header)) // len(row))


def _zip_bomb_odt(compressed_bytes: int) -> bytes:
    """An OpenDocument file whose ``mimetype`` member inflates about a thousand times."""
    out = io.BytesIO()
    chunk = b"\0" * (1 << 20)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("mimetype", "w", force_zip64=True) as member:
            for _ in range(compressed_bytes // 1024):  # deflate keeps about 1 KB per MB of zeros
                member.write(chunk)
        archive.writestr("content.xml", "<office:document-content/>")
    return out.getvalue()


def _shared_stream_pdf(pages: int = 20, stream_bytes: int = 1 << 20) -> bytes:
    """A small PDF whose pages all draw one big content stream: extraction repeats it per page."""
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, StreamObject

    operators = b"BT /F1 12 Tf 10 10 Td (mot) Tj ET\n"
    plain = StreamObject()
    plain.set_data(operators * (stream_bytes // len(operators)))
    stream = plain.flate_encode()  # compressed: the file stays a few kilobytes
    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    font_ref = writer._add_object(font)
    stream_ref = writer._add_object(stream)
    for _ in range(pages):
        page = writer.add_blank_page(width=200, height=200)
        page[NameObject("/Resources")] = DictionaryObject(
            {
                NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_ref}),
            }
        )
        page[NameObject("/Contents")] = stream_ref
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def inputs(family_size: int) -> list[Hostile]:
    found = [
        Hostile("links-open-paren", "page", _page("[a](" * 50000)),
        Hostile("brackets", "page", _page("[" * 200000 + "]" * 200000)),
        Hostile("wikilink-openers", "page", _page("[[" * 300000)),
        Hostile("one-long-line-diff", "page", _one_long_line(False), "ordinaire", _one_long_line(True)),
        Hostile("deep-list", "page", _page(_deep_list(1000)), "niveau"),
        Hostile("table-1mb", "page", _page(_table(1_000_000)), "ordinaire"),
        Hostile("table-19k-cells", "page", _page(_table(88_000)), "ordinaire"),
        Hostile("wikilinks-900kb", "page", _page("[[a]] " * 150_000), "ordinaire"),
        Hostile("odt-zip-bomb", "file", _zip_bomb_odt(512 * 1024)),
        Hostile("pdf-shared-stream", "file", _shared_stream_pdf()),
    ]
    # A generated family: each construct that opens something, repeated unclosed.
    for opener in ("[", "![", "](", "<", "`", "*", "_", "~~", "|", "> ", "[^", "<a href=", "&#", "\\"):
        repeats = max(1, family_size // len(opener))
        slug = "".join(f"{ord(c):x}" for c in opener)
        found.append(Hostile(f"family-{slug}", "page", _page(opener * repeats), "ordinaire"))
    return found


# -- measuring ----------------------------------------------------------------


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _reset_peaks(pids: list[int]) -> None:
    for pid in pids:
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            pass


def _peak_mb(pids: list[int]) -> float:
    peak = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
    return peak / 1024


class Reader(threading.Thread):
    """Asks for the home page again and again; records the worst wait per measured step."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.client = Client(base)
        self.stop = threading.Event()
        self.worst = 0.0
        self.failed = False

    def reset(self) -> None:
        self.worst, self.failed = 0.0, False

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                status, _headers, _body, _ms = self.client.request("GET", "/wiki/home")
                if status != 200:
                    self.failed = True
            except OSError:
                self.failed = True
            self.worst = max(self.worst, (time.perf_counter() - started) * 1000)
            time.sleep(0.05)


def _timed(client: Client, method: str, path: str, body: bytes | None, headers: dict, timeout: float):
    client.connection.timeout = timeout
    started = time.perf_counter()
    try:
        status, _headers, data, _ms = client.request(method, path, body, headers)
    except OSError:
        client.connection.close()
        return None, b"", time.perf_counter() - started
    return status, data, time.perf_counter() - started


def _describe(status: int | None, seconds: float) -> str:
    if status is None:
        return "timeout"
    if status in (400, 413):
        return f"refused {status} {seconds:.2f}"
    if status >= 500:
        return f"ERROR {status}"
    return f"{seconds:.2f}"


def run_one(base: str, token: str, item: Hostile, server_pid: int, reader: Reader, timeout: float) -> Outcome:
    client = Client(base)
    auth = {"Authorization": f"Bearer {token}"}
    outcome = Outcome(item.name, len(item.data))
    pids = _descendants(server_pid)
    _reset_peaks(pids)
    reader.reset()
    path = f"hostile/{item.name}"
    if item.kind == "file":
        status, data, seconds = _timed(
            client,
            "PUT",
            f"/api/v1/files/hostile/{item.name}.{_suffix(item)}",
            item.data,
            {**auth, "Content-Type": "application/octet-stream"},
            timeout,
        )
        outcome.times["save"] = _describe(status, seconds)
        if status in (200, 201):
            outcome.saved_revisions.append(json.loads(data)["revision"])
    else:
        body = json.dumps({"markdown": item.data.decode(), "message": "hostile"}).encode()
        status, data, seconds = _timed(
            client, "PUT", f"/api/v1/pages/{path}", body, {**auth, "Content-Type": "application/json"}, timeout
        )
        outcome.times["save"] = _describe(status, seconds)
        first = json.loads(data)["revision"] if status in (200, 201) else None
        if first:
            outcome.saved_revisions.append(first)
            status, _data, seconds = _timed(client, "GET", f"/wiki/{path}", None, {}, timeout)
            outcome.times["view"] = _describe(status, seconds)
            variant = item.variant or item.data.replace(b"Un tiers-lieu ordinaire.", b"Un tiers-lieu modifie.")
            body = json.dumps({"markdown": variant.decode(), "message": "variant", "base_revision": first}).encode()
            status, data, seconds = _timed(
                client, "PUT", f"/api/v1/pages/{path}", body, {**auth, "Content-Type": "application/json"}, timeout
            )
            second = json.loads(data)["revision"] if status in (200, 201) else None
            if second:
                outcome.saved_revisions.append(second)
                status, _data, seconds = _timed(client, "GET", f"/diff/{path}?from={first}&to={second}", None, {}, timeout)
                outcome.times["diff"] = _describe(status, seconds)
            status, _data, seconds = _timed(client, "GET", f"/export/{path}.odt", None, {}, timeout)
            outcome.times["export"] = _describe(status, seconds)
    status, _data, seconds = _timed(client, "GET", f"/api/v1/search?q={item.search}", None, {}, timeout)
    outcome.times["search"] = _describe(status, seconds)
    time.sleep(0.3)  # let the reader's last request land
    outcome.peak_mb = _peak_mb(_descendants(server_pid))
    outcome.reader_worst_ms = reader.worst
    outcome.reader_ok = not reader.failed and reader.worst < 1000
    return outcome


def _suffix(item: Hostile) -> str:
    return "odt" if item.name.startswith("odt") else "pdf"


def _server_pid(data: Path, port: int) -> int:
    output = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    for line in output.splitlines():
        if str(data) in line and "serve" in line:
            return int(line.split()[0])
    raise SystemExit("server process not found")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--only", action="append", help="run only inputs whose name contains this")
    parser.add_argument("--family-size", type=int, default=300_000)
    args = parser.parse_args()

    items = [item for item in inputs(args.family_size) if not args.only or any(word in item.name for word in args.only)]
    failures = 0
    with served_trousse(None, workers=args.workers) as (base, data, _import_seconds):
        token = trousse(data, "token", "create", USER).strip().splitlines()[-1]
        port = int(base.rsplit(":", 1)[1])
        server_pid = _server_pid(data, port)
        reader = Reader(base)
        reader.start()
        print(
            f"{'input':24} {'bytes':>9} {'save':>16} {'view':>10} {'diff':>10} {'search':>8} {'export':>10}"
            f" {'peak MB':>8} {'reader':>12}"
        )
        outcomes = []
        for item in items:
            outcome = run_one(base, token, item, server_pid, reader, args.timeout)
            outcomes.append(outcome)
            t = outcome.times
            reader_text = f"{'yes' if outcome.reader_ok else 'NO'} {outcome.reader_worst_ms:5.0f}ms"
            print(
                f"{outcome.name:24} {outcome.size:9d} {t.get('save', '-'):>16} {t.get('view', '-'):>10}"
                f" {t.get('diff', '-'):>10} {t.get('search', '-'):>8} {t.get('export', '-'):>10}"
                f" {outcome.peak_mb:8.0f} {reader_text:>12}",
                flush=True,
            )
            if any(value.startswith(("ERROR", "timeout")) for value in t.values()) or not outcome.reader_ok:
                failures += 1
        reader.stop.set()
        head = subprocess.run(
            ["git", "--git-dir", str(data / "wiki.git"), "rev-parse", "main"], capture_output=True, text=True
        ).stdout.strip()
        lost = 0
        for outcome in outcomes:
            for revision in outcome.saved_revisions:
                ancestor = subprocess.run(
                    ["git", "--git-dir", str(data / "wiki.git"), "merge-base", "--is-ancestor", revision, head]
                )
                lost += ancestor.returncode != 0
        print(f"acknowledged saves lost: {lost}")
        check = subprocess.run([sys.executable, "-m", "wiki", "--data", str(data), "check"], capture_output=True, text=True)
        print("trousse check:", "clean" if check.returncode == 0 else "PROBLEMS\n" + check.stdout + check.stderr)
        failures += lost + (check.returncode != 0)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
