"""The vendored browser components are the ones ``assets/package-lock.json`` pins, each with its licence.

``scripts/vendor_assets.py`` copies them from npm into ``wiki/static/vendor/``;
these checks need neither npm nor the network, so a stale or hand-edited copy
fails the ordinary test run.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "wiki" / "static" / "vendor"
LOCK = json.loads((ROOT / "assets" / "package-lock.json").read_text(encoding="utf-8"))
PACKAGE = json.loads((ROOT / "assets" / "package.json").read_text(encoding="utf-8"))


def records() -> list[dict]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(VENDOR.glob("*/VENDORED.json"))]


def test_every_dependency_is_vendored_and_pinned_exactly() -> None:
    vendored = {record["package"] for record in records()}
    assert vendored == set(PACKAGE["dependencies"])
    for name, wanted in PACKAGE["dependencies"].items():
        assert wanted == LOCK["packages"][f"node_modules/{name}"]["version"], f"{name} is not pinned exactly"


@pytest.mark.parametrize("record", records(), ids=lambda record: record["package"])
def test_vendored_files_match_the_lock(record: dict) -> None:
    locked = LOCK["packages"][f"node_modules/{record['package']}"]
    assert record["version"] == locked["version"]
    assert record["integrity"] == locked["integrity"]
    folder = VENDOR / record["package"]
    for name, digest in record["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, f"{name} was changed by hand"
    # The built scripts name their own version in their banner ("easymde v2.21.0", "Leaflet 1.9.4").
    for name in record["files"]:
        if name.endswith(".js"):
            head = (folder / name).read_text(encoding="utf-8")[:300]
            assert record["version"] in head, f"{name} is not version {record['version']}"


@pytest.mark.parametrize("record", records(), ids=lambda record: record["package"])
def test_each_bundled_package_has_its_licence(record: dict) -> None:
    folder = VENDOR / record["package"]
    assert record["package"] in record["bundled"]
    for name, bundled in record["bundled"].items():
        assert bundled["version"] == LOCK["packages"][f"node_modules/{name}"]["version"]
        text = (folder / bundled["file"]).read_text(encoding="utf-8")
        assert "licen" in text.lower() or "permission is hereby granted" in text.lower(), f"{name} has no licence text"
    listed = {bundled["file"] for bundled in record["bundled"].values()} | set(record["files"]) | {"VENDORED.json"}
    found = {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}
    assert found == listed, "a file in the vendor folder is not accounted for"


@pytest.mark.parametrize("record", records(), ids=lambda record: record["package"])
def test_style_sheets_load_nothing_from_elsewhere(record: dict) -> None:
    """Every image a vendored style sheet names is vendored beside it: the map and the editor work offline."""
    folder = VENDOR / record["package"]
    for name in record["files"]:
        if not name.endswith(".css"):
            continue
        css = (folder / name).read_text(encoding="utf-8")
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css):
            if url.startswith(("#", "data:")):
                continue  # an old IE behaviour, an inline image
            assert "//" not in url, f"{name} loads {url} from elsewhere"
            assert (folder / name).parent.joinpath(url).resolve().is_file(), f"{name} names {url}, which is not vendored"


def test_no_cdn_is_loaded_by_the_editor() -> None:
    """The editor script turns off the features of EasyMDE that would fetch from a CDN."""
    script = (ROOT / "wiki" / "static" / "editor.js").read_text(encoding="utf-8")
    assert "autoDownloadFontAwesome: false" in script
    assert "spellChecker: false" in script
