"""The blueprints, and what several of them read from a request."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, request
from flask_babel import gettext as _

from ..accounts.store import AccountError


def page_number(highest: int) -> int:
    """The ``?page=`` asked for, kept within 1..``highest``; anything unreadable is the first page."""
    try:
        return max(1, min(highest, int(request.args.get("page", "1"))))
    except ValueError:
        return 1


def account_form(apply: Callable[[str], str | None]) -> tuple[str | None, int]:
    """Run the action a posted account form names: (a secret to show once, or None; the status).

    A refused change becomes a flashed sentence and a 400, so the page is
    shown again with what went wrong.
    """
    try:
        return apply(request.form.get("action", "")), 200
    except AccountError as error:
        flash(error.describe(_), "error")
        return None, 400
