"""Watching pages and folders, and telling watchers by e-mail when somebody else changes them.

``Notifier.on_written`` listens to every committed write (``Writes.listeners``,
pushes included): for each page the change touched it finds the accounts
that watch the page or one of its folders, leaves out the author, and queues
one message each (``Outbox``) — or, for those who asked for a daily digest,
keeps a line for the next digest (``send_digests``). Nothing here runs SMTP:
a save only writes rows. Editing a page watches it, unless the account said
otherwise on its page.

Watches, preferences and digest lines live in the account database
(``trousse.sqlite``), which is kept and backed up, unlike the derived index.
"""

from __future__ import annotations

import html
import logging
import posixpath
import sqlite3
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeSerializer

from repo_store.errors import N_, DomainError, Gettext
from repo_store.paths import check_path, page_path_of
from repo_store.sqlite_files import ThreadConnections

from ..accounts.store import User
from .licences import Licence
from .mail import Mail, Outbox
from .writes import Written

log = logging.getLogger(__name__)

DIGEST_SECONDS = 24 * 3600.0
MAX_WATCHES = 1000
# A push of a thousand pages tells of the first ones only: one mail per page, and not a flood.
MAX_PAGES_TOLD = 20
# Writes whose paths are pages (the others name files); the first three watch the page for their author.
PAGE_ACTIONS = ("save", "create", "discuss", "delete", "restore", "move")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS watches (
    user_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (user_id, path, kind)
);
CREATE INDEX IF NOT EXISTS watches_by_path ON watches (path, kind);
CREATE TABLE IF NOT EXISTS watch_preferences (
    user_id INTEGER PRIMARY KEY,
    digest INTEGER NOT NULL DEFAULT 0,
    watch_edits INTEGER NOT NULL DEFAULT 1,
    last_digest REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS digest_lines (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    created REAL NOT NULL,
    text TEXT NOT NULL,
    html TEXT NOT NULL
);
"""


class TooManyWatches(DomainError):
    code = "invalid"
    status = 400
    message_key = N_("An account may watch at most %(limit)s pages and folders.")

    def message_values(self) -> dict[str, object]:
        return {"limit": MAX_WATCHES}


@dataclass(frozen=True)
class Watch:
    path: str
    kind: str  # "page" or "folder"

    @property
    def written(self) -> str:
        """As the API writes it: a folder with a trailing ``/``."""
        return self.path + "/" if self.kind == "folder" else self.path


@dataclass(frozen=True)
class Preferences:
    digest: bool
    watch_edits: bool


def parse_watch(written: str) -> Watch:
    """``guides/loyers`` is a page, ``guides/`` a folder (``InvalidPath`` for a path the wiki refuses)."""
    if written.endswith("/"):
        return Watch(check_path(written.rstrip("/")), "folder")
    return Watch(check_path(written), "page")


class Watches:
    """Who watches what, and how they want to hear of it."""

    def __init__(self, database: Path) -> None:
        self.path = database
        self._connections = ThreadConnections(database)
        self._db().executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        return self._connections.get()

    def close(self) -> None:
        self._connections.close()

    def add(self, user_id: int, watch: Watch) -> None:
        db = self._db()
        (count,) = db.execute("SELECT count(*) FROM watches WHERE user_id = ?", (user_id,)).fetchone()
        if count >= MAX_WATCHES:
            raise TooManyWatches(str(user_id))
        db.execute(
            "INSERT OR IGNORE INTO watches (user_id, path, kind, created) VALUES (?, ?, ?, ?)",
            (user_id, watch.path, watch.kind, time.time()),
        )

    def remove(self, user_id: int, watch: Watch) -> bool:
        cursor = self._db().execute(
            "DELETE FROM watches WHERE user_id = ? AND path = ? AND kind = ?", (user_id, watch.path, watch.kind)
        )
        return cursor.rowcount > 0

    def of(self, user_id: int) -> list[Watch]:
        rows = self._db().execute("SELECT path, kind FROM watches WHERE user_id = ? ORDER BY path, kind", (user_id,))
        return [Watch(path, kind) for path, kind in rows]

    def watching(self, user_id: int, page: str) -> bool:
        row = (
            self._db()
            .execute("SELECT 1 FROM watches WHERE user_id = ? AND path = ? AND kind = 'page'", (user_id, page))
            .fetchone()
        )
        return row is not None

    def watchers(self, page: str) -> dict[int, Watch]:
        """Accounts watching ``page`` or one of its folders, each with the watch that matched (the page's first)."""
        folders = []
        folder = posixpath.dirname(page)
        while folder:
            folders.append(folder)
            folder = posixpath.dirname(folder)
        found: dict[int, Watch] = {}
        db = self._db()
        for (user_id,) in db.execute("SELECT user_id FROM watches WHERE path = ? AND kind = 'page'", (page,)):
            found[user_id] = Watch(page, "page")
        for folder in folders:
            for (user_id,) in db.execute("SELECT user_id FROM watches WHERE path = ? AND kind = 'folder'", (folder,)):
                found.setdefault(user_id, Watch(folder, "folder"))
        return found

    def rename(self, old: str, new: str) -> None:
        """Watches follow a page or a folder that moved (and everything under a folder)."""
        db = self._db()
        prefix = old + "/"
        db.execute(
            "UPDATE OR IGNORE watches SET path = ? || substr(path, ?) WHERE path = ? OR substr(path, 1, ?) = ?",
            (new, len(old) + 1, old, len(prefix), prefix),
        )

    def preferences(self, user_id: int) -> Preferences:
        row = self._db().execute("SELECT digest, watch_edits FROM watch_preferences WHERE user_id = ?", (user_id,)).fetchone()
        return Preferences(bool(row[0]), bool(row[1])) if row else Preferences(False, True)

    def set_preferences(self, user_id: int, preferences: Preferences) -> None:
        self._db().execute(
            "INSERT INTO watch_preferences (user_id, digest, watch_edits) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET digest = excluded.digest, watch_edits = excluded.watch_edits",
            (user_id, int(preferences.digest), int(preferences.watch_edits)),
        )

    # -- digests ---------------------------------------------------------------

    def keep_for_digest(self, user_id: int, text: str, html_line: str) -> None:
        self._db().execute(
            "INSERT INTO digest_lines (user_id, created, text, html) VALUES (?, ?, ?, ?)", (user_id, time.time(), text, html_line)
        )

    def due_digests(self, now: float, every: float = DIGEST_SECONDS) -> list[int]:
        """Accounts with digest lines waiting whose last digest is older than ``every``."""
        rows = self._db().execute(
            "SELECT DISTINCT d.user_id FROM digest_lines d LEFT JOIN watch_preferences p ON p.user_id = d.user_id"
            " WHERE coalesce(p.last_digest, 0) <= ?",
            (now - every,),
        )
        return [user_id for (user_id,) in rows]

    def take_digest(self, user_id: int, now: float) -> list[tuple[str, str]]:
        """The waiting lines of one account, removed, and its last digest set to ``now``: one transaction."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            lines = db.execute("SELECT id, text, html FROM digest_lines WHERE user_id = ? ORDER BY id", (user_id,)).fetchall()
            db.execute("DELETE FROM digest_lines WHERE user_id = ? AND id <= ?", (user_id, lines[-1][0] if lines else 0))
            db.execute(
                "INSERT INTO watch_preferences (user_id, last_digest) VALUES (?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET last_digest = excluded.last_digest",
                (user_id, now),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return [(text, html_line) for _id, text, html_line in lines]


@dataclass(frozen=True)
class Change:
    """What a notification says about one page."""

    page: str
    title: str
    author: str
    summary: str
    revision: str
    action: str


class Notifier:
    """Turns committed writes into messages for the watchers of what changed."""

    def __init__(
        self,
        watches: Watches,
        outbox: Outbox,
        *,
        users: Callable[[int], User | None],
        describe: Callable[[Written], list[Change]],
        gettext: Gettext,
        gettext_for: Callable[[str], Gettext] | None = None,
        site_name: str,
        address: Callable[[], str],
        secret: str | bytes,
        licence: Callable[[str], Licence | None],
    ) -> None:
        self.watches = watches
        self.outbox = outbox
        self.users = users
        self.describe = describe
        self._ = gettext
        self._gettext_for = gettext_for
        self.site_name = site_name
        self.address = address
        self.licence = licence
        self._signer = URLSafeSerializer(secret, salt="trousse.unsubscribe")

    def gettext_of(self, reader: User) -> Gettext:
        """The catalogue of the language ``reader`` chose for mail; the site's until they choose."""
        return self._gettext_for(reader.language) if reader.language and self._gettext_for else self._

    # -- unsubscribing -----------------------------------------------------------

    def unsubscribe_token(self, user_id: int, watch: Watch) -> str:
        return self._signer.dumps([user_id, watch.path, watch.kind])

    def unsubscribe(self, token: str) -> Watch | None:
        """Stop the watch a notification's link names; None when the link is not one of ours."""
        try:
            user_id, path, kind = self._signer.loads(token)
        except (BadSignature, ValueError, TypeError):
            return None
        if not isinstance(user_id, int) or kind not in ("page", "folder") or not isinstance(path, str):
            return None
        watch = Watch(path, kind)
        self.watches.remove(user_id, watch)
        return watch

    # -- hearing of writes ---------------------------------------------------------

    def on_written(self, event: Written) -> None:
        """Listener of ``Writes``: watch what one edits, tell the others."""
        author = event.user
        if event.action == "move" and len(event.paths) == 2:
            self.watches.rename(*event.paths)
        if author is not None and event.action in PAGE_ACTIONS[:3] and self.watches.preferences(author.id).watch_edits:
            for path in event.paths:
                if page_path_of(path + ".md") == path:
                    self.watches.add(author.id, Watch(path, "page"))
        if not self.outbox.settings.enabled:
            return
        for change in self.describe(event):
            for user_id, watch in self.watches.watchers(change.page).items():
                if author is not None and user_id == author.id:
                    continue  # no mail for one's own changes
                reader = self.users(user_id)
                if reader is None or reader.disabled or not reader.email:
                    continue
                self._tell(reader, watch, change)

    def _tell(self, reader: User, watch: Watch, change: Change) -> None:
        _ = self.gettext_of(reader)
        base = self.address()
        page_url = base + "/wiki/" + urllib.parse.quote(change.page)
        diff_url = base + "/diff/" + urllib.parse.quote(change.page) + "?" + urllib.parse.urlencode({"to": change.revision})
        if change.action == "discuss":  # the message, rather than the diff of the file that keeps it
            diff_url = base + "/discussion/" + urllib.parse.quote(change.page)
        unsubscribe = base + "/watch/unsubscribe/" + self.unsubscribe_token(reader.id, watch)
        licence = self.licence(change.page)
        what = {
            "delete": _("%(author)s deleted « %(title)s »", author=change.author, title=change.title),
            "move": _("%(author)s moved « %(title)s »", author=change.author, title=change.title),
            "discuss": _("%(author)s wrote in the discussion of « %(title)s »", author=change.author, title=change.title),
        }.get(change.action, _("%(author)s changed « %(title)s »", author=change.author, title=change.title))
        line = _("%(what)s: %(summary)s", what=what, summary=change.summary)
        if self.watches.preferences(reader.id).digest:
            self.watches.keep_for_digest(
                reader.id,
                f"- {line}\n  {diff_url}",
                f'<li><a href="{html.escape(diff_url)}">{html.escape(what)}</a> — {html.escape(change.summary)}</li>',
            )
            return
        because = (
            _("You receive this because you watch the page « %(title)s ».", title=change.title)
            if watch.kind == "page"
            else _("You receive this because you watch the folder %(folder)s.", folder=watch.path)
        )
        licence_line = (
            _("This page is shared under %(licence)s: %(url)s", licence=licence.name, url=licence.url) if licence else ""
        )
        stop = _("Stop watching: %(url)s", url=unsubscribe)
        text = "\n\n".join(
            part
            for part in (
                what,
                change.summary,
                _("See the change: %(url)s", url=diff_url),
                _("Read the page: %(url)s", url=page_url),
                licence_line,
                f"-- \n{because}\n{stop}",
            )
            if part
        )
        body = "".join(
            f"<p>{part}</p>"
            for part in (
                html.escape(what),
                html.escape(change.summary),
                f'<a href="{html.escape(diff_url)}">{html.escape(_("See the change"))}</a> · '
                f'<a href="{html.escape(page_url)}">{html.escape(_("Read the page"))}</a>',
                html.escape(licence_line),
                f"<small>{html.escape(because)} "
                f'<a href="{html.escape(unsubscribe)}">{html.escape(_("Stop watching"))}</a></small>',
            )
            if part
        )
        subject = f"[{self.site_name}] {what}"
        headers = (("List-Unsubscribe", f"<{unsubscribe}>"), ("Auto-Submitted", "auto-generated"))
        self.outbox.put(Mail(reader.email, subject, text, body, headers))

    def send_digests(self, now: float | None = None) -> int:
        """Queue one digest per account whose day has come; returns how many."""
        if not self.outbox.settings.enabled:
            return 0
        moment = time.time() if now is None else now
        sent = 0
        for user_id in self.watches.due_digests(moment):
            reader = self.users(user_id)
            lines = self.watches.take_digest(user_id, moment)
            if reader is None or reader.disabled or not reader.email or not lines:
                continue
            _ = self.gettext_of(reader)
            settings = self.address() + "/account"
            text = "\n\n".join(
                [
                    _("Changes to what you watch on %(site)s:", site=self.site_name),
                    "\n".join(line for line, _html in lines),
                    "-- \n" + _("Change how you hear of changes: %(url)s", url=settings),
                ]
            )
            body = (
                f"<p>{html.escape(_('Changes to what you watch on %(site)s:', site=self.site_name))}</p>"
                f"<ul>{''.join(item for _text, item in lines)}</ul>"
                f'<p><small><a href="{html.escape(settings)}">{html.escape(_("Change how you hear of changes"))}</a></small></p>'
            )
            subject = f"[{self.site_name}] " + _("Daily digest of what you watch")
            self.outbox.put(Mail(reader.email, subject, text, body, (("Auto-Submitted", "auto-generated"),)))
            sent += 1
        return sent


def change_describer(
    title_of: Callable[[str], str | None], commit_subject: Callable[[str], str]
) -> Callable[[Written], list[Change]]:
    """``describe`` for ``Notifier``: the pages a write touched, with their titles and the change's summary.

    A document added or removed counts as a change of its page; a push names
    files, which become their pages.
    """

    def describe(event: Written) -> list[Change]:
        if event.revision is None or event.action == "hide_message":
            return []
        pages: list[str] = []
        for path in event.paths[-1:] if event.action == "move" else event.paths:
            page = page_path_of(path) if path.endswith(".md") else None
            if page is None:
                page = path if event.action in PAGE_ACTIONS else posixpath.dirname(path)
            if page and page not in pages:
                pages.append(page)
        summary = commit_subject(event.revision)
        author = event.user.display_name if event.user is not None else ""
        return [
            Change(page, title_of(page) or page, author, summary, event.revision, event.action) for page in pages[:MAX_PAGES_TOLD]
        ]

    return describe
