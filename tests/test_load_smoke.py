"""A short run of the load test (bench/bench_load.py): readers, web, API and git writers at once on a real server."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import PROJECT_ROOT

from repo_store.gitcmd import git_environment


@pytest.mark.slow
def test_short_mixed_load_has_no_server_error_and_loses_no_commit(tmp_path):
    command = [
        sys.executable,
        str(PROJECT_ROOT / "bench" / "bench_load.py"),
        "--duration",
        "8",
        "--readers",
        "4",
        "--writers",
        "4",
    ]
    env = git_environment({"PYTHONPATH": str(PROJECT_ROOT), "TMPDIR": str(tmp_path)})
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "5xx: 0;" in output and "connection errors: 0;" in output and "other errors: 0;" in output, output
    assert "lost commits: 0 " in output and "lost updates: 0;" in output, output
    assert "trousse check: clean" in output, output
    acknowledged = int(output.split("acknowledged saves: ")[1].split()[0])
    assert acknowledged > 0, output
