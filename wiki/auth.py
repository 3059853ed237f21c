"""Who is asking: sessions (flask-login), Bearer tokens, roles, CSRF and read access.

One ``before_request`` decides, for every request, whether it may go on: a
private wiki answers anonymous requests with a login page (HTML), 401 (API) or
a Basic challenge (git); a form or API write authenticated by a session cookie
must carry a CSRF token; a request that presents a token must present a good one.
"""

from __future__ import annotations

import urllib.parse

from flask import Flask, current_app, g, redirect, request, url_for
from flask_login import current_user

from .accounts import Accounts, User
from .extensions import csrf, login_manager
from .service import Wiki

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Endpoints that anyone may reach, even on a private wiki.
# git's smart HTTP authenticates every request with Basic credentials, never a cookie.
CSRF_EXEMPT_BLUEPRINTS = {"git_http"}
# git's endpoint checks its own Basic credentials (wiki.views.git_http).
PUBLIC_ENDPOINTS = {
    "static", "sessions.login", "sessions.register", "pages.healthz", "pages.language", "git_http.backend",
}


class Unauthorized(Exception):
    """Credentials are missing or wrong for what was asked."""


class Forbidden(Exception):
    """The account is known but its role does not allow this."""


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
        return current_user  # type: ignore[return-value]
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


def _load_user(user_id: str) -> User | None:
    ident, _, version = user_id.partition(":")
    if not ident.isdigit():
        return None
    found = accounts().get(int(ident))
    if found is None or not found.is_active or str(found.session_version) != version:
        return None
    return found


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


def login_redirect():  # type: ignore[no-untyped-def]
    return redirect(url_for("sessions.login", next=request.full_path.rstrip("?")))


def init_app(app: Flask) -> None:
    login_manager.user_loader(_load_user)
    login_manager.session_protection = "basic"
    app.before_request(_guard)

    @app.context_processor
    def _inject() -> dict:
        who = user()
        return {
            "viewer": who,
            "can_edit": bool(who and who.can_edit),
            "site": settings()["site"],
            "site_limits": settings()["limits"],
        }

