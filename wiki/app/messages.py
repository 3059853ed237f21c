"""Sentences explaining refused account changes, from the translation catalogue.

(Every other refusal is a ``DomainError`` that carries its own sentence.)

Each function takes the ``gettext`` to use: Flask-Babel's in the web
application, a plain Babel catalogue in the git hook, which must start fast
and has no application around it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..accounts.store import AccountError

Gettext = Callable[..., str]


def flask_gettext(text: str, **values: object) -> str:
    from flask_babel import gettext

    return gettext(text, **values)


def account_message(error: AccountError, _: Gettext = flask_gettext) -> str:
    messages = {
        "bad_name": _("User names are 1 to 64 letters, digits, dots, dashes or underscores."),
        "bad_role": _("The role is reader, editor or admin."),
        "weak_password": _("Passwords have at least 8 characters."),
        "exists": _("An account with this name already exists."),
        "unknown": _("There is no account with this name."),
        "bad_display_name": _("The display name is empty."),
        "bad_email": _("This e-mail address is not valid."),
        "bad_invitation": _("This invitation is not valid any more."),
        "own_account": _("You cannot take away your own administrator role or disable your own account."),
        "wrong_password": _("The current password is wrong."),
        "last_admin": _("The wiki must keep at least one active administrator."),
    }
    return messages.get(error.code, _("This account change is not possible."))
