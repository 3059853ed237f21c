"""The one choke point for page paths, attachment names and revisions.

Everything a user can type passes through here before it reaches git: git
itself accepts ``..``, ``.git`` and newlines in tree entries, and reads a
leading ``-`` as an option, so the checks cannot be left to it.
"""

from __future__ import annotations

import re
import unicodedata

from slugify import slugify as _slugify

from .errors import InvalidPath, InvalidRevision

PAGE_SUFFIX = ".md"
MAX_SEGMENT_BYTES = 100
MAX_PATH_BYTES = 255

_SLUG_SEGMENT = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")
_ATTACHMENT_NAME = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*\.[a-z0-9]{1,10}\Z")
_REVISION = re.compile(r"[0-9a-f]{4,40}\Z")
_FULL_REVISION = re.compile(r"[0-9a-f]{40}\Z")
# Windows (and git for Windows) treat these as .git too.
_GIT_ALIASES = re.compile(r"(?:\.git|git~\d+)[. ]*\Z", re.IGNORECASE)
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
# Device names Windows reserves in every folder, whatever the extension (``con.md``, ``aux.tar.gz``):
# git for Windows refuses to check out a tree holding one, so a clone of the whole wiki would fail there.
WINDOWS_RESERVED_NAMES = frozenset(
    {"con", "prn", "aux", "nul"} | {f"{device}{digit}" for device in ("com", "lpt") for digit in "123456789"}
)


class PathReason:
    """Machine-readable reasons, so the web layer can explain in the user's language."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    CONTROL = "control"
    BACKSLASH = "backslash"
    EMPTY_SEGMENT = "empty_segment"
    DOT_SEGMENT = "dot_segment"
    LEADING_DOT = "leading_dot"
    LEADING_DASH = "leading_dash"
    GIT_DIR = "git_dir"
    NOT_SLUG = "not_slug"
    BAD_ATTACHMENT = "bad_attachment"
    WINDOWS_RESERVED = "windows_reserved"
    TRAILING_DOT = "trailing_dot"


def _invalid(path: str, reason: str, message: str) -> InvalidPath:
    return InvalidPath(message, reason=reason, path=path)


def check_path(path: str) -> str:
    """Return ``path`` in NFC form, or raise ``InvalidPath``.

    These are the safety rules every path obeys, imported files included:
    nothing here depends on the slug convention, so a repository imported with
    odd but harmless names stays readable and editable.
    """
    if not isinstance(path, str) or not path:
        raise _invalid(str(path), PathReason.EMPTY, "the path is empty")
    if len(path) <= MAX_SEGMENT_BYTES and _SLUG_SEGMENT.match(path):
        return path  # the common case: one canonical slug segment passes every rule below
    path = unicodedata.normalize("NFC", path)
    if len(path.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise _invalid(path, PathReason.TOO_LONG, "the path is too long")
    for char in path:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise _invalid(path, PathReason.CONTROL, "the path contains a control character")
    if "\\" in path:
        raise _invalid(path, PathReason.BACKSLASH, "the path contains a backslash")
    for segment in path.split("/"):
        if not segment:
            raise _invalid(path, PathReason.EMPTY_SEGMENT, "the path has an empty segment")
        if segment in (".", ".."):
            raise _invalid(path, PathReason.DOT_SEGMENT, "the path contains '.' or '..'")
        if _GIT_ALIASES.match(segment):
            raise _invalid(path, PathReason.GIT_DIR, "the path names git's own directory")
        if segment.startswith("."):
            raise _invalid(path, PathReason.LEADING_DOT, "a path segment starts with a dot")
        if segment.startswith("-"):
            raise _invalid(path, PathReason.LEADING_DASH, "a path segment starts with a dash")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise _invalid(path, PathReason.TOO_LONG, "a path segment is too long")
    return path


def check_portable_name(path: str) -> str:
    """Refuse names a Windows clone cannot hold: device names (``con``, ``com1``…) and parts ending in ``.`` or `` ``.

    Only new names are checked (new pages and move targets, attachment names,
    pages added by a push): a page already in the history under such a name
    stays readable and editable, so this is not part of ``check_path``.
    """
    for segment in path.split("/"):
        if segment.endswith((".", " ")):
            raise _invalid(path, PathReason.TRAILING_DOT, "a path segment ends with a dot or a space")
        # Windows ignores what follows the device name: an extension, trailing spaces, an ADS ``:stream``.
        stem = segment.partition(".")[0].partition(":")[0].rstrip(" ").lower()
        if stem in WINDOWS_RESERVED_NAMES:
            raise _invalid(path, PathReason.WINDOWS_RESERVED, "a path segment is a name Windows reserves")
    return path


TEMPLATES_FOLDER = "_templates"
TEMPLATES_PREFIX = TEMPLATES_FOLDER + "/"


def is_slug_path(path: str) -> bool:
    """True for canonical page paths: lowercase ASCII slugs joined by ``/`` (or new-page templates)."""
    segments = path.split("/")
    if segments[0] == TEMPLATES_FOLDER and len(segments) > 1:
        segments = segments[1:]
    return all(_SLUG_SEGMENT.match(segment) for segment in segments)


def check_new_page_path(path: str) -> str:
    """Safety rules, names a Windows clone can hold, and the slug convention that new pages must follow."""
    path = check_portable_name(check_path(path))
    if not is_slug_path(path):
        raise _invalid(
            path,
            PathReason.NOT_SLUG,
            "new page paths are lowercase letters, digits and dashes, joined by '/'",
        )
    return path


def check_attachment_name(name: str) -> str:
    """An attachment's file name: a lowercase slug with an extension, nothing else (and no Windows device name)."""
    if isinstance(name, str) and name and "/" not in name:
        check_portable_name(name)  # first, so that ``aux.tar.gz`` is told why
    if not isinstance(name, str) or not _ATTACHMENT_NAME.match(name):
        raise _invalid(
            str(name),
            PathReason.BAD_ATTACHMENT,
            "attachment names are lowercase letters, digits and dashes with an extension",
        )
    if len(name) > MAX_SEGMENT_BYTES:
        raise _invalid(name, PathReason.TOO_LONG, "the attachment name is too long")
    return name


def page_file(path: str) -> str:
    """The repository file that holds the page at ``path``."""
    return path + PAGE_SUFFIX


def page_path_of(file_path: str) -> str | None:
    """The page path for a repository file, or None when the file is not a page."""
    if file_path.endswith(PAGE_SUFFIX) and len(file_path) > len(PAGE_SUFFIX):
        return file_path[: -len(PAGE_SUFFIX)]
    return None


def slugify(text: str) -> str:
    """A canonical slug for one path segment (``Élus & mairies`` → ``elus-mairies``)."""
    slug = _slugify(text, separator="-", lowercase=True, replacements=[["&", " "], ["'", " "], ["’", " "]])
    slug = slug[: MAX_SEGMENT_BYTES - len(PAGE_SUFFIX)].strip("-")
    return slug


def check_revision(revision: str, *, full: bool = False) -> str:
    """Return a lowercase hex revision, or raise ``InvalidRevision``.

    The allow-list exists because a revision is handed to git as an argument:
    anything but hex (``--output=…``, ``HEAD@{…}``, ``main~3``) is refused.
    """
    if not isinstance(revision, str):
        raise InvalidRevision("the revision is not text")
    revision = revision.strip().lower()
    pattern = _FULL_REVISION if full else _REVISION
    if not pattern.match(revision):
        raise InvalidRevision("a revision is a hexadecimal commit id")
    return revision
