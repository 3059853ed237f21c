"""Every error becomes a clear sentence with the right status: HTML for people, JSON for the API.

This is the one place where domain errors meet HTTP; no traceback ever
reaches a response.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from repo_store.errors import (
    Conflict,
    ContentTooLarge,
    InvalidContent,
    InvalidPath,
    InvalidRevision,
    PageExists,
    PageNotFound,
    RepositoryBusy,
    RevisionNotFound,
    StorageFull,
    StoreError,
    is_storage_full,
)
from search import IndexUnavailable

from ..accounts.store import AccountError
from ..app.attachments import AttachmentRefused
from ..app.content_rules import ContentRejected
from ..app.messages import account_message, attachment_message, path_message, problem_message
from .auth import Forbidden, Unauthorized, is_api_request, login_redirect, settings
from .rate_limits import RateLimited

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


def error_response(status: int, message: str, code: str | None = None, **extra):  # type: ignore[no-untyped-def]
    code = code or _STATUS_CODES.get(status, "invalid" if status < 500 else "error")
    if is_api_request():
        response = jsonify({"error": code, "message": message, **extra})
        response.status_code = status
        return response
    return render_template("error.html", status=status, message=message), status


def _store_error(error: StoreError):  # type: ignore[no-untyped-def]
    if isinstance(error, ContentRejected):
        status = 413 if any(p.too_large for p in error.problems) else 400
        messages = [problem_message(problem) for problem in error.problems]
        return error_response(status, " ".join(messages), problems=[p.code for p in error.problems])
    if isinstance(error, InvalidPath):
        return error_response(400, path_message(error))
    if isinstance(error, InvalidRevision):
        return error_response(400, _("A revision is a hexadecimal commit id."))
    if isinstance(error, RevisionNotFound):
        return error_response(404, _("This revision does not exist in the wiki."))
    if isinstance(error, PageNotFound):
        return error_response(404, _("There is no page here."))
    if isinstance(error, PageExists):
        return error_response(409, _("A page already exists at this name."), "conflict")
    if isinstance(error, Conflict):
        return error_response(
            409,
            _("Somebody else changed this page in the meantime, in the same place; nothing was overwritten."),
            "conflict",
            current_revision=error.current_revision,
            current_markdown=error.current_markdown,
            conflict_markdown=error.conflict_markdown,
        )
    if isinstance(error, ContentTooLarge):
        return error_response(
            413, _("This file is larger than the limit of %(limit)s bytes.", limit=settings()["limits"]["max_file_bytes"])
        )
    if isinstance(error, InvalidContent):
        return error_response(400, _("This file is not UTF-8 text."))
    if isinstance(error, RepositoryBusy):
        return error_response(503, _("The wiki is very busy; please try again in a moment."), "busy")
    if isinstance(error, StorageFull):
        return _storage_full()
    log.exception("store error")
    return error_response(500, _("Something went wrong on our side; nothing was lost."))


def storage_full_message() -> str:
    return _(
        "The server's disk is full, so nothing was saved. Keep a copy of your text and try again later; "
        "the wiki's administrators need to free some space."
    )


def _storage_full():  # type: ignore[no-untyped-def]
    log.error("the disk of the data directory is full: changes are refused until space is freed")
    return error_response(507, storage_full_message(), "insufficient_storage")


def search_unavailable_message() -> str:
    return _(
        "Search is being rebuilt after a problem with its index; please try again in a minute. "
        "Pages can still be read and edited."
    )


def _search_unavailable(_error: IndexUnavailable):  # type: ignore[no-untyped-def]
    response = error_response(503, search_unavailable_message(), "search_unavailable")
    if isinstance(response, tuple):
        response = make_response(response)
    response.headers["Retry-After"] = "30"
    return response


def _attachment_refused(error: AttachmentRefused):  # type: ignore[no-untyped-def]
    return error_response(400, attachment_message(error))


def _unauthorized(_error: Unauthorized):  # type: ignore[no-untyped-def]
    if is_api_request():
        response = error_response(401, _("Authentication is needed: a valid token or a session."))
        response.headers["WWW-Authenticate"] = 'Bearer realm="trousse"'
        return response
    if request.method == "GET":
        return login_redirect()
    return error_response(401, _("Please log in first."))


def _forbidden(_error: Forbidden):  # type: ignore[no-untyped-def]
    return error_response(403, _("Your account is not allowed to do this."))


def _csrf(_error: CSRFError):  # type: ignore[no-untyped-def]
    if is_api_request():
        return error_response(400, _("A write made with a session cookie needs the X-CSRFToken header."))
    return error_response(
        400,
        _(
            "The form has expired or did not come from this site. Reload the page and try again; "
            "copy your text first if you were editing."
        ),
    )


def _account_error(error: AccountError):  # type: ignore[no-untyped-def]
    return error_response(400, account_message(error))


def _http(error: HTTPException):  # type: ignore[no-untyped-def]
    status = error.code or 500
    messages = {
        400: _("The request is not valid."),
        404: _("There is nothing at this address."),
        405: _("This address does not accept this kind of request."),
        413: _("What you sent is too large."),
        429: _("Too many attempts; please wait a few minutes."),
    }
    return error_response(status, messages.get(status, error.name))


def _rate_limited(error: RateLimited):  # type: ignore[no-untyped-def]
    response = error_response(
        429,
        ngettext(
            "Too many requests in a short time; please try again in %(num)d second.",
            "Too many requests in a short time; please try again in %(num)d seconds.",
            error.retry_after,
        ),
    )
    if isinstance(response, tuple):
        response = make_response(response)
    response.headers["Retry-After"] = str(error.retry_after)
    return response


def _unexpected(error: Exception):  # type: ignore[no-untyped-def]
    if isinstance(error, HTTPException):
        return _http(error)
    if is_storage_full(error):  # any other write on a full disk (an account's bookkeeping…)
        return _storage_full()
    log.exception("unexpected error", exc_info=error)
    return error_response(500, _("Something went wrong on our side; nothing was lost."))


def init_app(app: Flask) -> None:
    app.register_error_handler(Unauthorized, _unauthorized)
    app.register_error_handler(Forbidden, _forbidden)
    app.register_error_handler(CSRFError, _csrf)
    app.register_error_handler(StoreError, _store_error)
    app.register_error_handler(AccountError, _account_error)
    app.register_error_handler(AttachmentRefused, _attachment_refused)
    app.register_error_handler(IndexUnavailable, _search_unavailable)
    app.register_error_handler(RateLimited, _rate_limited)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)
