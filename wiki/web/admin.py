"""The administrator's page: accounts, their roles, and one-time invitations.

Everything here is also in the command line (``trousse user …``,
``trousse invite``); the page is for the association's coordinator, who
does not use a terminal.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..accounts.store import ROLES, AccountError, User
from .account_links import send_invitation
from .addresses import absolute_url
from .auth import accounts, require_admin, settings
from .forms import account_form

blueprint = Blueprint("admin", __name__)


@blueprint.route("/admin", methods=["GET", "POST"])
def index() -> ResponseReturnValue:
    me = require_admin()
    new_link, status = None, 200
    if request.method == "POST":
        new_link, status = account_form(lambda action: _apply(action, me))
        if status == 200 and new_link is None:
            return redirect(url_for("admin.index"))
    return render_template(
        "admin.html",
        users=accounts().list(),
        invitations=accounts().pending_invitations(),
        roles=ROLES,
        role_label=role_label,
        new_link=new_link,
        registration_open=settings()["access"]["registration"] == "invite",
        expiry=lambda when: datetime.fromtimestamp(when, UTC),
        me=me,
    ), status


def _apply(action: str, me: User) -> str | None:
    """Carry out one administrator's action; an invitation's link is returned, to be shown once."""
    name = request.form.get("name", "")
    if (
        action in ("set_role", "disable", "enable")
        and name.casefold() == me.name.casefold()
        and not (action == "set_role" and request.form.get("role") == "admin")
    ):
        raise AccountError("own_account", "an administrator cannot demote or disable themselves")
    if action == "set_role":
        changed = accounts().set_role(name, request.form.get("role", ""))
        flash(_("%(name)s is now %(role)s.", name=changed.name, role=role_label(changed.role)), "success")
    elif action in ("disable", "enable"):
        changed = accounts().set_disabled(name, action == "disable")
        flash(
            _("The account %(name)s is disabled.", name=changed.name)
            if changed.disabled
            else _("The account %(name)s is enabled again.", name=changed.name),
            "success",
        )
    elif action == "invite":
        email = request.form.get("email", "").strip()[:200]
        if email and "@" not in email:
            raise AccountError("bad_email", "this e-mail address is not valid")
        code = accounts().create_invitation(request.form.get("role", "editor"))
        if email and send_invitation(email, code):
            flash(_("The invitation is on its way to %(email)s.", email=email), "success")
            return None
        return absolute_url(url_for("sessions.register", code=code))
    elif action == "revoke_invitation":
        ident = request.form.get("invitation_id", "")
        if ident.isdigit() and accounts().revoke_invitation(int(ident)):
            flash(_("The invitation is cancelled."), "success")
    return None


@blueprint.app_template_global("role_label")
def role_label(role: str) -> str:
    """A role as people say it in their language (the account page shows it too)."""
    return {"reader": _("reader"), "editor": _("editor"), "admin": _("administrator")}.get(role, role)
