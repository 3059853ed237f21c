"""Watching pages and folders from the browser and the API, and leaving a watch from a notification's link."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, flash, has_request_context, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..accounts.store import Accounts, User
from ..app.licences import Licence
from ..app.mail import MailSettings, Outbox
from ..app.service import Wiki
from ..app.translations import site_gettext
from ..app.watches import Notifier, Preferences, Watch, Watches, change_describer, parse_watch
from .auth import Unauthorized, safe_next, user

blueprint = Blueprint("watch", __name__)


def watches() -> Watches:
    found: Watches = current_app.extensions["trousse.watches"]
    return found


def notifier() -> Notifier:
    found: Notifier = current_app.extensions["trousse.notifier"]
    return found


def _account() -> User:
    who = user()
    if who is None:
        raise Unauthorized()
    return who


@blueprint.app_template_global("is_watching")
def is_watching(path: str) -> bool:
    who = user()
    return who is not None and watches().watching(who.id, path)


@blueprint.app_template_global("watched_by_viewer")
def watched_by_viewer() -> list[Watch]:
    who = user()
    return watches().of(who.id) if who is not None else []


@blueprint.app_template_global("watch_preferences")
def watch_preferences() -> Preferences:
    who = user()
    return watches().preferences(who.id) if who is not None else Preferences(False, True)


@blueprint.app_template_global("mail_enabled")
def mail_enabled() -> bool:
    return notifier().outbox.settings.enabled


# -- the API -------------------------------------------------------------------


@blueprint.route("/api/v1/watch")
def list_watches() -> ResponseReturnValue:
    who = _account()
    return jsonify({"watching": [{"path": watch.written, "kind": watch.kind} for watch in watches().of(who.id)]})


@blueprint.route("/api/v1/watch/<path:path>", methods=["PUT", "DELETE"])
def change_watch(path: str) -> ResponseReturnValue:
    who = _account()
    watch = parse_watch(path)
    if request.method == "PUT":
        watches().add(who.id, watch)
    else:
        watches().remove(who.id, watch)
    return jsonify({"path": watch.written, "kind": watch.kind, "watching": request.method == "PUT"})


# -- the browser -----------------------------------------------------------------


@blueprint.route("/watch/<path:path>", methods=["POST"])
def toggle(path: str) -> ResponseReturnValue:
    """The page's (or folder's) "Suivre" button: watch, or stop watching."""
    who = _account()
    watch = parse_watch(path)
    if request.form.get("action") == "unwatch":
        watches().remove(who.id, watch)
        flash(_("You no longer watch this."), "info")
    else:
        watches().add(who.id, watch)
        if mail_enabled():
            flash(_("You watch this: changes by others will be sent to you by e-mail."), "success")
        else:
            flash(_("You watch this. This wiki sends no e-mail yet: follow it in your list of watched pages."), "info")
    fallback = url_for("pages.all_pages", folder=watch.path) if watch.kind == "folder" else url_for("pages.view", path=watch.path)
    return redirect(safe_next(request.form.get("next"), fallback))


@blueprint.route("/account/notifications", methods=["POST"])
def preferences() -> ResponseReturnValue:
    who = _account()
    watches().set_preferences(
        who.id, Preferences(digest=request.form.get("digest") == "1", watch_edits=request.form.get("watch_edits") == "1")
    )
    flash(_("Your notification settings are saved."), "success")
    return redirect(url_for("sessions.account") + "#watching")


@blueprint.route("/watch/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> ResponseReturnValue:
    """From a notification: a page with one button (a link alone must not unsubscribe: mail scanners follow links)."""
    if request.method == "GET":
        return render_template("unsubscribe.html", token=token)
    watch = notifier().unsubscribe(token)
    if watch is None:
        return render_template("error.html", status=404, message=_("This link is not valid.")), 404
    return render_template("unsubscribe.html", token=None, watch=watch)


# -- wiring ------------------------------------------------------------------------


def init_app(app: Flask, wiki: Wiki, accounts: Accounts) -> None:
    """Open the watches and the mail queue, and have every committed write tell the watchers."""
    settings = wiki.settings
    store = Watches(wiki.data.database)
    outbox = Outbox(wiki.data.database, MailSettings.from_settings(settings))

    def address() -> str:
        configured = str(settings["site"]["base_url"])
        if configured:
            return configured
        if has_request_context():
            return request.host_url.rstrip("/")
        return f"http://{settings['server']['host']}:{settings['server']['port']}"

    def title_of(page: str) -> str | None:
        record = wiki.catalog.page(page)
        return record.title if record else None

    def licence_of(page: str) -> Licence | None:
        record = wiki.catalog.page(page)
        return wiki.licence_of(record.meta if record else {})

    told = Notifier(
        store,
        outbox,
        users=accounts.get,
        describe=change_describer(title_of, lambda revision: wiki.store.commit_info(revision).message.strip().split("\n")[0]),
        gettext=site_gettext(settings["site"]["language"]),
        gettext_for=site_gettext,
        site_name=str(settings["site"]["name"]),
        address=address,
        secret=app.secret_key or b"",
        licence=licence_of,
    )
    wiki.writes.listeners.append(told.on_written)
    app.extensions["trousse.watches"] = store
    app.extensions["trousse.outbox"] = outbox
    app.extensions["trousse.notifier"] = told
    if app.config.get("TROUSSE_MAINTENANCE"):
        outbox.start(tasks=(told.send_digests,))
    app.register_blueprint(blueprint)


def close(app: Flask) -> None:
    for name in ("trousse.outbox", "trousse.watches"):
        if name in app.extensions:
            app.extensions[name].close()
