"""The path choke point: hostile names never reach git."""

import pytest

from repo_store import InvalidPath, InvalidRevision
from repo_store.paths import (
    check_attachment_name,
    check_new_page_path,
    check_path,
    check_revision,
    is_slug_path,
    slugify,
)

HOSTILE_PATHS = [
    "",
    "..",
    "../etc/passwd",
    "guides/../../x",
    "guides/./x",
    "-x",
    "guides/--output=pwned.txt",
    ".git",
    "guides/.git/config",
    ".GIT",
    "GIT~1",
    ".hidden",
    "a//b",
    "/absolute",
    "trailing/",
    "back\\slash",
    "nul\x00byte",
    "new\nline",
    "tab\there",
    "bell\x07",
    "del\x7f",
    "bidi\u202eevil",
    "zero\u200bwidth",
    "x" * 101,
    "/".join(["abcdefghij"] * 30),
]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_hostile_paths_are_refused(path):
    with pytest.raises(InvalidPath):
        check_path(path)


@pytest.mark.parametrize("path", ["home", "juridique/statuts-association", "a/b/c", "Café des Élus", "2024"])
def test_reasonable_paths_pass(path):
    assert check_path(path) == path


def test_paths_are_stored_nfc():
    decomposed = "cafe\u0301"
    assert check_path(decomposed) == "caf\u00e9"


@pytest.mark.parametrize("path", ["Accueil", "guides/Élus", "a_b", "a--b", "-a", "a-", "a b", "ÉLUS"])
def test_new_pages_must_be_slugs(path):
    with pytest.raises(InvalidPath) as error:
        check_new_page_path(path)
    assert error.value.reason in ("not_slug", "leading_dash")


def test_slug_paths():
    assert check_new_page_path("juridique/statuts-association") == "juridique/statuts-association"
    assert is_slug_path("a/b-2")
    assert not is_slug_path("a/B")


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Élus & mairies", "elus-mairies"),
        ("L’association des tiers-lieux", "l-association-des-tiers-lieux"),
        ("  Loyer du tiers-lieu de Lesparre-Médoc (2019) ", "loyer-du-tiers-lieu-de-lesparre-medoc-2019"),
        ("Ça coûte 100 € !", "ca-coute-100-eur"),
        ("!!!", ""),
    ],
)
def test_slugify_folds_accents(title, slug):
    assert slugify(title) == slug


@pytest.mark.parametrize("revision", ["", "HEAD", "main", "--output=x", "abc", "g" * 40, "a" * 41, "HEAD@{1}", "main~1"])
def test_revisions_are_hex_only(revision):
    with pytest.raises(InvalidRevision):
        check_revision(revision)


def test_revision_accepts_hex():
    assert check_revision("ABCDEF1") == "abcdef1"
    with pytest.raises(InvalidRevision):
        check_revision("abcdef1", full=True)


@pytest.mark.parametrize("name", ["../x.pdf", "x", ".pdf", "a b.pdf", "A.pdf", "x.pdf\r\nSet-Cookie: a", "-x.pdf"])
def test_attachment_names(name):
    with pytest.raises(InvalidPath):
        check_attachment_name(name)
    assert check_attachment_name("modele-statuts.odt") == "modele-statuts.odt"
