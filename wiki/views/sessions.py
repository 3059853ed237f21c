"""Logging in and out, the account page (profile, password, tokens) and invitations."""

from __future__ import annotations

import contextlib

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from .. import rate_limits
from ..accounts import AccountError, User
from ..auth import Unauthorized, accounts, safe_next, settings, user
from ..messages import account_message
from . import account_form

blueprint = Blueprint("sessions", __name__)


def _client_address() -> str:
    return request.remote_addr or "unknown"


def start_session(who, remember: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Log ``who`` in with a new session: nothing from before the login survives.

    Whatever a visitor's cookie held (a CSRF secret someone may have planted,
    an old ``next``) is dropped, so a session fixed before login is worthless after it.
    """
    session.clear()
    login_user(who, remember=remember)


@blueprint.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    target = safe_next(request.values.get("next"), url_for("pages.index"))
    if request.method == "GET":
        return render_template("login.html", next=target, name="", error=None)
    name = request.form.get("name", "").strip()[:64]
    password = request.form.get("password", "")[:1024]
    # Every attempt is counted before the (slow) password check, in one
    # transaction per key, so parallel guesses cannot slip under the limit;
    # a successful login then takes its attempt back.
    account_key, address_key = f"user:{name.casefold()}", f"ip:{_client_address()}"
    try:
        rate_limits.count("login", account_key)
        rate_limits.count("login", address_key)
    except rate_limits.RateLimited:
        return render_template(
            "login.html", next=target, name=name,
            error=_("Too many failed attempts; please wait 15 minutes before trying again."),
        ), 429
    found = accounts().authenticate(name, password) if name and password else None
    if found is None:
        return render_template(
            "login.html", next=target, name=name, error=_("Wrong user name or password."),
        ), 401
    rate_limits.forgive("login", account_key, all_events=True)
    rate_limits.forgive("login", address_key)
    start_session(found, remember=request.form.get("remember") == "1")
    flash(_("Welcome, %(name)s.", name=found.display_name), "success")
    return redirect(target)


@blueprint.route("/logout", methods=["GET", "POST"])
def logout():  # type: ignore[no-untyped-def]
    if request.method == "GET":
        return render_template("logout.html")
    session.clear()
    logout_user()  # after clearing: it leaves the order to delete the "remember me" cookie in the session
    flash(_("You are logged out."), "info")
    return redirect(url_for("pages.index"))


@blueprint.route("/account", methods=["GET", "POST"])
def account():  # type: ignore[no-untyped-def]
    who = user()
    if who is None:
        raise Unauthorized()
    new_token, status = None, 200
    if request.method == "POST":
        new_token, status = account_form(lambda action: _change_account(action, who))
        if status == 200 and new_token is None:
            return redirect(url_for("sessions.account"))
        who = accounts().get(who.id) or who
    base_url = settings()["site"]["base_url"]
    return render_template(
        "account.html",
        account=who,
        tokens=accounts().tokens(who.id),
        new_token=new_token,
        clone_url=f"{base_url}/wiki.git",
    ), status


def _change_account(action: str, who: User) -> str | None:
    """Carry out one change of one's own account; a new token is returned, to be shown once."""
    if action == "profile":
        accounts().update_profile(
            who.id,
            display_name=request.form.get("display_name", ""),
            email=request.form.get("email", ""),
            publish_email=request.form.get("publish_email") == "1",
        )
        flash(_("Your profile is saved."), "success")
    elif action == "password":
        if accounts().authenticate(who.name, request.form.get("current_password", "")) is None:
            raise AccountError("wrong_password", "the current password is wrong")
        start_session(accounts().set_password(who.name, request.form.get("new_password", "")))
        flash(_("Your password is changed."), "success")
    elif action == "create_token":
        return accounts().create_token(who.name, request.form.get("label", ""))
    elif action == "revoke_token":
        token_id = request.form.get("token_id", "")
        if token_id.isdigit() and accounts().revoke_token(who.id, int(token_id)):
            flash(_("The token is revoked."), "success")
    return None


@blueprint.route("/register/<code>", methods=["GET", "POST"])
def register(code: str):  # type: ignore[no-untyped-def]
    role = accounts().invitation_role(code) if settings()["access"]["registration"] == "invite" else None
    if role is None:
        return render_template("error.html", status=404,
                               message=_("This invitation is not valid any more.")), 404
    if request.method == "GET":
        return render_template("register.html", code=code, name="", display_name="", email="", error=None)
    rate_limits.check("register", _client_address())
    form = request.form
    try:
        created = accounts().register(
            code, form.get("name", "").strip(), form.get("password", ""),
            display_name=form.get("display_name", ""), email=form.get("email", ""),
        )
    except AccountError as error:
        return render_template(
            "register.html", code=code, name=form.get("name", ""), display_name=form.get("display_name", ""),
            email=form.get("email", ""), error=account_message(error),
        ), 400
    with contextlib.suppress(rate_limits.RateLimited):  # the account exists: count it, never refuse it now
        rate_limits.count("register", _client_address())  # accounts created, not attempts: typos cost nothing
    start_session(created)
    flash(_("Welcome, %(name)s. Your account is ready.", name=created.display_name), "success")
    return redirect(url_for("pages.index"))
