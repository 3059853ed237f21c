"""The wiki's own address, for every link given away: invitations, the clone URL, attributions, feeds, exports.

``site.base_url`` wins when it is set: a wiki behind a proxy that rewrites
names, or one that must always hand out the same public address, says so
there. When it is empty (the default), links follow the address the wiki is
reached at, so ``trousse serve --port 8081`` or a second host name just work.
That address is the request's ``Host`` and scheme; ``X-Forwarded-Host`` and
``-Proto`` are believed only through ``server.trusted_proxies``, because
``ProxyFix`` (installed by ``create_app``) has already rewritten the request
from them, and only then. A client that sends another ``Host`` gets links to
that host in its own answer, nothing more: the anonymous page cache is keyed
by :func:`origin`, so one visitor's address never reaches another.

The same choice makes cookies ``Secure`` and sends HSTS: an ``https://``
``base_url``, or, when none is set, a request that came over HTTPS.

The e-mail written into commits is not decided here: a commit must not
depend on the address its author happened to use (see ``Wiki.identity``).
"""

from __future__ import annotations

from flask import Flask, Response, current_app, has_request_context, request
from flask.sessions import SecureCookieSessionInterface

__all__ = ["absolute_url", "configured_base", "https", "init_app", "origin", "secure_cookies"]


def configured_base() -> str:
    """``site.base_url`` without its trailing slash, or "" when the wiki follows the request."""
    return str(current_app.config["TROUSSE_SETTINGS"]["site"]["base_url"])


def origin() -> str:
    """``scheme://host[:port]`` that absolute links start with (``site.base_url`` with its path, when set)."""
    configured = configured_base()
    if configured:
        return configured
    if not has_request_context():
        raise RuntimeError("site.base_url is not set and there is no request to take the address from")
    return request.host_url.rstrip("/")


def absolute_url(path: str) -> str:
    """The full address of ``path`` (as ``url_for`` gives it: starting with ``/``)."""
    return origin() + path


def https() -> bool:
    """Is the wiki served over HTTPS: the configured address says so, or else this request came that way."""
    configured = configured_base()
    if configured:
        return configured.startswith("https://")
    return has_request_context() and request.is_secure


def secure_cookies() -> bool:
    """Whether cookies get the ``Secure`` flag.

    ``SESSION_COOKIE_SECURE`` holds what the configured address says (and
    lets a test served over plain HTTP turn it off); without a configured
    address, a request over HTTPS sets it.
    """
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        return True
    return not configured_base() and has_request_context() and request.is_secure


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, ``Secure`` decided per request rather than once at start."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return secure_cookies()


def _strict_transport(response: Response) -> Response:
    if https():
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def init_app(app: Flask) -> None:
    app.session_interface = _SessionInterface()
    app.after_request(_strict_transport)
    app.jinja_env.globals["absolute_url"] = absolute_url
