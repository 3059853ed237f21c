"""Attached files cost bounded memory and time: zip bombs are refused, slow documents never hold a request.

Issue 12, points 3 and 4: a 512 KB OpenDocument whose ``mimetype`` member
unpacks to 512 MB took 1 GB of memory to check; a 5 KB PDF whose 20 pages draw
one 1 MiB content stream took tens of seconds to read, inside the request that
attached it and under the lock every other request waits for. Archives are now
read through capped streams, and document text is read in a limited child
process, by the maintenance thread in a server.
"""

from __future__ import annotations

import io
import os
import resource
import struct
import threading
import time
import zlib
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import bearer

from repo_store import FileChange, Identity
from search.documents import TOO_LARGE, TOO_SLOW, extract, open_archive, read_member
from wiki.app.attachments import AttachmentRefused, check_content
from wiki.app.config import load_settings
from wiki.app.datadir import DataDir
from wiki.app.service import Wiki

ODT_TYPE = b"application/vnd.oasis.opendocument.text"
PAGE = "licence"  # a starter page: attachments go into its folder


# -- hostile files -------------------------------------------------------------


def deflated_zeros(mebibytes: int) -> bytes:
    """A raw deflate stream of ``mebibytes`` MiB of zeros, about 1 KB per MiB: one segment, repeated.

    After a full flush the compressor forgets what came before, so the same
    segment decodes the same wherever it stands in the stream.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = compressor.compress(b"\0" * (1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return segment * mebibytes + compressor.flush(zlib.Z_FINISH)


def zip_of(members: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip archive written by hand, so that a member's declared size can be anything: (name, packed, method, size, crc)."""
    out, central = bytearray(), bytearray()
    for name, packed, method, size, crc in members:
        offset, encoded = len(out), name.encode()
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(packed), size, len(encoded), 0)
        out += encoded + packed
        central += (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                method,
                0,
                0,
                crc,
                len(packed),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
    start = len(out)
    out += central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), start, 0)
    return bytes(out)


def stored(name: str, data: bytes) -> tuple[str, bytes, int, int, int]:
    return (name, data, 0, len(data), zlib.crc32(data))


def bomb(name: str, mebibytes: int, declared: int | None = None) -> tuple[str, bytes, int, int, int]:
    """A deflated member of ``mebibytes`` MiB of zeros, declaring that size, or ``declared`` (a lie).

    The checksum is right for what a reader that believes the declared size
    reads; an honest bomb's is left wrong (it is refused before any read).
    """
    if declared is None:
        return (name, deflated_zeros(mebibytes), 8, mebibytes << 20, 0)
    return (name, deflated_zeros(mebibytes), 8, declared, zlib.crc32(b"\0" * declared))


MIMETYPE_BOMB = zip_of([bomb("mimetype", 1024)])  # 1 MB packed, 1 GiB unpacked: the upload, doubled
LYING_MIMETYPE = zip_of([bomb("mimetype", 256, declared=len(ODT_TYPE))])
MANY_MEMBERS = zip_of([stored("mimetype", ODT_TYPE)] + [stored(f"p/{n}.xml", b"<a/>") for n in range(3000)])
CONTENT_BOMB = zip_of([stored("mimetype", ODT_TYPE), bomb("content.xml", 1024)])


def odt_with_text(text: str) -> bytes:
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
        f"<text:h>Statuts</text:h><text:p>{text}</text:p></office:text></office:body></office:document-content>"
    ).encode()
    return zip_of([stored("mimetype", ODT_TYPE), stored("content.xml", content)])


def pdf_of(pages: int, content: bytes) -> bytes:
    """A PDF, made with pypdf, whose ``pages`` pages all draw one (compressed) content stream."""
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, EncodedStreamObject, NameObject

    writer = PdfWriter()
    stream = EncodedStreamObject()
    stream._data = zlib.compress(content, 9)
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    shared = writer._add_object(stream)
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    for _ in range(pages):
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Contents")] = shared
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# 20 pages drawing one 1 MiB stream of empty strings: no text, and 1.7 s of parsing per page (44 s in all).
SHARED_STREAM_PDF = pdf_of(20, (b"BT /F1 12 Tf\n" + b"() Tj\n" * ((1 << 20) // 6) + b"ET\n"))


def pdf_with_text(text: str) -> bytes:
    return pdf_of(1, f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1"))


# -- measuring -----------------------------------------------------------------


@contextmanager
def memory_ceiling(extra_mb: int):
    """Let this process map at most ``extra_mb`` more megabytes meanwhile: a regression fails, it does not eat the machine."""
    status = Path("/proc/self/status").read_text()
    mapped_kb = int(status.split("VmSize:")[1].split()[0])
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, ((mapped_kb * 1024) + extra_mb * 1024 * 1024, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reading_documents() -> bool:
    """True while a child process of this one is reading a document."""
    me = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[1] == me:
                if b"search/documents.py" in (stat.parent / "cmdline").read_bytes():
                    return True
        except (OSError, IndexError):
            continue
    return False


def wait_for(condition, seconds: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def put_file(client, token: str, name: str, data: bytes):
    return client.put(f"/api/v1/files/{PAGE}/{name}", data=data, headers=bearer(token))


def found(client, query: str) -> list[str]:
    response = client.get("/api/v1/search", query_string={"q": query})
    assert response.status_code == 200, response.text
    return [hit["path"] for hit in response.json["results"]]


# -- point 3: zip bombs --------------------------------------------------------


@pytest.mark.parametrize("data", [MIMETYPE_BOMB, MANY_MEMBERS], ids=["mimetype-bomb", "many-members"])
def test_a_zip_bomb_upload_is_refused_fast_in_little_memory(client, token, data):
    client.get("/api/v1/pages")  # the application is warm before its memory is measured
    wiki = client.application.extensions["trousse"]
    head = wiki.store.head()
    before, started = peak_rss_mb(), time.perf_counter()
    with memory_ceiling(200):
        response = put_file(client, token, "statuts.odt", data)
    elapsed = time.perf_counter() - started
    assert response.status_code == 400, response.text
    assert response.json["error"] == "invalid"
    assert "décompresse" in response.json["message"] and "Enregistrez-le à nouveau" in response.json["message"]
    assert elapsed < 2 and peak_rss_mb() - before < 100
    assert wiki.store.head() == head  # nothing committed


def test_a_lying_zip_is_read_only_as_far_as_it_says(client, token):
    """A member declaring 39 bytes but packing 256 MiB is read for 39 bytes, then found to be no OpenDocument."""
    with memory_ceiling(200):
        response = put_file(client, token, "statuts.odt", LYING_MIMETYPE)
    assert response.status_code == 400 and "ne correspond pas" in response.json["message"]


def test_check_content_caps_archives_before_reading_them():
    started = time.perf_counter()
    with memory_ceiling(200):
        for data in (MIMETYPE_BOMB, MANY_MEMBERS):
            with pytest.raises(AttachmentRefused) as refused:
                check_content("statuts.odt", data)
            assert refused.value.reason == "archive"
        check_content("statuts.odt", odt_with_text("hippocampe"))  # a real one still passes
    assert time.perf_counter() - started < 2


def test_read_member_stops_at_its_cap_whatever_the_archive_declares():
    with open_archive(zip_of([bomb("content.xml", 64)])) as archive:
        with pytest.raises(ValueError, match="unpacked"):
            read_member(archive, "content.xml", 1000)
    with open_archive(zip_of([bomb("content.xml", 64, declared=10)])) as archive:
        assert read_member(archive, "content.xml", 1000) == b"\0" * 10
    with open_archive(zip_of([bomb("content.xml", 64, declared=500)])) as archive:
        with pytest.raises(ValueError, match="unpacked"):
            read_member(archive, "content.xml", 100)


def test_an_opendocument_whose_content_is_a_bomb_is_kept_and_found_by_its_name(client, token):
    """Its ``mimetype`` is sound, so it is stored; its text is not read (too large), its name is searched."""
    with memory_ceiling(200):
        response = put_file(client, token, "statuts-ornithorynque.odt", CONTENT_BOMB)
    assert response.status_code == 201, response.text
    wiki = client.application.extensions["trousse"]
    assert wiki.search_updater.unreadable_files() == [(f"{PAGE}/statuts-ornithorynque.odt", TOO_LARGE)]
    assert found(client, "ornithorynque") == [f"{PAGE}/statuts-ornithorynque.odt"]


# -- point 4: slow documents, out of the requests' way ---------------------------


@pytest.mark.slow
def test_a_slow_pdf_is_read_within_its_budget():
    started = time.perf_counter()
    result = extract("plan.pdf", SHARED_STREAM_PDF, seconds=3.0)
    assert result.text is None and result.reason in (TOO_SLOW, TOO_LARGE)
    assert time.perf_counter() - started < 6


def test_extracted_text_is_capped():
    result = extract("notes.txt", "é".encode() * 1000, max_text_bytes=101)
    assert result.text == "é" * 50
    result = extract("lettre.pdf", pdf_with_text("pangolin " * 40), max_text_bytes=30)
    assert result.text is not None and len(result.text.encode()) <= 30 and result.text.startswith("pangolin")


@pytest.fixture
def served(app_factory, data_dir):
    """An application with its maintenance thread, as ``trousse serve`` runs it, and an editor's token."""
    app = app_factory({"storage": {"fsync": False}}, TROUSSE_MAINTENANCE=True)
    token = app.extensions["trousse.accounts"]
    token.add_user("camille", role="editor", password="correct horse battery", display_name="Camille Été")
    return app, token.create_token("camille", "tests")


@pytest.mark.slow
def test_a_slow_pdf_is_stored_at_once_and_never_holds_other_requests(served):
    app, token = served
    client = app.test_client()
    wiki = app.extensions["trousse"]
    started = time.perf_counter()
    response = put_file(client, token, "plan-ornithorynque.pdf", SHARED_STREAM_PDF)
    assert response.status_code == 201, response.text
    assert time.perf_counter() - started < 2
    assert found(client, "ornithorynque") == [f"{PAGE}/plan-ornithorynque.pdf"]  # by its name, at once

    assert wait_for(reading_documents, 10), "the maintenance thread did not start reading the PDF"
    answered = 0
    while reading_documents():  # meanwhile, other requests, saves included, are answered promptly
        started = time.perf_counter()
        assert client.get(f"/wiki/{PAGE}").status_code == 200
        saved = client.put(
            f"/api/v1/pages/essais/pendant-{answered}",
            json={"markdown": f"# Pendant\n\nzythum{answered}\n"},
            headers=bearer(token),
        )
        assert saved.status_code == 201, saved.text
        assert found(client, f"zythum{answered}") == [f"essais/pendant-{answered}"]
        assert time.perf_counter() - started < 1.5
        answered += 1
    assert answered > 0

    assert wait_for(lambda: wiki.search_updater.unreadable_files(), 10)
    [(path, reason)] = wiki.search_updater.unreadable_files()
    assert path == f"{PAGE}/plan-ornithorynque.pdf" and reason in (TOO_SLOW, TOO_LARGE)
    assert found(client, "ornithorynque") == [path]


def test_readable_documents_are_searched_by_their_text_after_the_maintenance_pass(served):
    app, token = served
    client = app.test_client()
    assert put_file(client, token, "convention.pdf", pdf_with_text("Convention avec le pangolin")).status_code == 201
    assert put_file(client, token, "statuts.odt", odt_with_text("Article premier : hippocampe")).status_code == 201
    assert wait_for(lambda: found(client, "pangolin") and found(client, "hippocampe"), 20, step=0.3)
    assert found(client, "pangolin") == [f"{PAGE}/convention.pdf"]
    assert found(client, "hippocampe") == [f"{PAGE}/statuts.odt"]
    assert app.extensions["trousse"].search_updater.unreadable_files() == []


# -- without a maintenance thread ------------------------------------------------


def commit(wiki, files: dict[str, bytes]) -> None:
    record = wiki.store.commit(
        [FileChange(path, data) for path, data in files.items()], author=Identity("Zoé", "zoe@example.org"), message="documents"
    )
    wiki.sync([record])


@pytest.fixture
def wiki(data_dir):
    instance = Wiki(DataDir(data_dir), load_settings(data_dir, {"storage": {"fsync": False}}))
    instance.sync()
    yield instance
    instance.close()


def hits(wiki, query: str) -> list[str]:
    return [hit.path for hit in wiki.search.search(query).hits]


@pytest.mark.slow
def test_commands_read_documents_inline_through_the_limited_child(wiki):
    started = time.perf_counter()
    commit(
        wiki, {f"{PAGE}/plan-ornithorynque.pdf": SHARED_STREAM_PDF, f"{PAGE}/courrier.pdf": pdf_with_text("Lettre au pangolin")}
    )
    assert time.perf_counter() - started < wiki.search_updater.extraction_seconds + 5
    assert hits(wiki, "pangolin") == [f"{PAGE}/courrier.pdf"]
    assert hits(wiki, "ornithorynque") == [f"{PAGE}/plan-ornithorynque.pdf"]
    [(path, reason)] = wiki.search_updater.unreadable_files()
    assert path == f"{PAGE}/plan-ornithorynque.pdf" and reason in (TOO_SLOW, TOO_LARGE)


def test_a_document_is_read_once_per_version(wiki, monkeypatch):
    import wiki.app.search_sync as search_sync

    commit(wiki, {f"{PAGE}/courrier.pdf": pdf_with_text("Lettre au pangolin")})
    calls = []
    monkeypatch.setattr(search_sync, "extract", lambda *args, **kwargs: calls.append(args) or extract(*args, **kwargs))
    wiki.rebuild_indexes()
    assert hits(wiki, "pangolin") == [f"{PAGE}/courrier.pdf"] and calls == []


@pytest.mark.slow
def test_a_request_never_reads_a_document_and_maintenance_indexes_the_version_at_main(wiki):
    """Without inline reading (a server), syncs index the name only; the text read later is main's."""
    wiki.search_updater.extract_inline = False
    started = time.perf_counter()
    commit(wiki, {f"{PAGE}/plan.pdf": SHARED_STREAM_PDF, f"{PAGE}/courrier-zebu.pdf": pdf_with_text("Au pangolin")})
    commit(wiki, {f"{PAGE}/courrier-zebu.pdf": pdf_with_text("Au tatou")})
    assert time.perf_counter() - started < 2
    assert hits(wiki, "tatou") == [] and hits(wiki, "zebu") == [f"{PAGE}/courrier-zebu.pdf"]
    assert wiki.search_updater.documents_waiting() == 2  # the first courrier left main: it is not read

    assert wiki.search_updater.read_waiting() == 2
    assert hits(wiki, "tatou") == [f"{PAGE}/courrier-zebu.pdf"] and hits(wiki, "pangolin") == []
    assert wiki.search_updater.documents_waiting() == 0
    assert [path for path, _reason in wiki.search_updater.unreadable_files()] == [f"{PAGE}/plan.pdf"]


def test_only_one_process_reads_documents_at_a_time(wiki):
    wiki.search_updater.extract_inline = False
    commit(wiki, {f"{PAGE}/courrier.pdf": pdf_with_text("Lettre au pangolin")})
    with wiki.extractions.turn() as mine:  # as another server process would, reading
        assert mine
        assert wiki.search_updater.read_waiting() == 0
    assert wiki.search_updater.read_waiting() == 1
    assert hits(wiki, "pangolin") == [f"{PAGE}/courrier.pdf"]


def test_reading_stops_with_the_server(wiki):
    wiki.search_updater.extract_inline = False
    commit(wiki, {f"{PAGE}/a.pdf": pdf_with_text("un"), f"{PAGE}/b.pdf": pdf_with_text("deux")})
    stop = threading.Event()
    stop.set()
    assert wiki.search_updater.read_waiting(stopping=stop.is_set) == 0
