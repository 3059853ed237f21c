"""Accounts by e-mail: a forgotten password reset by a one-time link, a new address confirmed by one.

The reset form answers the same sentence whether an account uses the
address or not, so it cannot be used to find out who has an account; it is
limited per address asking and per e-mail address. Links work once and
expire (an hour for a reset, two days for an address). The mail goes
through the queue (``Outbox``), never from the request itself.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..accounts.store import INVITATION_DAYS, AccountError, User
from ..app.account_mail import email_confirmation_mail, invitation_mail, reset_mail
from ..app.errors import Gettext
from ..app.mail import Outbox
from ..app.translations import site_gettext
from .addresses import absolute_url
from .auth import accounts, settings
from .rate_limits import RateLimited

blueprint = Blueprint("account_links", __name__)

# Reset requests: per address asking, and per e-mail address asked about (a mailbox is not flooded).
RESETS_PER_CLIENT = (10, 3600.0)
RESETS_PER_EMAIL = (3, 3600.0)


def outbox() -> Outbox:
    found: Outbox = current_app.extensions["trousse.outbox"]
    return found


def _gettext_for(user: User | None) -> Gettext:
    """The language an account chose for its mail, else the site's (an invitation is for nobody yet)."""
    return site_gettext((user.language if user is not None else "") or settings()["site"]["language"])


def _limit(bucket: str, key: str, policy: tuple[int, float]) -> None:
    wait = accounts().take(bucket, key.casefold(), policy[0], policy[1])
    if wait > 0:
        raise RateLimited(bucket, int(wait) + 1)


@blueprint.route("/password-reset", methods=["GET", "POST"])
def request_reset() -> ResponseReturnValue:
    enabled = outbox().settings.enabled
    if request.method == "GET" or not enabled:
        return render_template("password_reset.html", enabled=enabled, sent=False, code=None)
    email = request.form.get("email", "").strip()[:200]
    _limit("password_reset", request.remote_addr or "unknown", RESETS_PER_CLIENT)
    if email:
        _limit("password_reset_email", email, RESETS_PER_EMAIL)
        site = settings()["site"]["name"]
        for user, code in accounts().create_password_resets(email):
            link = absolute_url(url_for("account_links.reset", code=code))
            outbox().put(reset_mail(_gettext_for(user), site=site, recipient=user.email, name=user.name, link=link))
    return render_template("password_reset.html", enabled=True, sent=True, code=None)


@blueprint.route("/password-reset/<code>", methods=["GET", "POST"])
def reset(code: str) -> ResponseReturnValue:
    if request.method == "GET":
        if not accounts().mail_link_is_valid(code, "reset"):
            return render_template("password_reset.html", enabled=True, sent=False, code=None, error=_bad_link()), 400
        return render_template("password_reset.html", enabled=True, sent=False, code=code)
    try:
        user = accounts().reset_password(code, request.form.get("password", ""))
    except AccountError as refused:
        return render_template("password_reset.html", enabled=True, sent=False, code=code, error=refused.describe(_)), 400
    flash(_("Your password is changed, %(name)s: log in with it.", name=user.name), "success")
    return redirect(url_for("sessions.login"))


@blueprint.route("/email-confirmation/<code>", methods=["GET", "POST"])
def confirm_email(code: str) -> ResponseReturnValue:
    """The link sent to a new address: a page with one button (mail scanners follow links, people press buttons)."""
    if request.method == "GET":
        valid = accounts().mail_link_is_valid(code, "email")
        return render_template("email_confirmation.html", code=code if valid else None, error=None if valid else _bad_link())
    try:
        user = accounts().confirm_email(code)
    except AccountError as refused:
        return render_template("email_confirmation.html", code=None, error=refused.describe(_)), 400
    flash(_("Your e-mail address is now %(email)s.", email=user.email), "success")
    return redirect(url_for("sessions.login"))


def _bad_link() -> str:
    return AccountError("bad_link", "").describe(_)


def send_email_confirmation(user: User, email: str) -> bool:
    """Ask the new address to confirm itself; False when the wiki sends no mail (the caller then sets it directly)."""
    if not outbox().settings.enabled:
        return False
    code = accounts().request_email_change(user.id, email)
    link = absolute_url(url_for("account_links.confirm_email", code=code))
    site = settings()["site"]["name"]
    outbox().put(email_confirmation_mail(_gettext_for(user), site=site, recipient=email.strip(), name=user.name, link=link))
    return True


def send_invitation(email: str, code: str) -> bool:
    """Mail an invitation's link; False when the wiki sends no mail."""
    if not outbox().settings.enabled:
        return False
    link = absolute_url(url_for("sessions.register", code=code))
    site = settings()["site"]["name"]
    return outbox().put(invitation_mail(_gettext_for(None), site=site, recipient=email, link=link, days=INVITATION_DAYS))
