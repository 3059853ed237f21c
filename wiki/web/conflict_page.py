"""The conflict page: two edits of the same passages, resolved passage by passage, without markers.

``pages.edit`` shows it when a save conflicts; its form posts to
``/resolve/<path>`` (``pages.resolve``), which calls ``resolve_conflict``
here. The cutting and rebuilding of the text is ``wiki.app.conflicts``; this
module only turns it into a page and a form into a save. Whatever happens
(another conflict, a refused text), the author's whole text comes back with
the answer, with the choices made so far.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_time, to_user_timezone
from flask_babel import gettext as _

from ..accounts.store import User
from ..app.conflicts import Clash, Passage, Segment, passages, resolve, split, unix_lines
from ..app.errors import Conflict, ContentRejected, DomainError
from ..app.page_names import page_file
from .auth import wiki


def conflict_page(
    path: str,
    conflict: Conflict,
    *,
    yours: str,
    message: str,
    chosen: list[Passage] | None = None,
    problems: list[str] | None = None,
    status: int = 409,
) -> ResponseReturnValue:
    """The page for ``conflict``: each conflicting passage side by side, or the author's text if the page went away.

    ``yours`` is the author's whole text as they first sent it: it is shown
    (and posted again) on every step, whatever they choose.
    """
    segments = _segments(conflict.conflict_markdown)
    shown = chosen if chosen is not None else passages(segments)
    return render_template(
        "conflict.html",
        path=path,
        reason=conflict.reason,
        base_revision=conflict.current_revision or "",
        merged=conflict.conflict_markdown,
        yours=yours,
        message=message,
        passages=shown,
        saved_by=_saved_by(path, conflict.current_revision),
        problems=problems or [],
    ), status


def resolve_conflict(path: str, who: User, form: Mapping[str, str]) -> ResponseReturnValue:
    """Save the text the conflict page's choices make, over the version they were made against."""
    merged = unix_lines(form.get("merged", ""))
    yours = form.get("yours", "")
    message = form.get("message", "")
    base_revision = form.get("base_revision") or None
    markdown, chosen = resolve(_segments(merged), form)
    try:
        outcome = wiki().writes.save(path, markdown, user=who, message=message, base_revision=base_revision)
    except Conflict as again:  # changed once more meanwhile: what was just chosen is now "your version"
        return conflict_page(path, again, yours=yours, message=message)
    except ContentRejected as rejected:
        problems = rejected.problems_for(_)
        status = rejected.status
    except DomainError as refused:  # a full disk, a busy wiki…
        problems, status = [refused.describe(_)], refused.status
    else:
        if outcome.merged:
            flash(_("Saved. Somebody else changed this page meanwhile; both changes were merged."), "info")
        elif outcome.changed:
            flash(_("Saved."), "success")
        else:
            flash(_("Nothing changed, so nothing was saved."), "info")
        return redirect(url_for("pages.view", path=outcome.path))
    reason = form.get("reason", "conflict")
    same = Conflict(path, current_revision=base_revision, current_markdown="", conflict_markdown=merged, reason=reason)
    return conflict_page(path, same, yours=yours, message=message, chosen=chosen, problems=problems, status=status)


def _segments(merged: str) -> list[Segment]:
    """The merged text's segments, cut at the markers this wiki's merges write (or at any, if the labels changed)."""
    segments = split(merged, wiki().writes.messages.conflict_labels())
    if not any(isinstance(segment, Clash) for segment in segments):
        segments = split(merged)
    return segments


def _saved_by(path: str, revision: str | None) -> str:
    """« The version saved by Camille at 14:32 »: who made the page's current version, and when (no hash)."""
    found = wiki().history.revision(page_file(path), revision) if revision else None
    if found is None:
        return _("The version saved meanwhile")
    moment = datetime.fromtimestamp(found.time, UTC)
    today = to_user_timezone(datetime.now(UTC)).date()
    hour = format_time(moment, "HH:mm")
    if to_user_timezone(moment).date() == today:
        return _("The version saved by %(name)s at %(time)s", name=found.author, time=hour)
    return _(
        "The version saved by %(name)s on %(date)s at %(time)s", name=found.author, date=format_date(moment, "long"), time=hour
    )
