"""Sentences explaining refusals, from the translation catalogue.

Each function takes the ``gettext`` to use: Flask-Babel's in the web
application, a plain Babel catalogue in the git hook, which must start fast
and has no application around it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from repo_store.errors import InvalidPath

from .content_rules import Problem

if TYPE_CHECKING:
    from ..accounts.store import AccountError

Gettext = Callable[..., str]


def flask_gettext(text: str, **values: object) -> str:
    from flask_babel import gettext

    return gettext(text, **values)


def path_message(error: InvalidPath, _: Gettext = flask_gettext) -> str:
    reason = getattr(error, "reason", "")
    messages = {
        "empty": _("The page name is empty."),
        "too_long": _("The page name is too long."),
        "control": _("The page name contains invisible control characters."),
        "backslash": _("The page name contains a backslash."),
        "empty_segment": _("The page name has an empty part (two slashes in a row)."),
        "dot_segment": _("The page name cannot contain “.” or “..” parts."),
        "leading_dot": _("A part of the page name starts with a dot."),
        "leading_dash": _("A part of the page name starts with a dash."),
        "git_dir": _("This name is reserved by git."),
        "not_slug": _("New page names use lowercase letters without accents, digits and dashes, separated by “/”."),
        "bad_attachment": _("File names use lowercase letters, digits and dashes, with an extension."),
        "windows_reserved": _(
            "Windows reserves this name (con, prn, aux, nul, com1 to com9, lpt1 to lpt9, "
            "with or without an extension): copies of the wiki could not be opened there. "
            "Choose another name, for example by adding a word."
        ),
        "trailing_dot": _("A part of the name ends with a dot or a space, which Windows cannot hold: remove that dot or space."),
    }
    return messages.get(reason, _("This page name is not allowed."))


def problem_message(problem: Problem, _: Gettext = flask_gettext) -> str:
    if problem.code == "too_large":
        return _("The page is too large (the limit is %(limit)s bytes).", limit=problem.detail)
    if problem.code == "too_deep":
        return _("The page nests lists or quotes more than %(limit)s levels deep; reduce the nesting.", limit=problem.detail)
    if problem.code == "too_many_cells":
        return _("The page's tables have more than %(limit)s cells in all; split the table or the page.", limit=problem.detail)
    if problem.code == "not_text":
        return _("The page contains binary data.")
    if problem.code == "front_matter":
        return _("The front matter (the block between the “---” lines) cannot be read: %(detail)s", detail=problem.detail)
    if problem.code == "bad_title":
        return _("The title in the front matter must be text.")
    if problem.code == "bad_tags":
        return _("The tags in the front matter must be a list of words.")
    if problem.code == "unknown_licence":
        return _("“%(licence)s” is not a licence this wiki knows; use an SPDX id such as CC-BY-SA-4.0.", licence=problem.detail)
    return _("The page cannot be saved as it is.")


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


def attachment_message(error, _: Gettext = flask_gettext) -> str:  # type: ignore[no-untyped-def]
    if error.code == "type":
        return _(
            "This kind of file cannot be attached. Accepted: PDF, OpenDocument (odt, ods, odp, odg), "
            "Word, Excel and PowerPoint files, images (png, jpg, gif, webp, svg), CSV and text."
        )
    if error.code == "mismatch":
        return _("This file's content does not match its “.%(extension)s” extension.", extension=error.detail)
    if error.code == "empty":
        return _("The file is empty or missing.")
    if error.code == "archive":
        return _(
            "This file cannot be opened safely: it holds too many parts, or unpacks to far more than its "
            "size. Save it again from your office software, then attach the new file."
        )
    return _("This file cannot be attached.")
