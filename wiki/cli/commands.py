"""The ``trousse`` command line (also ``python -m wiki``).

Errors are one sentence on stderr and a non-zero exit status, never a traceback.
Messages and prompts speak the site's language, French by default, English
with ``--lang en`` (see ``language``); option help stays in English.
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

from ..accounts.store import INVITATION_DAYS, ROLES, AccountError, Accounts
from ..app.account_mail import invitation_mail
from ..app.config import LANGUAGES, ConfigError, load_settings, resolve_data_dir
from ..app.datadir import DataDir, InitError, initialise
from ..app.derived import build_derived
from ..app.mail import MailSettings, Outbox
from ..app.translations import site_gettext
from . import language
from .addresses import public_base, served_address
from .language import _, gettext, ngettext, role_label


class Refusal(click.ClickException):
    """One sentence on stderr, introduced in the chosen language ("Erreur : …")."""

    def show(self, file: Any = None) -> None:
        click.echo(_("Error: %(message)s", message=self.format_message()), err=True)


class CleanErrors(click.Group):
    """Turn the errors users can cause into one clear sentence."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort, click.UsageError, Refusal):
            raise  # --help, Ctrl-C and click's own usage errors are click's to show; RuntimeError would catch the first two
        except click.ClickException as error:
            raise Refusal(error.format_message()) from None
        except AccountError as error:
            raise Refusal(error.describe(gettext)) from None
        except (InitError, ConfigError, StoreError, GitError, OSError, RuntimeError) as error:
            raise Refusal(str(error)) from None
        except IndexBusy as error:
            raise Refusal(_("The search index %(index)s is locked by another process; try again later.", index=error)) from None
        except IndexUnavailable as error:
            raise Refusal(_("The search index %(index)s is damaged; run `trousse reindex`.", index=error)) from None


class RoleType(click.ParamType):
    """A role by its key (``editor``) or by its name in the chosen language (``éditeur``)."""

    name = "role"

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "|".join(ROLES)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip().casefold()
        for role in ROLES:
            if text in (role, role_label(role).casefold()):
                return role
        choices = ", ".join(f"{role} ({role_label(role)})" for role in ROLES)
        self.fail(_("%(value)s is not a role; choose among %(choices)s.", value=value, choices=choices), param, ctx)


def _data(ctx: click.Context) -> DataDir:
    return ctx.find_root().obj


def _require_wiki(data: DataDir) -> None:
    if not data.is_initialised():
        raise Refusal(_("%(place)s holds no wiki yet; run `trousse init` first.", place=data.root))


def _require_writable(data: DataDir) -> None:
    """One clear sentence instead of a permission error deep in git or SQLite (a volume owned by someone else)."""
    for place in (data.root, data.repository, data.database):
        if place.exists() and not os.access(place, os.W_OK):
            raise Refusal(
                _(
                    "%(place)s is not writable by this user (uid %(uid)s); give the data directory to it,"
                    " e.g. `chown -R %(uid)s %(root)s`.",
                    place=place,
                    uid=os.getuid(),
                    root=data.root,
                )
            )
    if not data.root.exists() and not os.access(data.root.parent, os.W_OK):
        raise Refusal(
            _(
                "Cannot create %(root)s: %(parent)s is not writable by uid %(uid)s.",
                root=data.root,
                parent=data.root.parent,
                uid=os.getuid(),
            )
        )


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
@click.option(
    "--lang",
    "lang",
    envvar="TROUSSE_LANG",
    type=click.Choice(LANGUAGES),
    default=None,
    help="Language of the messages (default: the site's, site.language, French unless configured; also $TROUSSE_LANG).",
)
@click.pass_context
def main(ctx: click.Context, data_dir: str | None, lang: str | None) -> None:
    """Trousse: a git-backed Markdown wiki for a network's commons."""
    ctx.obj = DataDir(resolve_data_dir(data_dir))
    language.choose(lang or _site_language(ctx.obj))


def _site_language(data: DataDir) -> str:
    """``site.language`` of this wiki; the default when there is none yet or its configuration is broken (said later)."""
    if not data.config.exists():
        return language.DEFAULT
    try:
        return str(load_settings(data.root)["site"]["language"])
    except ConfigError:
        return language.DEFAULT


# -- data directory -------------------------------------------------------


@main.command()
@click.option("--from", "source", metavar="REPO", help="Import this git repository (path or URL) with its history.")
@click.pass_context
def init(ctx: click.Context, source: str | None) -> None:
    """Create the data directory and its repository."""
    data = _data(ctx)
    if data.is_initialised():
        raise Refusal(_("%(place)s already holds a wiki.", place=data.root))
    initialise(data, source)
    build_derived(data)
    click.echo(_("Wiki ready in %(place)s.", place=data.root))


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
        click.echo(_("Created a new wiki in %(place)s.", place=data.root))
    settings = load_settings(data.root)
    server = settings["server"]
    host, port = host or server["host"], port or server["port"]
    click.echo(_("Trousse is served at %(address)s", address=served_address(host, port) + "/"))
    if settings["site"]["base_url"]:
        click.echo(_("Links given away use site.base_url: %(address)s", address=settings["site"]["base_url"] + "/"))
    run_server(
        data,
        host=host,
        port=port,
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
    seconds = f"{time.perf_counter() - started:.1f}"
    click.echo(_("Index rebuilt in %(seconds)s s.", seconds=seconds if language.current() == "en" else seconds.replace(".", ",")))


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
    click.echo(_("Everything is in order."))


# -- accounts -------------------------------------------------------------


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    while True:
        first = click.prompt(_("Password:"), hide_input=True, prompt_suffix=" ")
        again = click.prompt(_("Password again, to check:"), hide_input=True, prompt_suffix=" ")
        if first == again:
            return str(first)
        click.echo(_("The two passwords differ; type them again."), err=True)


@main.group()
def user() -> None:
    """Manage accounts."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=RoleType(), required=True, help="reader, editor or admin (or their French names).")
@click.option("--display-name", default=None, help="Name shown on changes (default: NAME).")
@click.option("--email", default="", help="E-mail address (kept private unless the user publishes it).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str, display_name: str | None, email: str, password_stdin: bool) -> None:
    """Create an account."""
    accounts = _accounts(_data(ctx))
    if accounts.by_name(name) is not None:
        raise Refusal(_("An account named %(name)s already exists.", name=name))
    created = accounts.add_user(name, role=role, password=_read_password(password_stdin), display_name=display_name, email=email)
    click.echo(_("Account %(name)s created (%(role)s).", name=created.name, role=role_label(created.role)))


@user.command("list")
@click.pass_context
def user_list(ctx: click.Context) -> None:
    """List accounts."""
    for account in _accounts(_data(ctx)).list():
        state = _("disabled") if account.disabled else _("active")
        click.echo(f"{account.name}\t{role_label(account.role)}\t{state}\t{account.display_name}")


@user.command("set-role")
@click.argument("name")
@click.argument("role", type=RoleType())
@click.pass_context
def user_set_role(ctx: click.Context, name: str, role: str) -> None:
    """Change an account's role."""
    changed = _accounts(_data(ctx)).set_role(name, role)
    click.echo(_("%(name)s is now %(role)s.", name=changed.name, role=role_label(changed.role)))


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.pass_context
def user_passwd(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set an account's password (its open sessions end)."""
    accounts = _accounts(_data(ctx))
    accounts.require(name)
    accounts.set_password(name, _read_password(password_stdin))
    click.echo(_("Password of %(name)s changed; its sessions are ended.", name=name))


@user.command("disable")
@click.argument("name")
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
@click.pass_context
def user_disable(ctx: click.Context, name: str, enable: bool) -> None:
    """Disable an account: no login, no token, no push (history keeps its changes)."""
    changed = _accounts(_data(ctx)).set_disabled(name, not enable)
    if changed.disabled:
        click.echo(_("The account %(name)s is disabled; its sessions are ended.", name=changed.name))
    else:
        click.echo(_("The account %(name)s is enabled again.", name=changed.name))


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
    click.echo(_("Token for %(name)s (shown once, keep it safe):", name=name))
    click.echo(secret)


@main.command()
@click.option("--role", type=RoleType(), default="editor", show_default=True, help="reader, editor or admin.")
@click.option("--email", default="", metavar="ADDR", help="Mail the link to ADDR (needs [mail] smtp_host).")
@click.pass_context
def invite(ctx: click.Context, role: str, email: str) -> None:
    """Print a one-time registration link (on site.base_url, else on the address `trousse serve` listens on)."""
    data = _data(ctx)
    accounts = _accounts(data)
    base, configured = public_base(load_settings(data.root))
    code = accounts.create_invitation(role)
    if not configured:
        click.echo(
            _(
                "site.base_url is not set: this link uses the address `trousse serve` listens on, %(address)s."
                " For people on other computers, set site.base_url (config.toml or TROUSSE_SITE_BASE_URL)"
                " to the wiki's public address, or send the link made on the Administration page.",
                address=base,
            ),
            err=True,
        )
    click.echo(_("Registration link (%(role)s, valid 14 days, usable once):", role=role_label(role)))
    click.echo(f"{base}/register/{code}")
    if email:
        settings = load_settings(data.root)
        outbox = Outbox(data.database, MailSettings.from_settings(settings))
        try:
            mail = invitation_mail(
                site_gettext(settings["site"]["language"]),
                site=str(settings["site"]["name"]),
                recipient=email,
                link=f"{base}/register/{code}",
                days=INVITATION_DAYS,
            )
            if not outbox.put(mail):
                raise click.ClickException(_("No mail can be sent: set [mail] smtp_host first. Send the link above yourself."))
            outbox.deliver_due()
            queued = outbox.waiting()
        finally:
            outbox.close()
        if queued:
            click.echo(_("The mail to %(email)s is queued: the server will send it.", email=email))
        else:
            click.echo(_("The link was sent to %(email)s.", email=email))


@main.command("export-site")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--base-url",
    default=None,
    metavar="URL",
    help="Public address of the wiki, named in every page's credit (default: site.base_url, else the serve address).",
)
@click.pass_context
def export_site(ctx: click.Context, out: Path, base_url: str | None) -> None:
    """Write a static HTML copy of the wiki into OUT (relative links: it opens from a USB stick)."""
    from ..app.export import export_static_site
    from ..web import close_app, create_app

    data = _data(ctx)
    _require_wiki(data)
    if base_url and not base_url.startswith(("http://", "https://")):
        raise Refusal(_("--base-url must start with http:// or https://."))
    chosen, configured = (base_url.rstrip("/"), True) if base_url else public_base(load_settings(data.root))
    if not configured:
        click.echo(
            _(
                "site.base_url is not set: each page's credit names the address `trousse serve` listens on,"
                " %(address)s. Pass --base-url, or set site.base_url (config.toml or TROUSSE_SITE_BASE_URL),"
                " to name the wiki's public address.",
                address=chosen,
            ),
            err=True,
        )
    app = create_app({"DATA_DIR": str(data.root), "SETTINGS": {"site": {"base_url": chosen}}})
    try:
        count = export_static_site(app.extensions["trousse"], app, out)
    finally:
        close_app(app)
    click.echo(
        ngettext(
            "%(num)d page written to %(out)s (open index.html).",
            "%(num)d pages written to %(out)s (open index.html).",
            count,
            out=out,
        )
    )
