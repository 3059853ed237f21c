"""Every error becomes a clear sentence with the right status: HTML for people, JSON for the API.

This is the one place where domain errors meet HTTP; no traceback ever
reaches a response.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..app.errors import DomainError, StorageFull, is_storage_full
from .auth import Unauthorized, is_api_request, login_redirect

log = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "invalid",
    409: "conflict",
    413: "too_large",
    429: "rate_limited",
}


def error_response(status: int, message: str, code: str | None = None, **extra: Any) -> Response:
    code = code or _STATUS_CODES.get(status, "invalid" if status < 500 else "error")
    if is_api_request():
        response = jsonify({"error": code, "message": message, **extra})
        response.status_code = status
        return response
    return make_response(render_template("error.html", status=status, message=message), status)


def domain_error(error: DomainError) -> ResponseReturnValue:
    """Any refusal of the domain, answered with its own status, code and sentence (and headers, extra JSON fields)."""
    if error.status == 500:
        log.exception("domain error", exc_info=error)
    elif isinstance(error, StorageFull):
        log.error("the disk of the data directory is full: changes are refused until space is freed")
    response = error_response(error.status, error.describe(_), error.code, **error.details())
    response.headers.update(error.headers())
    return response


def _unauthorized(_error: Unauthorized) -> ResponseReturnValue:
    if is_api_request():
        response = error_response(401, _("Authentication is needed: a valid token or a session."))
        response.headers["WWW-Authenticate"] = 'Bearer realm="trousse"'
        return response
    if request.method == "GET":
        return login_redirect()
    return error_response(401, _("Please log in first."))


def _csrf(_error: CSRFError) -> ResponseReturnValue:
    if is_api_request():
        return error_response(400, _("A write made with a session cookie needs the X-CSRFToken header."))
    return error_response(
        400,
        _(
            "The form has expired or did not come from this site. Reload the page and try again; "
            "copy your text first if you were editing."
        ),
    )


def _http(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    messages = {
        400: _("The request is not valid."),
        404: _("There is nothing at this address."),
        405: _("This address does not accept this kind of request."),
        413: _("What you sent is too large."),
        429: _("Too many attempts; please wait a few minutes."),
    }
    return error_response(status, messages.get(status, error.name))


def _unexpected(error: Exception) -> ResponseReturnValue:
    if isinstance(error, HTTPException):
        return _http(error)
    if is_storage_full(error):  # any other write on a full disk (an account's bookkeeping…)
        return domain_error(StorageFull("the disk is full"))
    log.exception("unexpected error", exc_info=error)
    return error_response(500, _("Something went wrong on our side; nothing was lost."))


def init_app(app: Flask) -> None:
    app.register_error_handler(Unauthorized, _unauthorized)
    app.register_error_handler(CSRFError, _csrf)
    app.register_error_handler(DomainError, domain_error)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)
