"""The text of attached documents (PDF, OpenDocument, plain text), read within a budget of bytes, memory and time.

Attachments come from strangers: a 5 KB PDF whose pages share one large
content stream takes tens of seconds to read, and a 512 KB OpenDocument can
unpack to a gigabyte. So archives are opened only when they list few members
and read through capped streams (``open_archive``, ``read_member``), and the
text of PDF and OpenDocument files is extracted in a child process with a
memory and CPU ceiling and a wall-clock timeout (``extract``). The worst a
document can then do is to be indexed by its name only, with the reason.
"""

from __future__ import annotations

import io
import math
import signal
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

MAX_DOCUMENT_TEXT = 500_000
MAX_PDF_PAGES = 300
# Content streams parsed per PDF, counted once per page that draws them: pypdf reads
# them at under 1 MB/s in the worst case, so this is a few seconds of work at most
# (a text page holds a few kilobytes: this is hundreds of pages of text).
MAX_PDF_CONTENT_BYTES = 2 * 1024 * 1024
# Real office documents have tens of members, a few hundred with many pictures.
MAX_ZIP_MEMBERS = 2_000
# An archive member claiming more than this ratio of unpacked to packed bytes (past
# MIN_RATIO_CHECK bytes) is a bomb: real XML packs about 10 to 1.
MAX_COMPRESSION_RATIO = 200
MIN_RATIO_CHECK = 1024 * 1024
# A child process may map this much memory: Python and pypdf need about 35 MB.
EXTRACTION_MEMORY_BYTES = 300 * 1024 * 1024
EXTRACTION_SECONDS = 5.0

ODF_SUFFIXES = (".odt", ".ods", ".odp", ".odg")
PLAIN_SUFFIXES = (".txt", ".csv")
# The attachments whose text is indexed: the only ones ``document_text`` reads.
INDEXED_SUFFIXES = (".pdf", *ODF_SUFFIXES, *PLAIN_SUFFIXES)

# Why a document's text is not in the index.
TOO_SLOW = "too_slow"
TOO_LARGE = "too_large"
DAMAGED = "damaged"
REASONS = (TOO_SLOW, TOO_LARGE, DAMAGED)

_EXIT_DAMAGED = 2
_EXIT_TOO_LARGE = 3
_MODULE_FILE = str(Path(__file__).resolve())
# The child loads this file alone, not the ``search`` package: importing Whoosh and numpy
# would double the child's start-up time, paid once per document read.
_CHILD = (
    "import importlib.util, sys; spec = importlib.util.spec_from_file_location('trousse_documents', sys.argv[1]);"
    " module = sys.modules['trousse_documents'] = importlib.util.module_from_spec(spec);"
    " spec.loader.exec_module(module); module._child(sys.argv[2:])"
)


class DocumentTooLarge(ValueError):
    """A document over one of the caps: too many archive members, a member too large, too much PDF content."""


@dataclass(frozen=True)
class Extraction:
    """What reading a document gave: its text, or None and the reason (``too_slow``, ``too_large``, ``damaged``)."""

    text: str | None
    reason: str | None = None


def document_kind(name: str) -> str | None:
    """``pdf``, ``odf`` or ``text`` for a file whose text is indexed, else None."""
    lowered = name.lower()
    if lowered.endswith(".pdf"):
        return "pdf"
    if lowered.endswith(ODF_SUFFIXES):
        return "odf"
    if lowered.endswith(PLAIN_SUFFIXES):
        return "text"
    return None


# -- archives ----------------------------------------------------------------


def open_archive(data: bytes, *, max_members: int = MAX_ZIP_MEMBERS) -> zipfile.ZipFile:
    """``data`` as a zip archive, refused before it is parsed when it may list more than ``max_members`` entries.

    zipfile builds one object per central-directory entry, whatever the end
    record claims, and each entry starts with ``PK\\x01\\x02``: counting those
    four bytes (a linear scan in C) bounds the work before it starts.
    Raises ``DocumentTooLarge``, or ``zipfile.BadZipFile`` for a damaged archive.
    """
    if data.count(b"PK\x01\x02") > max_members:
        raise DocumentTooLarge(f"more than {max_members} archive members")
    return zipfile.ZipFile(io.BytesIO(data))


def read_member(archive: zipfile.ZipFile, name: str, cap: int) -> bytes:
    """The unpacked bytes of member ``name``, at most ``cap`` of them, else ``DocumentTooLarge``.

    The declared size and packing ratio are checked first (cheap refusals),
    then the member is read through a stream that stops at ``cap + 1``
    bytes: the declared size is written by whoever made the archive.
    Raises ``KeyError`` when there is no such member.
    """
    info = archive.getinfo(name)
    if info.file_size > cap:
        raise DocumentTooLarge(f"{name}: {info.file_size} bytes once unpacked")
    if info.file_size > MIN_RATIO_CHECK and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
        raise DocumentTooLarge(f"{name}: packed more than {MAX_COMPRESSION_RATIO} to 1")
    with archive.open(info) as member:
        content = member.read(cap + 1)
    if len(content) > cap:
        raise DocumentTooLarge(f"{name}: more than {cap} bytes once unpacked")
    return content


# -- reading text (in the child process, or directly for plain text) ----------


def document_text(name: str, data: bytes, max_text_bytes: int = MAX_DOCUMENT_TEXT) -> str | None:
    """Text of a PDF, OpenDocument or plain-text file, at most ``max_text_bytes`` of it; None when it has none.

    Runs in the calling process with no time limit: the server calls it
    through ``extract``, never directly. Raises ``DocumentTooLarge`` over a
    cap, and whatever the parsers raise on a damaged file.
    """
    return _text_of(document_kind(name), data, max_text_bytes)


def _text_of(kind: str | None, data: bytes, max_text_bytes: int) -> str | None:
    if kind == "pdf" and data.startswith(b"%PDF"):
        return clip_text(_pdf_text(data, max_text_bytes), max_text_bytes)
    if kind == "odf" and data.startswith(b"PK"):
        return clip_text(_odf_text(data, max_text_bytes), max_text_bytes)
    if kind == "text":
        return plain_text(data, max_text_bytes)
    return None


def plain_text(data: bytes, max_text_bytes: int = MAX_DOCUMENT_TEXT) -> str:
    """The first ``max_text_bytes`` of a text file, decoded (cheap and linear: no child process needed)."""
    text = data[:max_text_bytes].decode("utf-8", "replace")
    if len(data) > max_text_bytes and text.endswith("\ufffd"):
        text = text[:-1]  # a character cut in two by the cap
    return text.removeprefix("\ufeff")


def clip_text(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` bytes of UTF-8, never inside a character."""
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", "ignore")


def _pdf_text(data: bytes, max_text_bytes: int) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    parts: list[str] = []
    size = content = 0
    for page in reader.pages[:MAX_PDF_PAGES]:
        stream = page.get_contents()
        # A stream shared by many pages is parsed again for each: count it each time.
        content += len(stream.get_data()) if stream is not None else 0
        if content > MAX_PDF_CONTENT_BYTES:
            if not any(parts):
                raise DocumentTooLarge(f"more than {MAX_PDF_CONTENT_BYTES} bytes of page content")
            break  # the pages read so far are indexed; the rest is not
        text = page.extract_text() or ""
        parts.append(text)
        size += len(text.encode("utf-8", "surrogatepass"))
        if size > max_text_bytes:
            break
    return "\n".join(parts)


def _odf_text(data: bytes, max_text_bytes: int) -> str:
    with open_archive(data) as archive:
        # Markup is several times the size of its text: 20 times the text cap is plenty.
        content = read_member(archive, "content.xml", 20 * max_text_bytes)
    root = ElementTree.fromstring(content)
    text_ns = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
    blocks = []
    for element in root.iter():
        if element.tag in (f"{{{text_ns}}}p", f"{{{text_ns}}}h"):
            blocks.append("".join(element.itertext()))
    return "\n".join(blocks)


# -- the child process -------------------------------------------------------


def extract(
    name: str,
    data: bytes,
    *,
    max_text_bytes: int = MAX_DOCUMENT_TEXT,
    seconds: float = EXTRACTION_SECONDS,
    memory_bytes: int = EXTRACTION_MEMORY_BYTES,
) -> Extraction:
    """The text of an attached document, read within ``seconds`` of wall-clock time and ``memory_bytes``.

    PDF and OpenDocument files are read by a child process that limits its
    own address space and CPU time (``resource.setrlimit``) and is killed
    when ``seconds`` run out, so that neither a slow nor a greedy document
    can stall or starve the server; plain text is read here (a capped
    decode). The text is cut to ``max_text_bytes`` bytes of UTF-8.
    """
    kind = document_kind(name)
    if kind is None:
        return Extraction(None)
    if kind == "text":
        return Extraction(plain_text(data, max_text_bytes))
    cpu_seconds = max(1, math.ceil(seconds))
    command = [sys.executable, "-c", _CHILD, _MODULE_FILE, kind, str(max_text_bytes), str(memory_bytes), str(cpu_seconds)]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        output, _ = child.communicate(data, timeout=seconds)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        return Extraction(None, TOO_SLOW)
    except BaseException:
        child.kill()
        child.wait()
        raise
    if child.returncode == 0:
        return Extraction(clip_text(output.decode("utf-8", "replace"), max_text_bytes))
    if child.returncode == _EXIT_TOO_LARGE:
        return Extraction(None, TOO_LARGE)
    if child.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return Extraction(None, TOO_SLOW)  # over its CPU time
    return Extraction(None, DAMAGED)


def _child(arguments: list[str]) -> None:
    """Entry point of the child process: limits first, then the document from stdin, its text to stdout."""
    import resource

    kind, max_text_bytes, memory_bytes, cpu_seconds = arguments[0], int(arguments[1]), int(arguments[2]), int(arguments[3])
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    # Past the soft limit the kernel sends SIGXCPU (which kills); a second later, SIGKILL.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    try:
        data = sys.stdin.buffer.read()
        text = _text_of(kind, data, max_text_bytes) or ""
        sys.stdout.buffer.write(clip_text(text, max_text_bytes).encode("utf-8", "replace"))
        sys.stdout.buffer.flush()
    except (DocumentTooLarge, MemoryError, RecursionError):
        sys.exit(_EXIT_TOO_LARGE)
    except Exception:  # noqa: BLE001 - whatever the parsers raise, the document is damaged
        sys.exit(_EXIT_DAMAGED)
