"""Documents attached to pages: what is accepted, judged by content, not by name alone.

A file is accepted only when its bytes are what its extension says (a ``.pdf``
that is really HTML is refused), from a short allow-list of open and office
formats, images and text. Names become lowercase slugs with their extension,
the form the repository layout requires.

Office files are zip archives made by strangers: they are opened only when
they list few members, and the one member read (``mimetype``) through a
capped stream, so that a small upload cannot unpack to gigabytes.
"""

from __future__ import annotations

import posixpath
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from repo_store.errors import N_, DomainError
from repo_store.paths import check_attachment_name, slugify
from search.documents import DocumentTooLarge, open_archive, read_member

# extension → (description key, MIME type)
TYPES: dict[str, tuple[str, str]] = {
    "pdf": ("pdf", "application/pdf"),
    "odt": ("odf", "application/vnd.oasis.opendocument.text"),
    "ods": ("odf", "application/vnd.oasis.opendocument.spreadsheet"),
    "odp": ("odf", "application/vnd.oasis.opendocument.presentation"),
    "odg": ("odf", "application/vnd.oasis.opendocument.graphics"),
    "docx": ("ooxml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": ("ooxml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pptx": ("ooxml", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    "doc": ("ole", "application/msword"),
    "xls": ("ole", "application/vnd.ms-excel"),
    "ppt": ("ole", "application/vnd.ms-powerpoint"),
    "png": ("png", "image/png"),
    "jpg": ("jpeg", "image/jpeg"),
    "jpeg": ("jpeg", "image/jpeg"),
    "gif": ("gif", "image/gif"),
    "webp": ("webp", "image/webp"),
    "svg": ("svg", "image/svg+xml"),
    "csv": ("text", "text/csv"),
    "txt": ("text", "text/plain"),
}
IMAGES = {"png", "jpg", "jpeg", "gif", "webp", "svg"}
_OOXML_PARTS = {"docx": "word/", "xlsx": "xl/", "pptx": "ppt/"}
# The longest OpenDocument type above is 46 bytes: a longer ``mimetype`` member is not one of them.
_MAX_MIMETYPE_BYTES = 128


class AttachmentRefused(DomainError):
    """A file the wiki will not store; ``reason`` says why (type, mismatch, empty, archive)."""

    code = "invalid"
    status = 400
    message_key = N_("This file cannot be attached.")
    MESSAGES: ClassVar[dict[str, str]] = {
        "type": N_(
            "This kind of file cannot be attached. Accepted: PDF, OpenDocument (odt, ods, odp, odg), "
            "Word, Excel and PowerPoint files, images (png, jpg, gif, webp, svg), CSV and text."
        ),
        "mismatch": N_("This file's content does not match its “.%(extension)s” extension."),
        "empty": N_("The file is empty or missing."),
        "archive": N_(
            "This file cannot be opened safely: it holds too many parts, or unpacks to far more than its "
            "size. Save it again from your office software, then attach the new file."
        ),
    }

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail

    def key(self) -> str:
        return self.MESSAGES.get(self.reason, self.message_key)

    def message_values(self) -> Mapping[str, object]:
        return {"extension": self.detail}


@dataclass(frozen=True)
class Attachment:
    path: str
    name: str
    size: int
    mimetype: str

    @property
    def extension(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    @property
    def is_image(self) -> bool:
        return self.extension in IMAGES


def attachment_name(filename: str) -> str:
    """A repository name for an uploaded file: ``Modèle de Statuts.ODT`` → ``modele-de-statuts.odt``."""
    base = posixpath.basename((filename or "").replace("\\", "/")).strip()
    stem, dot, extension = base.rpartition(".")
    if not dot:
        raise AttachmentRefused("type", base)
    extension = extension.lower()
    name = f"{slugify(stem) or 'document'}.{extension}"
    check_attachment_name(name)
    return name


def mimetype_of(name: str) -> str:
    return TYPES.get(name.rsplit(".", 1)[-1].lower(), ("", "application/octet-stream"))[1]


def check_content(name: str, data: bytes) -> None:
    """Raise ``AttachmentRefused`` unless ``data`` really is a file of ``name``'s type."""
    extension = name.rsplit(".", 1)[-1].lower()
    if extension not in TYPES:
        raise AttachmentRefused("type", extension)
    if not data:
        raise AttachmentRefused("empty", name)
    kind = TYPES[extension][0]
    if not _looks_like(kind, extension, data):
        raise AttachmentRefused("mismatch", extension)


def _looks_like(kind: str, extension: str, data: bytes) -> bool:
    head = data[:16]
    if kind == "pdf":
        return data[:1024].lstrip().startswith(b"%PDF-")
    if kind == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if kind == "jpeg":
        return head.startswith(b"\xff\xd8\xff")
    if kind == "gif":
        return head.startswith((b"GIF87a", b"GIF89a"))
    if kind == "webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if kind == "ole":
        return head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    if kind in ("odf", "ooxml"):
        return _zip_is(kind, extension, data)
    if kind == "svg":
        text = _text(data)
        return text is not None and "<svg" in text[:4096].lower()
    if kind == "text":
        text = _text(data)
        return text is not None and not text.lstrip().lower().startswith(("<!doctype html", "<html", "<script"))
    return False


def _zip_is(kind: str, extension: str, data: bytes) -> bool:
    """True when ``data`` is an archive of the office type ``extension`` names; ``AttachmentRefused`` for a bomb."""
    if not data.startswith(b"PK"):
        return False
    try:
        with open_archive(data) as archive:
            names = archive.namelist()
            if kind == "odf":
                if "mimetype" not in names:
                    return False
                declared = read_member(archive, "mimetype", _MAX_MIMETYPE_BYTES).decode("ascii", "replace").strip()
                return declared == TYPES[extension][1]
            return "[Content_Types].xml" in names and any(n.startswith(_OOXML_PARTS[extension]) for n in names)
    except DocumentTooLarge as error:
        raise AttachmentRefused("archive", str(error)) from None
    except (zipfile.BadZipFile, zlib.error, KeyError, OSError, RuntimeError, EOFError, ValueError, NotImplementedError):
        return False


def _text(data: bytes) -> str | None:
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
