"""Logging in and out, the account page (profile, password, sessions, tokens) and invitations."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..accounts.store import AccountError, User
from . import rate_limits
from .account_links import send_email_confirmation
from .addresses import absolute_url, secure_cookies
from .auth import (
    REMEMBER_COOKIE,
    Unauthorized,
    accounts,
    current_session_id,
    end_session,
    forget_browser,
    safe_next,
    settings,
    start_session,
    user,
)
from .forms import account_form

blueprint = Blueprint("sessions", __name__)


@blueprint.app_template_filter("from_iso")
def from_iso(text: str) -> datetime:
    """An ISO 8601 moment stored as text, for Babel's date filters (a moment without zone is UTC)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# The "known device" cookie (see rate_limits.login_attempt): set at a successful login, read at the next ones.
DEVICE_COOKIE = "trousse_device"
DEVICE_DAYS = 90


def _client_address() -> str:
    return request.remote_addr or "unknown"


def _device_signer() -> URLSafeTimedSerializer:
    secret = current_app.secret_key
    assert secret is not None  # create_app always sets it (from the data directory)
    return URLSafeTimedSerializer(secret, salt="trousse.known-device")


def _known_device(name: str) -> bool:
    """Whether this browser logged into ``name`` (as typed, in any case) within the last 90 days."""
    cookie = request.cookies.get(DEVICE_COOKIE, "")
    if not cookie or len(cookie) > 500:
        return False
    try:
        known = _device_signer().loads(cookie, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return False
    return known == name.casefold()


def _wait_message(seconds: int) -> str:
    if seconds < 120:
        return ngettext(
            "Too many failed attempts; please wait %(num)d second before trying again.",
            "Too many failed attempts; please wait %(num)d seconds before trying again.",
            seconds,
        )
    minutes = -(-seconds // 60)
    return ngettext(
        "Too many failed attempts; please wait %(num)d minute before trying again.",
        "Too many failed attempts; please wait %(num)d minutes before trying again.",
        minutes,
    )


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    target = safe_next(request.values.get("next"), url_for("pages.index"))
    if request.method == "GET":
        return render_template("login.html", next=target, name="", error=None)
    name = request.form.get("name", "").strip()[:64]
    password = request.form.get("password", "")[:1024]
    try:
        attempt = rate_limits.login_attempt(name, _client_address(), known_device=_known_device(name))
    except rate_limits.RateLimited as limited:
        held = make_response(render_template("login.html", next=target, name=name, error=_wait_message(limited.retry_after)), 429)
        held.headers["Retry-After"] = str(limited.retry_after)
        return held
    found = accounts().authenticate(name, password) if name and password else None
    if found is None:
        attempt.failed()
        return render_template(
            "login.html",
            next=target,
            name=name,
            error=_("Wrong user name or password."),
        ), 401
    attempt.succeeded()
    start_session(found, remember=request.form.get("remember") == "1")
    flash(_("Welcome, %(name)s.", name=found.display_name), "success")
    response = redirect(target)
    response.set_cookie(
        DEVICE_COOKIE,
        _device_signer().dumps(name.casefold()),
        max_age=DEVICE_DAYS * 86400,
        path=url_for("sessions.login"),
        httponly=True,
        samesite="Lax",
        secure=secure_cookies(),
    )
    return response


@blueprint.route("/logout", methods=["GET", "POST"])
def logout() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("logout.html")
    end_session()
    flash(_("You are logged out."), "info")
    return redirect(url_for("pages.index"))


@blueprint.route("/account", methods=["GET", "POST"])
def account() -> ResponseReturnValue:
    found = user()
    if found is None:
        raise Unauthorized()
    who: User = found
    new_token, status = None, 200
    if request.method == "POST":
        new_token, status = account_form(lambda action: _change_account(action, who))
        if status == 200 and new_token is None:
            return redirect(url_for("sessions.account") if user() else url_for("pages.index"))
        who = accounts().get(who.id) or who
    return render_template(
        "account.html",
        account=who,
        tokens=accounts().tokens(who.id),
        sessions=accounts().sessions(who.id),
        this_session=current_session_id(),
        new_token=new_token,
        clone_url=absolute_url(url_for("git_http.backend")),
        mail_language=who.language or settings()["site"]["language"],
    ), status


def _change_account(action: str, who: User) -> str | None:
    """Carry out one change of one's own account; a new token is returned, to be shown once."""
    if action == "profile":
        if "language" in request.form:  # first, so that a confirmation mailed below speaks it
            who = accounts().set_language(who.id, request.form["language"])
        email = request.form.get("email", "").strip()
        # A new address is confirmed by a link sent to it, when the wiki sends mail; until then the old one stays.
        confirming = bool(email) and email.casefold() != who.email.casefold() and send_email_confirmation(who, email)
        accounts().update_profile(
            who.id,
            display_name=request.form.get("display_name", ""),
            email=who.email if confirming else email,
            publish_email=request.form.get("publish_email") == "1",
        )
        if confirming:
            flash(_("Your profile is saved. Open the link just sent to %(email)s to use that address.", email=email), "info")
        else:
            flash(_("Your profile is saved."), "success")
    elif action == "password":
        if accounts().authenticate(who.name, request.form.get("current_password", "")) is None:
            raise AccountError("wrong_password", "the current password is wrong")
        remembered = REMEMBER_COOKIE in request.cookies
        # Every session ends with the old password; this browser gets a new one (remembered if it was).
        start_session(accounts().set_password(who.name, request.form.get("new_password", "")), remember=remembered)
        flash(_("Your password is changed. You are logged out everywhere else."), "success")
    elif action == "logout_everywhere":
        accounts().end_sessions(who.id)
        forget_browser()
        flash(
            _("You are logged out on every device. Your API tokens still work; revoke them on your account page if needed."),
            "info",
        )
    elif action == "create_token":
        return accounts().create_token(who.name, request.form.get("label", ""))
    elif action == "revoke_token":
        token_id = request.form.get("token_id", "")
        if token_id.isdigit() and accounts().revoke_token(who.id, int(token_id)):
            flash(_("The token is revoked."), "success")
    return None


@blueprint.route("/register/<code>", methods=["GET", "POST"])
def register(code: str) -> ResponseReturnValue:
    role = accounts().invitation_role(code) if settings()["access"]["registration"] == "invite" else None
    if role is None:
        return render_template("error.html", status=404, message=_("This invitation is not valid any more.")), 404
    if request.method == "GET":
        return render_template("register.html", code=code, name="", display_name="", email="", error=None)
    rate_limits.check("register", _client_address())
    form = request.form
    try:
        created = accounts().register(
            code,
            form.get("name", "").strip(),
            form.get("password", ""),
            display_name=form.get("display_name", ""),
            email=form.get("email", ""),
        )
    except AccountError as error:
        return render_template(
            "register.html",
            code=code,
            name=form.get("name", ""),
            display_name=form.get("display_name", ""),
            email=form.get("email", ""),
            error=error.describe(_),
        ), 400
    with contextlib.suppress(rate_limits.RateLimited):  # the account exists: count it, never refuse it now
        rate_limits.count("register", _client_address())  # accounts created, not attempts: typos cost nothing
    start_session(created)
    flash(_("Welcome, %(name)s. Your account is ready.", name=created.display_name), "success")
    return redirect(url_for("pages.index"))
