"""Settings: documented defaults, then ``config.toml``, then ``TROUSSE_*`` variables.

Every setting lives in ``SETTINGS`` with its default and a one-line
description; the commented ``config.toml`` written by ``trousse init`` is
generated from that list, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import copy
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA_ENV = "TROUSSE_DATA"
DEFAULT_DATA_DIR = "trousse-data"


@dataclass(frozen=True)
class Setting:
    section: str
    key: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("site", "name", "Réseau des tiers-lieux", "Name shown in the header, in attributions and feeds."),
    Setting(
        "site",
        "base_url",
        "",
        "Public address of the wiki, e.g. https://wiki.example.org. When set, every absolute link (invitations,"
        " clone URL, attributions, feeds, exports) uses it; when empty, links follow the address the wiki is"
        " reached at (X-Forwarded-Host believed only through server.trusted_proxies), and `trousse invite`"
        " and `export-site` use the address `trousse serve` listens on. Commits' no-reply e-mails use its"
        " host, else localhost.",
    ),
    Setting("site", "home", "home", "Path of the home page."),
    Setting(
        "site",
        "sidebar",
        "barre-laterale",
        "Path of the page shown beside every page on a wide screen and in the menu on a phone; empty: no sidebar.",
    ),
    Setting("site", "language", "fr", 'Default language of the interface and of commit messages: "fr" or "en".'),
    Setting("site", "timezone", "Europe/Paris", "Time zone written into commits made from the browser and the API."),
    Setting("site", "default_licence", "CC-BY-SA-4.0", "Licence (SPDX id) of pages whose front matter names none."),
    Setting(
        "access",
        "read",
        "anyone",
        'Who may read: "anyone", or "accounts" for a private wiki (pages, search, API and clone need an account).',
    ),
    Setting(
        "access",
        "registration",
        "invite",
        'Who may create an account: "invite" (one-time links from `trousse invite`) or "closed".',
    ),
    Setting("limits", "max_page_bytes", 1_048_576, "Largest page, in bytes."),
    Setting("limits", "max_file_bytes", 20_971_520, "Largest attachment, in bytes."),
    Setting(
        "limits",
        "max_nesting",
        24,
        "Deepest nesting of lists and quotes a page may have (deeper pages are refused, with the reason).",
    ),
    Setting("limits", "max_table_cells", 20_000, "Most table cells a page may have, all tables together."),
    Setting(
        "limits",
        "max_attachment_text_bytes",
        500_000,
        "Most text read from one attached document (PDF, OpenDocument, plain text) for search; the rest is not indexed.",
    ),
    Setting(
        "limits",
        "extraction_seconds",
        5.0,
        "Time allowed to read the text of one attached document; past it the file is kept, unsearchable by its text.",
    ),
    Setting(
        "limits",
        "export_seconds",
        30.0,
        "Time allowed to lay out one PDF export (a page, or a folder of at most 100 pages); past it the visitor is"
        " told the document is too long for a PDF.",
    ),
    Setting(
        "limits",
        "login_attempts",
        5,
        "Failed logins from one address (on one account, or on any) before each further"
        " try waits 1 s, 2 s, 4 s… up to 15 minutes; 20 times this an hour on one account delays new browsers.",
    ),
    Setting("limits", "max_push_bytes", 209_715_200, "Largest git push, in bytes (compressed, as sent)."),
    Setting("limits", "pushes_per_minute", 12, "git pushes allowed per account and minute."),
    Setting("limits", "api_writes_per_minute", 120, "Changes through the JSON API allowed per account and minute."),
    Setting("limits", "registrations_per_hour", 20, "Accounts that may be created from one address in an hour."),
    Setting("storage", "fsync", True, "Flush each commit to disk before answering (survives power loss)."),
    Setting("server", "host", "127.0.0.1", "Address `trousse serve` listens on."),
    Setting("server", "port", 8080, "Port `trousse serve` listens on."),
    Setting("server", "workers", 2, "Server processes."),
    Setting("server", "threads", 8, "Threads per server process."),
    Setting(
        "server", "access_log", True, "Log every request on standard output, one JSON object per line (errors are always logged)."
    ),
    Setting("server", "log_addresses", False, "Write the client's address into the access log (personal data)."),
    Setting(
        "server",
        "trusted_proxies",
        0,
        "Reverse proxies in front of the server whose X-Forwarded-For/-Proto/-Host headers are believed: "
        "0 when clients connect directly, 1 behind one proxy.",
    ),
    Setting(
        "mail",
        "smtp_host",
        "",
        "SMTP server that sends the wiki's mail (notifications, digests). Empty: no mail is sent, and the wiki says so"
        " where mail would be needed.",
    ),
    Setting("mail", "smtp_port", 25, "Port of the SMTP server."),
    Setting("mail", "from", "", "Sender address of the wiki's mail, e.g. wiki@example.org."),
    Setting("mail", "starttls", False, "Encrypt the connection to the SMTP server with STARTTLS."),
    Setting("mail", "username", "", "User name for the SMTP server, if it asks for one."),
    Setting("mail", "password", "", "Password for the SMTP server (or TROUSSE_MAIL_PASSWORD)."),
    Setting(
        "map",
        "tiles_url",
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "Tile server of the maps, with {z}, {x} and {y} (and {s} for a subdomain); the pages' policy allows images"
        " from its host only. Empty: the points are drawn on a plain background, nothing is fetched.",
    ),
    Setting(
        "map",
        "attribution",
        "© OpenStreetMap contributors (https://www.openstreetmap.org/copyright)",
        "Credit shown on the maps for the tiles, as their licence asks; an address in it becomes a link.",
    ),
)

LANGUAGES = ("fr", "en")


def defaults() -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for setting in SETTINGS:
        result.setdefault(setting.section, {})[setting.key] = copy.deepcopy(setting.default)
    return result


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def commented_defaults() -> str:
    """The text of a fresh ``config.toml``: every setting, commented, at its default."""
    lines = [
        "# Trousse configuration. Each setting is shown commented out, at its default;",
        "# remove the '#' in front of a setting to change it.",
    ]
    section = None
    for setting in SETTINGS:
        if setting.section != section:
            section = setting.section
            lines += ["", f"[{section}]"]
        lines.append(f"# {setting.help}")
        lines.append(f"# {setting.key} = {_toml_value(setting.default)}")
    # [access] read is part of the public interface: write it uncommented so it is easy to find.
    text = "\n".join(lines) + "\n"
    return text.replace('# read = "anyone"', 'read = "anyone"')


class ConfigError(Exception):
    """config.toml or an environment variable holds something unusable."""


def _merge(base: dict[str, dict[str, Any]], extra: Mapping[str, Any], origin: str) -> None:
    known = {(s.section, s.key): s for s in SETTINGS}
    for section, values in extra.items():
        if not isinstance(values, Mapping):
            raise ConfigError(f"{origin}: [{section}] must be a table")
        for key, value in values.items():
            setting = known.get((section, key))
            if setting is None:
                raise ConfigError(f"{origin}: unknown setting {section}.{key}")
            if not isinstance(value, type(setting.default)) and not (
                isinstance(setting.default, float) and isinstance(value, int)
            ):
                raise ConfigError(f"{origin}: {section}.{key} should be {type(setting.default).__name__}")
            base[section][key] = value


def _from_environment(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """``TROUSSE_ACCESS_READ=accounts`` sets ``[access] read``."""
    found: dict[str, dict[str, Any]] = {}
    for setting in SETTINGS:
        name = f"TROUSSE_{setting.section}_{setting.key}".upper()
        if name not in environ:
            continue
        raw = environ[name]
        if isinstance(setting.default, bool):
            value: Any = raw.strip().lower() in ("1", "true", "yes", "on")
        elif isinstance(setting.default, int):
            try:
                value = int(raw)
            except ValueError:
                raise ConfigError(f"{name} should be a whole number") from None
        elif isinstance(setting.default, float):
            try:
                value = float(raw)
            except ValueError:
                raise ConfigError(f"{name} should be a number") from None
        else:
            value = raw
        found.setdefault(setting.section, {})[setting.key] = value
    return found


def load_settings(
    data_dir: Path,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Defaults, then ``config.toml``, then ``TROUSSE_*`` variables, then ``overrides``."""
    settings = defaults()
    config_file = data_dir / "config.toml"
    if config_file.exists():
        try:
            parsed = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"{config_file}: {error}") from None
        _merge(settings, parsed, str(config_file))
    _merge(settings, _from_environment(os.environ if environ is None else environ), "environment")
    if overrides:
        _merge(settings, overrides, "configuration")
    _validate(settings)
    return settings


def _validate(settings: dict[str, dict[str, Any]]) -> None:
    if settings["access"]["read"] not in ("anyone", "accounts"):
        raise ConfigError('[access] read must be "anyone" or "accounts"')
    if settings["access"]["registration"] not in ("invite", "closed"):
        raise ConfigError('[access] registration must be "invite" or "closed"')
    if settings["site"]["language"] not in LANGUAGES:
        raise ConfigError('[site] language must be "fr" or "en"')
    base_url = str(settings["site"]["base_url"]).strip()
    if base_url and not base_url.startswith(("http://", "https://")):
        raise ConfigError("[site] base_url must be empty or start with http:// or https://")
    settings["site"]["base_url"] = base_url.rstrip("/")
    tiles = str(settings["map"]["tiles_url"]).strip()
    if tiles and (tiles_origin(tiles) is None or not all(part in tiles for part in ("{z}", "{x}", "{y}"))):
        raise ConfigError("[map] tiles_url must be empty or an http:// or https:// address with {z}, {x} and {y}")
    settings["map"]["tiles_url"] = tiles
    for key in (
        "max_page_bytes",
        "max_file_bytes",
        "login_attempts",
        "max_push_bytes",
        "pushes_per_minute",
        "api_writes_per_minute",
        "registrations_per_hour",
        "max_nesting",
        "max_table_cells",
        "max_attachment_text_bytes",
        "extraction_seconds",
        "export_seconds",
    ):
        if settings["limits"][key] <= 0:
            raise ConfigError(f"[limits] {key} must be positive")


def tiles_origin(tiles_url: str) -> str | None:
    """The origin a tile address loads from, as a Content-Security-Policy source (``{s}`` as ``*``); None if unusable."""
    scheme, sep, rest = tiles_url.partition("://")
    host = rest.split("/", 1)[0].replace("{s}", "*")
    if scheme not in ("http", "https") or not sep or not re.fullmatch(r"(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?", host):
        return None
    return f"{scheme}://{host}"


def resolve_data_dir(value: str | os.PathLike[str] | None) -> Path:
    """The data directory: the argument, else ``TROUSSE_DATA``, else ``./trousse-data``."""
    chosen = value or os.environ.get(DATA_ENV) or DEFAULT_DATA_DIR
    return Path(chosen).expanduser().absolute()
