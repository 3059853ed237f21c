#!/usr/bin/env python3
"""Copy the browser components Trousse uses from npm into ``wiki/static/vendor/``.

The components are pinned by ``assets/package-lock.json``; this script installs
exactly those (``npm ci``), copies the files the pages load and the licence of
every package bundled in them, and writes ``VENDORED.json`` beside them (versions,
lock integrity, SHA-256 of each file). The copies are committed, so that
installing Trousse needs pip alone and the wiki works offline, with no CDN;
``tests/test_editor_vendoring.py`` checks that they still match the lock.

Run it after changing ``assets/package.json`` (then ``npm install`` there to
update the lock): ``python3 scripts/vendor_assets.py``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
VENDOR = ROOT / "wiki" / "static" / "vendor"

LEAFLET_IMAGES = ("layers.png", "layers-2x.png", "marker-icon.png", "marker-icon-2x.png", "marker-shadow.png")

# For each vendored package: the files to copy (source in the package → name in vendor/<package>/)
# and the licence file of each npm package whose code ends up in those files.
VENDORED: dict[str, dict[str, dict[str, str]]] = {
    "easymde": {
        "files": {"dist/easymde.min.js": "easymde.min.js", "dist/easymde.min.css": "easymde.min.css"},
        # The dist bundle of EasyMDE contains CodeMirror 5, marked, the spell-checker mode and Typo.js;
        # Typo.js ships no licence file: its README holds its licence (Modified BSD).
        "licences": {
            "easymde": "LICENSE",
            "codemirror": "LICENSE",
            "marked": "LICENSE.md",
            "codemirror-spell-checker": "LICENSE",
            "typo-js": "README.md",
        },
    },
    "leaflet": {
        # The map's library; its images are those its style sheet names (the default marker, the layers control).
        "files": {
            "dist/leaflet.js": "leaflet.js",
            "dist/leaflet.css": "leaflet.css",
            **{f"dist/images/{name}": f"images/{name}" for name in LEAFLET_IMAGES},
        },
        "licences": {"leaflet": "LICENSE"},
    },
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def locked(lock: dict, package: str) -> dict:
    """The lock's entry for ``package`` (its version and integrity)."""
    return lock["packages"][f"node_modules/{package}"]


def vendor(package: str, spec: dict[str, dict[str, str]], lock: dict) -> None:
    target = VENDOR / package
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    files = {}
    for source, name in spec["files"].items():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ASSETS / "node_modules" / package / source, target / name)
        files[name] = sha256(target / name)
    licences = {}
    for bundled, licence in spec["licences"].items():
        name = f"LICENSE-{bundled}.txt"
        shutil.copyfile(ASSETS / "node_modules" / bundled / licence, target / name)
        licences[bundled] = {"version": locked(lock, bundled)["version"], "file": name}
    record = {
        "package": package,
        "version": locked(lock, package)["version"],
        "integrity": locked(lock, package)["integrity"],
        "files": files,
        "bundled": licences,
    }
    (target / "VENDORED.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"vendored {package} {record['version']} into {target.relative_to(ROOT)}")


def main() -> int:
    subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=ASSETS, check=True)
    lock = json.loads((ASSETS / "package-lock.json").read_text(encoding="utf-8"))
    for package, spec in VENDORED.items():
        vendor(package, spec, lock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
