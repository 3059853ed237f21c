"""Who is asking: sessions (flask-login), Bearer tokens, roles, CSRF and read access.

One ``before_request`` decides, for every request, whether it may go on: a
private wiki answers anonymous requests with a login page (HTML), 401 (API) or
a Basic challenge (git); a form or API write authenticated by a session cookie
must carry a CSRF token; a request that presents a token must present a good one.

Sessions live on the server (``Accounts.open_session``): the session cookie
carries only a random key, and the "remember me" cookie its own random token,
both stored hashed. A logout deletes the row, so a copy of either cookie made
before it is worth nothing after it. Flask-Login's own "remember me" cookie
is never used: it holds the signed user id, which no logout can take back.
"""

from __future__ import annotations

import urllib.parse
from datetime import timedelta
from typing import cast

from flask import Flask, Request, Response, current_app, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from ..accounts.store import Accounts, User
from ..app.errors import N_, DomainError
from ..app.service import Wiki
from .addresses import secure_cookies
from .extensions import csrf, login_manager

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Endpoints that anyone may reach, even on a private wiki.
# git's smart HTTP authenticates every request with Basic credentials, never a cookie.
CSRF_EXEMPT_BLUEPRINTS = {"git_http"}
# git's endpoint checks its own Basic credentials (wiki.web.git_http).
PUBLIC_ENDPOINTS = {
    "static",
    "sessions.login",
    "sessions.register",
    "account_links.request_reset",
    "account_links.reset",
    "account_links.confirm_email",
    "watch.unsubscribe",
    "pages.healthz",
    "pages.language",
    "git_http.backend",
}


class Unauthorized(Exception):
    """Credentials are missing or wrong for what was asked."""


class Forbidden(DomainError):
    """The account is known but its role does not allow this."""

    code = "forbidden"
    status = 403
    message_key = N_("Your account is not allowed to do this.")


def wiki() -> Wiki:
    return current_app.extensions["trousse"]


def accounts() -> Accounts:
    return current_app.extensions["trousse.accounts"]


def settings() -> dict:
    return current_app.config["TROUSSE_SETTINGS"]


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def user() -> User | None:
    """The authenticated, active user of this request, or None."""
    if current_user.is_authenticated and current_user.is_active:
        return cast(User, current_user)  # Flask-Login keeps the User the loader gave it behind a proxy
    return None


def require_read() -> None:
    if settings()["access"]["read"] == "accounts" and user() is None:
        raise Unauthorized()


def require_editor() -> User:
    who = user()
    if who is None:
        raise Unauthorized()
    if not who.can_edit:
        raise Forbidden()
    return who


def require_admin() -> User:
    who = user()
    if who is None:
        raise Unauthorized()
    if not who.is_admin:
        raise Forbidden()
    return who


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target on this site only: a path, never a host or a scheme.

    ``//evil.example``, ``/\\evil.example`` and ``https:…`` are all refused,
    as is anything with control characters that a browser might strip.
    """
    if not target or not isinstance(target, str) or len(target) > 2000:
        return default
    if any(ord(char) < 32 or ord(char) == 127 for char in target) or "\\" in target:
        return default
    if not target.startswith("/") or target.startswith("//"):
        return default
    parts = urllib.parse.urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


REMEMBER_COOKIE = "remember_token"
REMEMBER_DEFAULT = timedelta(days=365)


def device_summary(user_agent: str) -> str:
    """A label like "Firefox · Linux": enough for someone to recognise their browsers on the account page, nothing more."""
    agent = user_agent or ""
    browsers = (
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
        ("git/", "git"),
        ("curl/", "curl"),
    )
    systems = (
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    )
    browser = next((label for marker, label in browsers if marker in agent), "")
    system = next((label for marker, label in systems if marker in agent), "")
    return " · ".join(part for part in (browser, system) if part) or agent[:60]


def _remember_seconds() -> float:
    duration = current_app.config.get("REMEMBER_COOKIE_DURATION", REMEMBER_DEFAULT)
    return duration.total_seconds() if isinstance(duration, timedelta) else float(duration)


def current_session_id() -> int | None:
    """The server-side session this request came with (or was given), if any."""
    _ = current_user.is_authenticated  # loads the user, and with it the session
    return g.get("trousse_session_id")


def start_session(who: User, *, remember: bool = False) -> None:
    """Log ``who`` in with a new server-side session: nothing from before the login survives.

    Whatever a visitor's cookie held (a CSRF secret someone may have planted,
    an old ``next``) is dropped, so a session fixed before login is worthless
    after it; a session this browser had before is ended on the server too.
    """
    accounts().end_session(current_session_id(), remember_token=request.cookies.get(REMEMBER_COOKIE))
    session.clear()
    opened = accounts().open_session(
        who.id, user_agent=device_summary(request.user_agent.string), remember_seconds=_remember_seconds() if remember else None
    )
    login_user(who)
    session["_user_id"] = opened.key  # what the cookie carries: the session's key, not the account
    g.trousse_session_id = opened.id
    if opened.remember_token:
        g.trousse_remember_cookie = opened.remember_token
    elif REMEMBER_COOKIE in request.cookies:
        g.trousse_remember_cookie = ""


def end_session() -> None:
    """Log this browser out: its session and its "remember me" token end on the server, its cookies go."""
    accounts().end_session(current_session_id(), remember_token=request.cookies.get(REMEMBER_COOKIE))
    forget_browser()


def forget_browser() -> None:
    """Drop this browser's cookies of a session (already ended on the server)."""
    session.clear()
    logout_user()
    g.pop("trousse_session_id", None)
    g.trousse_remember_cookie = ""


def _load_user(key: str) -> User | None:
    """The account of the session whose key the session cookie carries, while that session lives."""
    found = accounts().session_user(key)
    if found is None:
        session.pop("_user_id", None)  # ended, expired or from before server-side sessions: anonymous now
        return None
    who, g.trousse_session_id = found
    return who


def _load_remembered(_request: Request) -> User | None:
    """A browser with no live session but a "remember me" token gets a new session of its account."""
    token = request.cookies.get(REMEMBER_COOKIE)
    if not token:
        return None
    resumed = accounts().resume_session(token, user_agent=device_summary(request.user_agent.string))
    if resumed is None:
        g.trousse_remember_cookie = ""  # ended or expired: the browser may forget it
        return None
    who, g.trousse_session_id, key = resumed
    session.clear()  # like a login: nothing from the session cookie of before is kept
    session["_user_id"] = key
    session["_fresh"] = False
    return who


def _remember_cookie(response: Response) -> Response:
    """Set or delete the "remember me" cookie as this request decided."""
    order = g.pop("trousse_remember_cookie", None)  # a token to set, "" to delete the cookie, None: leave it
    if order is None:
        return response
    config = current_app.config
    options = {
        "path": config.get("REMEMBER_COOKIE_PATH", "/"),
        "domain": config.get("REMEMBER_COOKIE_DOMAIN"),
        "secure": secure_cookies(),
        "httponly": True,
        "samesite": config.get("REMEMBER_COOKIE_SAMESITE", "Lax"),
    }
    if order:
        response.set_cookie(REMEMBER_COOKIE, order, max_age=int(_remember_seconds()), **options)
    else:
        response.delete_cookie(REMEMBER_COOKIE, **options)
    return response


def _guard() -> None:
    """Authentication, CSRF and read access for every request."""
    if request.endpoint in (None, "static"):
        return
    # Tokens are for the API (and, as Basic passwords, for git): on the HTML
    # pages a token would skip CSRF and the API's rate limit, and make a
    # script's token as strong as a logged-in administrator.
    token = bearer_token() if is_api_request() else None
    if token is not None:
        # A request that shows a token is that token's owner, whatever its cookies say.
        owner = accounts().user_for_token(token)
        if owner is None:
            raise Unauthorized()
        g._login_user = owner  # flask-login's current_user reads this
    elif request.method in UNSAFE_METHODS and request.blueprint not in CSRF_EXEMPT_BLUEPRINTS:
        if is_api_request() and user() is None:
            raise Unauthorized()
        csrf.protect()
    if request.endpoint not in PUBLIC_ENDPOINTS:
        require_read()


def login_redirect() -> ResponseReturnValue:
    return redirect(url_for("sessions.login", next=request.full_path.rstrip("?")))


def init_app(app: Flask) -> None:
    login_manager.user_loader(_load_user)
    login_manager.request_loader(_load_remembered)
    login_manager.session_protection = "basic"
    # Flask-Login would read its own "remember me" cookie (a signed user id) before our request loader if it
    # had the name of ours; give it a name no response ever sets (we never ask it to remember anyone).
    app.config["REMEMBER_COOKIE_NAME"] = "trousse_unused_flask_login_remember"
    app.before_request(_guard)
    app.after_request(_remember_cookie)

    @app.context_processor
    def _inject() -> dict:
        who = user()
        return {
            "viewer": who,
            "can_edit": bool(who and who.can_edit),
            "site": settings()["site"],
            "site_limits": settings()["limits"],
        }
