"""The ``trousse`` command line through click's runner."""

from __future__ import annotations

import stat
import subprocess
import sys
import tomllib

import pytest
from click.testing import CliRunner
from conftest import PASSWORD, git

from repo_store.gitcmd import git_environment
from wiki.accounts.store import Accounts
from wiki.app.config import SETTINGS, commented_defaults
from wiki.cli.commands import main


@pytest.fixture
def cli(tmp_path):
    runner = CliRunner()
    data = tmp_path / "data"

    def run(*args, input=None):  # in English, which these tests read; tests/test_french_cli.py reads the French
        return runner.invoke(main, ["--data", str(data), "--lang", "en", *args], input=input)

    run.data = data
    return run


def test_init_creates_the_data_directory(cli):
    result = cli("init")
    assert result.exit_code == 0, result.output
    data = cli.data
    assert (data / "wiki.git" / "HEAD").read_text().strip() == "ref: refs/heads/main"
    assert (data / "trousse.sqlite").exists() and (data / "index").is_dir()
    assert stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600
    config = tomllib.loads((data / "config.toml").read_text())
    assert config == {"site": {}, "access": {"read": "anyone"}, "limits": {}, "storage": {}, "server": {}, "mail": {}, "map": {}}
    pages = git(data / "wiki.git", "ls-tree", "-r", "--name-only", "main").split()
    assert "home.md" in pages and "licence.md" in pages and "aide/modifier-une-page.md" in pages
    assert len(pages) >= 8


def test_config_lists_every_setting_with_its_default():
    text = commented_defaults()
    for setting in SETTINGS:
        assert f"{setting.key} = " in text, setting.key
    uncommented = "\n".join(line.lstrip("# ") for line in text.splitlines() if " = " in line)
    parsed = tomllib.loads(
        "\n".join(
            line if line.startswith("[") else line.lstrip("# ")
            for line in text.splitlines()
            if line.startswith("[") or " = " in line
        )
    )
    for setting in SETTINGS:
        assert parsed[setting.section][setting.key] == setting.default
    assert uncommented


def test_init_twice_is_a_clear_error(cli):
    cli("init")
    result = cli("init")
    assert result.exit_code != 0
    assert "already holds a wiki" in result.output
    assert "Traceback" not in result.output


def test_init_from_an_existing_repository(cli, tmp_path):
    source = tmp_path / "source"
    env = git_environment(
        {
            "GIT_AUTHOR_NAME": "Inès Simon",
            "GIT_AUTHOR_EMAIL": "ines@example.org",
            "GIT_COMMITTER_NAME": "Inès Simon",
            "GIT_COMMITTER_EMAIL": "ines@example.org",
        }
    )
    subprocess.run(["git", "init", "-q", "-b", "master", str(source)], check=True, env=env)
    for n in range(3):
        (source / "Notes Été.md").write_text(f"# Notes d'été\n\nversion {n}\n", encoding="utf-8")
        subprocess.run(["git", "-C", str(source), "add", "-A"], check=True, env=env)
        subprocess.run(["git", "-C", str(source), "commit", "-qm", f"v{n}"], check=True, env=env)
    result = cli("init", "--from", str(source))
    assert result.exit_code == 0, result.output
    repo = cli.data / "wiki.git"
    assert git(repo, "rev-list", "--count", "main").strip() == "3"
    assert git(repo, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert "remote" not in git(repo, "config", "--list")
    from wiki.web import close_app, create_app

    app = create_app({"DATA_DIR": str(cli.data)})
    try:
        page = app.test_client().get("/api/v1/pages/Notes Été").json
        assert page["title"] == "Notes d'été" and page["authors"] == ["Inès Simon"]
    finally:
        close_app(app)


def test_init_from_a_bad_source(cli, tmp_path):
    result = cli("init", "--from", str(tmp_path / "nothing-here"))
    assert result.exit_code != 0 and "cannot import" in result.output and "Traceback" not in result.output


def test_users(cli):
    cli("init")
    added = cli(
        "user", "add", "camille", "--role", "admin", "--display-name", "Camille Martin", "--password-stdin", input=PASSWORD + "\n"
    )
    assert added.exit_code == 0, added.output
    cli("user", "add", "leo", "--role", "reader", "--password-stdin", input=PASSWORD + "\n")
    listing = cli("user", "list").output
    assert "camille\tadministrator\tactive\tCamille Martin" in listing and "leo\treader" in listing
    assert cli("user", "set-role", "leo", "editor").exit_code == 0
    assert cli("user", "passwd", "leo", "--password-stdin", input="another secret\n").exit_code == 0
    assert cli("user", "disable", "leo").exit_code == 0
    accounts = Accounts(cli.data / "trousse.sqlite")
    leo = accounts.by_name("leo")
    assert leo.role == "editor" and leo.disabled
    assert accounts.authenticate("camille", PASSWORD).display_name == "Camille Martin"
    accounts.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["user", "add", "bad name!", "--role", "editor", "--password-stdin"], "User names"),
        (["user", "add", "x", "--role", "god", "--password-stdin"], "Invalid value"),
        (["user", "add", "short", "--role", "editor", "--password-stdin"], "at least 8"),
        (["user", "set-role", "nobody", "editor"], "no account"),
        (["token", "create", "nobody"], "no account"),
    ],
)
def test_user_errors_are_one_clear_sentence(cli, args, message):
    cli("init")
    result = cli(*args, input="1234\n")
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_duplicate_user(cli):
    cli("init")
    cli("user", "add", "camille", "--role", "editor", "--password-stdin", input=PASSWORD + "\n")
    result = cli("user", "add", "camille", "--role", "editor", "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code != 0 and "already exists" in result.output


def test_token_is_alone_on_the_last_line_and_works(cli):
    cli("init")
    cli("user", "add", "camille", "--role", "editor", "--password-stdin", input=PASSWORD + "\n")
    result = cli("token", "create", "camille", "--label", "script")
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("trousse_") and " " not in token
    accounts = Accounts(cli.data / "trousse.sqlite")
    assert accounts.user_for_token(token).name == "camille"
    assert token not in (cli.data / "trousse.sqlite").read_bytes().decode("latin-1")
    accounts.close()


def test_invite_prints_a_link_on_the_base_url(cli):
    cli("init")
    result = cli("invite", "--role", "reader")
    link = result.output.strip().splitlines()[-1]
    assert link.startswith("http://127.0.0.1:8080/register/")


def test_commands_need_an_initialised_wiki(cli):
    result = cli("user", "list")
    assert result.exit_code != 0 and "trousse init" in result.output


def test_check_and_reindex(cli):
    cli("init")
    assert cli("check").exit_code == 0
    repo = cli.data / "wiki.git"
    # A commit behind the server's back: the catalog is now behind main.
    tree = git(repo, "rev-parse", "main^{tree}").strip()
    commit = (
        subprocess.run(
            ["git", "--git-dir", str(repo), "commit-tree", tree, "-p", "main", "-m", "behind"],
            check=True,
            capture_output=True,
            env=git_environment(
                {"GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x", "GIT_COMMITTER_NAME": "x", "GIT_COMMITTER_EMAIL": "x@x"}
            ),
        )
        .stdout.decode()
        .strip()
    )
    git(repo, "update-ref", "refs/heads/main", commit)
    result = cli("check")
    assert result.exit_code == 1 and "catalog" in result.output and "search index" in result.output
    assert cli("reindex").exit_code == 0
    assert cli("check").exit_code == 0


def test_bad_config_is_a_clear_error(cli):
    cli("init")
    (cli.data / "config.toml").write_text("[access]\nread = 'everyone'\n")
    result = cli("reindex")
    assert result.exit_code != 0
    assert "read must be" in result.output and "Traceback" not in result.output


def test_python_dash_m_is_the_same_program(tmp_path):
    result = subprocess.run([sys.executable, "-m", "wiki", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "trousse" in result.stdout.lower()
    assert "init" in result.stdout and "serve" in result.stdout


def test_every_setting_is_documented_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for setting in SETTINGS:
        assert f"`{setting.section}.{setting.key}`" in readme, f"{setting.section}.{setting.key} is not in the README"
