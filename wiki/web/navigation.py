"""Finding one's way: breadcrumbs, the sidebar, the pages an account read last, tags, orphan and wanted pages."""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import Markup

from ..app.errors import DomainError, PageNotFound
from ..app.navigation import Crumb, Navigation, TreeFolder, humanise
from ..app.page_names import TEMPLATES_FOLDER, check_path
from ..app.recent_pages import RecentPages
from .auth import Unauthorized, settings, user, wiki

blueprint = Blueprint("navigation", __name__)
log = logging.getLogger(__name__)


def init_app(app: Flask, database: Path) -> None:
    """Folder titles and trees kept per catalog generation; the table of pages read last, beside the accounts."""
    service = app.extensions["trousse"]
    app.extensions["trousse.navigation"] = Navigation(service.catalog.titles, lambda: service.generation)
    recent = RecentPages(database)
    app.extensions["trousse.recent_pages"] = recent
    service.writes.listeners.append(recent.on_written)
    app.after_request(_remember_page)


def close(app: Flask) -> None:
    if "trousse.recent_pages" in app.extensions:
        app.extensions["trousse.recent_pages"].close()


def navigation() -> Navigation:
    found: Navigation = current_app.extensions["trousse.navigation"]
    return found


def recent_store() -> RecentPages:
    found: RecentPages = current_app.extensions["trousse.recent_pages"]
    return found


def page_tree(folder: str = "") -> TreeFolder:
    return navigation().tree(folder)


@blueprint.app_template_filter("folder_title")
def folder_title(title: str, path: str) -> str:
    """A folder's title in the reader's language: the templates' folder has a name of its own, not ``Templates``."""
    if path == TEMPLATES_FOLDER and title == humanise(TEMPLATES_FOLDER):  # no page of its own names it
        return _("Page templates")
    return title


@blueprint.app_template_global("breadcrumbs")
def breadcrumbs(path: str) -> list[Crumb]:
    """The folders above the page at ``path`` by their titles, then the page (see ``_breadcrumbs.html``)."""
    try:
        trail = navigation().trail(check_path(path))
    except DomainError:
        return []
    home = settings()["site"]["home"]
    home_title = navigation().titles().get(home)
    if home_title and path != home:  # every trail starts from the home page, when there is one
        trail.insert(0, Crumb(home, home_title, False))
    return trail


@blueprint.app_template_global("sidebar")
def sidebar() -> dict[str, Any] | None:
    """The sidebar page's HTML (rendered once per revision, by the render cache), or None when there is none to show.

    Anything going wrong here leaves the sidebar out rather than the page: an
    error page must still be shown when the wiki itself is what failed.
    """
    path = settings()["site"].get("sidebar", "")
    if not path or (settings()["access"]["read"] == "accounts" and user() is None):
        return None
    try:
        view = wiki().view(path)
    except PageNotFound:
        return {"path": path, "html": None}
    except Exception:  # noqa: BLE001 - degrade: the page is shown without its sidebar
        log.warning("the sidebar page %r cannot be shown", path, exc_info=True)
        return None
    if view.rendered.degraded:
        return None
    return {"path": view.path, "html": Markup(view.rendered.html)}


@blueprint.app_template_global("recent_pages")
def recent_pages() -> list[tuple[str, str]]:
    """The pages the logged-in account read last, latest first, as (path, title); none for anonymous visitors."""
    who = user()
    if who is None:
        return []
    titles = navigation().titles()
    return [(path, titles[path]) for path in recent_store().paths(who.id) if path in titles]


def _remember_page(response: Response) -> Response:
    """After a logged-in account read a current page (shown, or still fresh in its browser), note it."""
    if request.endpoint != "pages.view" or response.status_code not in (200, 304) or request.args.get("rev"):
        return response
    who = user()
    if who is None:
        return response
    try:
        path = check_path((request.view_args or {}).get("path", ""))
        recent_store().record(who.id, path)
    except (DomainError, sqlite3.Error):  # never lose the page for the sake of this list
        log.warning("could not note the page read", exc_info=True)
    return response


@blueprint.route("/account/recent", methods=["POST"])
def clear_recent() -> ResponseReturnValue:
    who = user()
    if who is None:
        raise Unauthorized()
    recent_store().clear(who.id)
    flash(_("The list of pages you read recently is cleared."), "success")
    return redirect(url_for("sessions.account") + "#recent-pages")


@blueprint.route("/tags")
def tags() -> ResponseReturnValue:
    counts: Counter[str] = Counter()
    for record in wiki().catalog.pages(templates=False):
        counts.update({tag.casefold(): 1 for tag in record.tags})
    return render_template("tags.html", tags=sorted(counts.items(), key=lambda item: item[0]))


@blueprint.route("/tags/<path:tag>")  # a tag may hold a slash ("loyers/2024"): its link must lead somewhere
def tag(tag: str) -> ResponseReturnValue:
    wanted = tag.casefold()
    records = [record for record in wiki().catalog.pages(templates=False) if wanted in (t.casefold() for t in record.tags)]
    if not records:
        raise PageNotFound(tag)
    return render_template("tag.html", tag=tag, records=sorted(records, key=lambda r: r.title.casefold()))


@blueprint.route("/curation")
def curation() -> ResponseReturnValue:
    """Pages nobody links to, and links that lead to no page yet."""
    orphans, wanted = wiki().links.curation(settings()["site"]["home"])
    return render_template("curation.html", orphans=orphans, wanted=wanted[:500])
