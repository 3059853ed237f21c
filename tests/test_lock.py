"""The lock files follow pyproject.toml: a dependency added or a range moved without `make lock` fails here.

CI installs ``requirements/lock.txt`` before the README's test command, and
the image installs ``requirements/runtime.txt`` then Trousse with ``--no-deps``;
a lock that no longer satisfies ``pyproject.toml`` would let CI install
unlocked versions, or build an image missing a dependency.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENT = {"python_version": "3.11", "sys_platform": "linux", "platform_system": "Linux", "extra": ""}


def pins(name: str) -> dict[str, tuple[str, list[str]]]:
    """Package name to (version, hashes) in a lock file."""
    text = (ROOT / "requirements" / name).read_text(encoding="utf-8").replace("\\\n", " ")
    found = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==(\S+)(.*)$", line)
        if match:
            found[canonicalize_name(match.group(1))] = (
                match.group(2),
                re.findall(r"--hash=(sha256:[0-9a-f]{64})", match.group(3)),
            )
    return found


def declared(*, test: bool) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = project["dependencies"] + (project["optional-dependencies"]["test"] if test else [])
    return [
        requirement
        for requirement in map(Requirement, specs)
        if requirement.marker is None or requirement.marker.evaluate(ENVIRONMENT)
    ]


@pytest.mark.parametrize(("lock", "test"), [("lock.txt", True), ("runtime.txt", False)])
def test_the_lock_pins_every_declared_dependency_within_its_range(lock, test):
    pinned = pins(lock)
    for requirement in declared(test=test):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement.name} is not in requirements/{lock}: run `make lock`"
        version, _hashes = pinned[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements/{lock} pins {name}=={version}, outside {requirement}: run `make lock`"
        )


def test_every_pin_has_hashes_and_the_image_gets_the_versions_ci_tests():
    everything, runtime = pins("lock.txt"), pins("runtime.txt")
    assert all(hashes for _version, hashes in everything.values())
    for name, (version, hashes) in runtime.items():
        assert name in everything, f"{name} is in runtime.txt but not in lock.txt: run `make lock`"
        assert (version, sorted(hashes)) == (everything[name][0], sorted(everything[name][1])), name
