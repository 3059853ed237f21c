"""The ``trousse`` command line (also ``python -m wiki``).

Errors are one sentence on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from repo_store.errors import StoreError
from repo_store.gitcmd import GitError
from search import IndexBusy, IndexUnavailable

from ..accounts.store import ROLES, AccountError, Accounts
from ..app.config import ConfigError, load_settings, resolve_data_dir
from ..app.datadir import DataDir, InitError, initialise
from ..app.derived import build_derived


class CleanErrors(click.Group):
    """Turn the errors users can cause into one clear sentence."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (InitError, ConfigError, StoreError, GitError, OSError, RuntimeError) as error:
            raise click.ClickException(str(error)) from None
        except IndexBusy as error:
            raise click.ClickException(f"the search index {error} is locked by another process; try again later") from None
        except IndexUnavailable as error:
            raise click.ClickException(f"the search index {error} is damaged; run `trousse reindex`") from None
        except AccountError as error:
            raise click.ClickException(str(error)) from None


def _data(ctx: click.Context) -> DataDir:
    return ctx.find_root().obj


def _require_wiki(data: DataDir) -> None:
    if not data.is_initialised():
        raise click.ClickException(f"{data.root} holds no wiki yet; run `trousse init` first")


def _require_writable(data: DataDir) -> None:
    """One clear sentence instead of a permission error deep in git or SQLite (a volume owned by someone else)."""
    for place in (data.root, data.repository, data.database):
        if place.exists() and not os.access(place, os.W_OK):
            raise click.ClickException(
                f"{place} is not writable by this user (uid {os.getuid()}); "
                f"give the data directory to it, e.g. `chown -R {os.getuid()} {data.root}`"
            )
    if not data.root.exists() and not os.access(data.root.parent, os.W_OK):
        raise click.ClickException(f"cannot create {data.root}: {data.root.parent} is not writable by uid {os.getuid()}")


def _accounts(data: DataDir) -> Accounts:
    _require_wiki(data)
    return Accounts(data.database)


@click.group(cls=CleanErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data",
    "data_dir",
    envvar="TROUSSE_DATA",
    type=click.Path(file_okay=False),
    help="Data directory (default: $TROUSSE_DATA, else ./trousse-data).",
)
@click.pass_context
def main(ctx: click.Context, data_dir: str | None) -> None:
    """Trousse: a git-backed Markdown wiki for a network's commons."""
    ctx.obj = DataDir(resolve_data_dir(data_dir))


# -- data directory -------------------------------------------------------


@main.command()
@click.option("--from", "source", metavar="REPO", help="Import this git repository (path or URL) with its history.")
@click.pass_context
def init(ctx: click.Context, source: str | None) -> None:
    """Create the data directory and its repository."""
    data = _data(ctx)
    initialise(data, source)
    build_derived(data)
    click.echo(f"Wiki ready in {data.root}")


@main.command()
@click.option("--host", default=None, help="Address to listen on (default from config.toml: 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default from config.toml: 8080).")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Server processes (default 2).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the wiki with a production server, creating it first if needed."""
    from .server import serve as run_server

    data = _data(ctx)
    _require_writable(data)
    if not data.is_initialised():
        initialise(data)
        click.echo(f"Created a new wiki in {data.root}")
    settings = load_settings(data.root)
    server = settings["server"]
    run_server(
        data,
        host=host or server["host"],
        port=port or server["port"],
        workers=workers or server["workers"],
        threads=server["threads"],
        access_log=server["access_log"],
        log_addresses=server["log_addresses"],
    )


@main.command()
@click.option("--history", is_flag=True, help="Also rebuild the history catalog from the whole history.")
@click.pass_context
def reindex(ctx: click.Context, history: bool) -> None:
    """Rebuild the search index from main."""
    data = _data(ctx)
    _require_wiki(data)
    started = time.perf_counter()
    build_derived(data, rebuild=True, history=history)
    click.echo(f"Index rebuilt in {time.perf_counter() - started:.1f} s.")


@main.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Check the repository, the indexes and the database; exit 1 if anything is wrong."""
    from .checks import run_checks

    data = _data(ctx)
    _require_wiki(data)
    problems = run_checks(data)
    if problems:
        for problem in problems:
            click.echo(problem)
        sys.exit(1)
    click.echo("Everything is in order.")


# -- accounts -------------------------------------------------------------


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@main.group()
def user() -> None:
    """Manage accounts."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--display-name", default=None, help="Name shown on changes (default: NAME).")
@click.option("--email", default="", help="E-mail address (kept private unless the user publishes it).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str, display_name: str | None, email: str, password_stdin: bool) -> None:
    """Create an account."""
    accounts = _accounts(_data(ctx))
    if accounts.by_name(name) is not None:
        raise click.ClickException(f"an account named {name!r} already exists")
    created = accounts.add_user(name, role=role, password=_read_password(password_stdin), display_name=display_name, email=email)
    click.echo(f"Account {created.name} created ({created.role}).")


@user.command("list")
@click.pass_context
def user_list(ctx: click.Context) -> None:
    """List accounts."""
    for account in _accounts(_data(ctx)).list():
        state = "disabled" if account.disabled else "active"
        click.echo(f"{account.name}\t{account.role}\t{state}\t{account.display_name}")


@user.command("set-role")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
@click.pass_context
def user_set_role(ctx: click.Context, name: str, role: str) -> None:
    """Change an account's role."""
    changed = _accounts(_data(ctx)).set_role(name, role)
    click.echo(f"{changed.name} is now {changed.role}.")


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.pass_context
def user_passwd(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set an account's password (its open sessions end)."""
    accounts = _accounts(_data(ctx))
    accounts.require(name)
    accounts.set_password(name, _read_password(password_stdin))
    click.echo(f"Password of {name} changed; its sessions are ended.")


@user.command("disable")
@click.argument("name")
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
@click.pass_context
def user_disable(ctx: click.Context, name: str, enable: bool) -> None:
    """Disable an account: no login, no token, no push (history keeps its changes)."""
    changed = _accounts(_data(ctx)).set_disabled(name, not enable)
    click.echo(f"{changed.name} is disabled; its sessions are ended." if changed.disabled else f"{changed.name} is enabled.")


@main.group()
def token() -> None:
    """Manage API and git tokens."""


@token.command("create")
@click.argument("name")
@click.option("--label", default="", help="What the token is for.")
@click.pass_context
def token_create(ctx: click.Context, name: str, label: str) -> None:
    """Print a new token for NAME (shown once, stored hashed)."""
    secret = _accounts(_data(ctx)).create_token(name, label)
    click.echo(f"Token for {name} (shown once, keep it safe):")
    click.echo(secret)


@main.command()
@click.option("--role", type=click.Choice(ROLES), default="editor", show_default=True)
@click.pass_context
def invite(ctx: click.Context, role: str) -> None:
    """Print a one-time registration link."""
    data = _data(ctx)
    code = _accounts(data).create_invitation(role)
    base_url = load_settings(data.root)["site"]["base_url"]
    click.echo(f"Registration link ({role}, valid 14 days, usable once):")
    click.echo(f"{base_url}/register/{code}")


@main.command("export-site")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def export_site(ctx: click.Context, out: Path) -> None:
    """Write a static HTML copy of the wiki into OUT (relative links: it opens from a USB stick)."""
    from ..app.export import export_static_site
    from ..web import close_app, create_app

    data = _data(ctx)
    _require_wiki(data)
    app = create_app({"DATA_DIR": str(data.root)})
    try:
        count = export_static_site(app.extensions["trousse"], app, out)
    finally:
        close_app(app)
    click.echo(f"{count} pages written to {out} (open index.html)")
