"""The import rules of CONTRIBUTING.md, as import-linter checks them (contracts in ``.importlinter``)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def lint_imports() -> str | None:
    beside = Path(sys.executable).with_name("lint-imports")
    if beside.exists():
        return str(beside)
    return shutil.which("lint-imports")


@pytest.mark.skipif(
    importlib.util.find_spec("importlinter") is None or lint_imports() is None,
    reason="import-linter is not installed (pip install 'import-linter>=2.0')",
)
def test_the_import_contracts_are_kept() -> None:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [lint_imports(), "--no-cache", str(ROOT / ".importlinter")],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
