"""The container definition: checked without a container engine, by running what it declares.

No Docker engine runs where the tests do, so these tests read the Dockerfile
and compose.yaml, check what a safe image needs (an unprivileged user, the
data volume, a health check, the same server), and run the health check's own
command against a real server, so a broken HEALTHCHECK cannot ship.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) of the final stage, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword.upper() == "FROM":
            instructions = []  # only the final stage is the image
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def instruction(name: str) -> str:
    found = [rest for keyword, rest in dockerfile_instructions() if keyword == name]
    assert found, f"the Dockerfile has no {name}"
    return found[-1]


def test_the_image_runs_trousse_serve_as_an_unprivileged_user_with_data_in_a_volume():
    assert instruction("FROM").startswith("python:3.11-slim")
    assert "git" in instruction("RUN")
    assert instruction("USER") not in ("root", "0")
    assert json.loads(instruction("VOLUME")) == ["/data"]
    assert "TROUSSE_DATA=/data" in instruction("ENV") and "TROUSSE_SERVER_HOST=0.0.0.0" in instruction("ENV")
    assert json.loads(instruction("CMD")) == ["trousse", "serve"]
    assert instruction("STOPSIGNAL") == "SIGTERM"
    assert instruction("EXPOSE") == "8080"


def healthcheck_command() -> list[str]:
    arguments = instruction("HEALTHCHECK")
    assert "--interval" in arguments
    return json.loads(arguments[arguments.index("CMD") + 3 :].strip())


@pytest.mark.slow
def test_the_health_check_command_passes_against_a_served_wiki(serve_wiki):
    base, _data = serve_wiki()
    command = healthcheck_command()
    assert command[0] == "python"
    port = base.rsplit(":", 1)[1]
    environment = {**os.environ, "TROUSSE_SERVER_PORT": port}
    assert subprocess.run([sys.executable, "-c", command[-1]], env=environment, timeout=30).returncode == 0


def test_the_health_check_command_fails_when_nothing_answers():
    from tests.conftest import free_port

    environment = {**os.environ, "TROUSSE_SERVER_PORT": str(free_port())}
    result = subprocess.run([sys.executable, "-c", healthcheck_command()[-1]], env=environment, capture_output=True, timeout=30)
    assert result.returncode != 0


def test_the_compose_example_puts_the_wiki_behind_one_trusted_proxy():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    wiki = compose["services"]["trousse"]
    assert "trousse-data:/data" in wiki["volumes"]
    assert wiki["environment"]["TROUSSE_SERVER_TRUSTED_PROXIES"] == "1"
    assert wiki["environment"]["TROUSSE_SITE_BASE_URL"].startswith("https://")
    assert "ports" not in wiki, "only the proxy is exposed"
    proxy = compose["services"]["caddy"]
    assert proxy["depends_on"]["trousse"]["condition"] == "service_healthy"
    caddyfile = ROOT / proxy["volumes"][0].split(":")[0]
    assert "reverse_proxy trousse:8080" in caddyfile.read_text(encoding="utf-8")


def test_the_build_context_leaves_out_local_data_and_environments():
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".git", ".venv", "trousse-data"):
        assert entry in ignored
