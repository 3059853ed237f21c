"""Trousse, a git-backed Markdown wiki for a network's commons: the Flask application."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask, Response

__all__ = ["close_app", "create_app"]


def _resource_dir(name: str) -> Path:
    """Templates live beside the packages in a checkout and inside ``wiki/`` in a wheel."""
    inside = Path(__file__).parent.parent / name
    return inside if inside.is_dir() else Path(__file__).parent.parent.parent / name


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application for one data directory.

    ``config`` may hold ``DATA_DIR``, ``SETTINGS`` (overrides of config.toml,
    by section) and any Flask setting; the CLI, the WSGI server and the tests
    all come through here.
    """
    from flask import Flask, g, request
    from flask.json.provider import DefaultJSONProvider

    from ..accounts.store import Accounts
    from ..app.config import LANGUAGES, load_settings, resolve_data_dir
    from ..app.datadir import DataDir
    from ..app.service import Wiki
    from . import (
        account_links,
        addresses,
        admin,
        api,
        auth,
        collections,
        discussions,
        drafts,
        errors,
        exports,
        files,
        git_http,
        history,
        i18n,
        navigation,
        pages,
        preview,
        search,
        sessions,
        static_assets,
        watch,
    )
    from . import map as places_map
    from .access_log import USER_KEY
    from .extensions import csrf, login_manager
    from .http_cache import build_id

    config = dict(config or {})
    data = DataDir(resolve_data_dir(config.pop("DATA_DIR", None)))
    if not data.is_initialised():
        raise RuntimeError(f"{data.root} holds no wiki yet; run `trousse init` first")
    settings = load_settings(data.root, config.pop("SETTINGS", None))

    app = Flask(
        __name__,
        template_folder=str(_resource_dir("templates")),
        static_folder=str(Path(__file__).parent.parent / "static"),
    )
    # An https:// base_url makes cookies Secure for good; without one, addresses decides per request.
    secure = settings["site"]["base_url"].startswith("https://")
    limits = settings["limits"]
    app.config.update(
        SECRET_KEY=data.secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_NAME="trousse_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure,
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=max(limits["max_page_bytes"] * 4, limits["max_file_bytes"]) + 256 * 1024,
        MAX_FORM_MEMORY_SIZE=limits["max_page_bytes"] * 4 + 64 * 1024,
        BABEL_DEFAULT_LOCALE=settings["site"]["language"],
        BABEL_DEFAULT_TIMEZONE=settings["site"]["timezone"],
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent.parent / "translations"),
        JSON_SORT_KEYS=False,
        TROUSSE_SETTINGS=settings,
        TROUSSE_LANGUAGES=LANGUAGES,
    )
    app.config.update(config)
    app.config["TROUSSE_BUILD"] = build_id(app, settings)
    proxies = settings["server"]["trusted_proxies"]
    if proxies > 0:
        # Believe exactly that many X-Forwarded-* hops, no more: the client's
        # address (login limits, logs) and the scheme come from the proxy.
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Flask's documented way to wrap its WSGI callable, which its types declare a method.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
    if isinstance(app.json, DefaultJSONProvider):
        app.json.ensure_ascii = False
        app.json.sort_keys = False

    wiki = Wiki(data, settings)
    if config.get("TROUSSE_MAINTENANCE"):
        wiki.start_maintenance()
    accounts = Accounts(data.database)
    app.extensions["trousse"] = wiki
    app.extensions["trousse.accounts"] = accounts

    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    addresses.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    static_assets.init_app(app)
    app.register_blueprint(sessions.blueprint)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(search.blueprint)
    app.register_blueprint(files.blueprint)
    app.register_blueprint(history.blueprint)
    app.register_blueprint(git_http.blueprint)
    app.register_blueprint(collections.blueprint)
    app.register_blueprint(navigation.blueprint)
    app.register_blueprint(exports.blueprint)
    app.register_blueprint(admin.blueprint)
    app.register_blueprint(account_links.blueprint)
    app.register_blueprint(preview.blueprint)
    drafts.init_app(app, data.database)
    places_map.init_app(app)
    # The pages' policy; the map's tile server is added to img-src (wiki/web/map.py).
    app.config["TROUSSE_CONTENT_POLICY"] = places_map.content_policy(
        "default-src 'self'; img-src 'self' https:; script-src 'self'; "
        "style-src 'self'; object-src 'none'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'",
        settings["map"]["tiles_url"],
    )
    watch.init_app(app, wiki, accounts)
    discussions.init_app(app)
    navigation.init_app(app, data.database)

    @app.context_processor
    def _endpoints() -> dict:
        return {"has_endpoint": lambda name: name in app.view_functions}

    @app.before_request
    def _start_timer() -> None:
        g.started = time.perf_counter()

    @app.before_request
    def _catch_up() -> None:
        if request.endpoint != "static":
            wiki.sync(bounded=True)

    @app.after_request
    def _headers(response: Response) -> Response:
        started = g.get("started")
        if started is not None:
            response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        who = auth.user()
        if who is not None:
            request.environ[USER_KEY] = who.name
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", app.config["TROUSSE_CONTENT_POLICY"])
        return response

    return app


def close_app(app: Flask) -> None:
    """Stop the git processes and close the databases an application opened."""
    app.extensions["trousse"].close()
    app.extensions["trousse.accounts"].close()
    from . import navigation, watch

    watch.close(app)
    navigation.close(app)
    if "trousse.drafts" in app.extensions:
        app.extensions["trousse.drafts"].close()
