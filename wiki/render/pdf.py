"""HTML to PDF with WeasyPrint, in a child process with a time and memory budget.

Laying out a long folder can take seconds and hundreds of megabytes, and the
HTML comes from pages anyone may write: WeasyPrint runs in a child process
that limits its own memory to ``MEMORY_BYTES`` and its CPU to ``seconds``, is
killed after ``seconds`` of wall time, and fetches nothing — no network, no
file: only ``data:`` URIs, which the caller puts in place of the images it
chose to include. At most ``CONCURRENT`` children run at once per server
process; a request that cannot get a turn within ``seconds`` is turned away
(``ExportBusy``). A document past its budget raises ``ExportTooCostly``: the
request that asked gets a sentence, never a stuck worker.
"""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import threading
from pathlib import Path

MEMORY_BYTES = 1_500_000_000
CONCURRENT = 2
_EXIT_FAILED = 3
_EXIT_TOO_LARGE = 4
_MODULE_FILE = str(Path(__file__).resolve())
_SLOTS = threading.BoundedSemaphore(CONCURRENT)

# The child loads this file alone (not the ``wiki`` package, whose import pulls Flask) and then WeasyPrint.
_CHILD = (
    "import importlib.util, sys; spec = importlib.util.spec_from_file_location('trousse_pdf', sys.argv[1]);"
    " module = sys.modules['trousse_pdf'] = importlib.util.module_from_spec(spec);"
    " spec.loader.exec_module(module); module._child(sys.argv[2:])"
)


class ExportTooCostly(Exception):
    """The PDF could not be made within its budget (time, memory or size)."""


class ExportBusy(Exception):
    """Other PDFs are being made: no turn came within the time budget."""


def html_to_pdf(html: str, *, seconds: float, max_bytes: int, memory_bytes: int = MEMORY_BYTES) -> bytes:
    """The PDF of a self-contained HTML document (``ExportTooCostly`` past the budget, ``ExportBusy`` without a turn)."""
    if not _SLOTS.acquire(timeout=seconds):
        raise ExportBusy(f"no turn within {seconds:g} s")
    try:
        return _run_child(html, seconds=seconds, max_bytes=max_bytes, memory_bytes=memory_bytes)
    finally:
        _SLOTS.release()


def _run_child(html: str, *, seconds: float, max_bytes: int, memory_bytes: int) -> bytes:
    cpu_seconds = max(1, math.ceil(seconds))
    command = [sys.executable, "-I", "-c", _CHILD, _MODULE_FILE, str(memory_bytes), str(cpu_seconds), str(max_bytes)]
    # The context closes the three pipes whatever happens (a timeout can leave stdin half written).
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as child:
        try:
            output, _ = child.communicate(html.encode("utf-8"), timeout=seconds)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            raise ExportTooCostly(f"more than {seconds:g} s") from None
        except BaseException:
            child.kill()
            raise
    if child.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise ExportTooCostly(f"more than {cpu_seconds} s of CPU")
    if child.returncode == _EXIT_TOO_LARGE or len(output) > max_bytes:
        raise ExportTooCostly(f"more than {memory_bytes} bytes of memory or {max_bytes} bytes of PDF")
    if child.returncode != 0:
        raise ExportTooCostly(f"exit {child.returncode}")
    return output


def _child(arguments: list[str]) -> None:
    """Entry point of the child process: limits first, then HTML on stdin, its PDF on stdout."""
    import resource

    memory_bytes, cpu_seconds, max_bytes = int(arguments[0]), int(arguments[1]), int(arguments[2])
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    # Past the soft limit the kernel sends SIGXCPU (which kills); a second later, SIGKILL.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher

        html = sys.stdin.buffer.read().decode("utf-8")
        # data: URIs only: never the network (no request from the server to anywhere), never the disk.
        fetcher = URLFetcher(allowed_protocols=["data"], allow_redirects=False)
        pdf = HTML(string=html, url_fetcher=fetcher).write_pdf()
    except (MemoryError, RecursionError):
        sys.exit(_EXIT_TOO_LARGE)
    except Exception:  # noqa: BLE001 - the parent only needs to know it failed
        sys.exit(_EXIT_FAILED)
    if pdf is None or len(pdf) > max_bytes:
        sys.exit(_EXIT_TOO_LARGE)
    sys.stdout.buffer.write(pdf)
    sys.stdout.buffer.flush()
