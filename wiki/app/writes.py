"""Every change to the wiki, one method each: the only way in for the browser, the API and a push.

A write here checks its input with the shared rules (``WriteRules``: names,
text, files, message), writes its default commit message in the site's
language, commits with compare-and-swap, brings the catalog and the search
index up to date before returning, and tells its listeners (watches and
notifications hang there). The HTTP layer only turns a request into one call
and the result, or the domain error raised, into an answer; the git hook
checks pushed commits with the same ``WriteRules`` before they land, and
``pushed`` does the rest once they have.

Creating a page is saving at a path where there is none (``SaveOutcome.created``):
if somebody created it meanwhile, the save is a conflict like any other,
with the author's text kept. Documents the author added in the editor before
that first save (``pending``, kept by ``wiki.app.drafts``) are committed with
the page, in the same commit, after the same checks as any attachment.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from repo_store import (
    CommitRecord,
    Conflict,
    FileChange,
    Identity,
    PageExists,
    PageNotFound,
    PageStore,
    RepositoryBusy,
    StoreError,
)
from repo_store.catalog import Catalog, PageRecord, SyncReport
from repo_store.errors import N_
from repo_store.history import History
from repo_store.objects import object_id
from repo_store.pages import page_title, parse_page
from repo_store.paths import TEMPLATES_FOLDER, check_path, check_revision, page_file

from ..accounts.store import User
from .attachments import attachment_name
from .commit_messages import CommitMessages
from .discussions import DISCUSSION_NAME, Posted, append, discussion_file, set_hidden
from .titles import with_title
from .translations import site_gettext
from .write_rules import WriteRules

log = logging.getLogger(__name__)

# How often a write computed from ``main`` is tried again when ``main`` moved meanwhile.
COMMIT_ATTEMPTS = 50


@dataclass(frozen=True)
class SaveOutcome:
    path: str
    revision: str
    merged: bool
    created: bool
    changed: bool


@dataclass(frozen=True)
class Attached:
    """An upload's result: the commit (None when the same file was already there) and the file's revision."""

    commit: CommitRecord | None
    created: bool
    revision: str | None


@dataclass(frozen=True)
class Written:
    """What listeners hear after each write: ``action`` is save, create, move, delete, restore, attach, remove_file or push."""

    action: str
    paths: tuple[str, ...]
    revision: str | None
    user: User | None


Listener = Callable[[Written], None]


class PendingFiles(Protocol):
    """Where documents added before a page's first save wait (``wiki.app.drafts.Drafts``)."""

    def pending_files(self, user_id: int, path: str) -> list[tuple[str, bytes]]: ...


class NothingToRestore(StoreError):
    """The page already has the content of the revision to restore."""

    code = "nothing_to_restore"
    status = 409
    message_key = N_("The page already has the text of revision %(revision)s; nothing changed.")

    def __init__(self, path: str, revision: str) -> None:
        super().__init__(path)
        self.path = path
        self.revision = revision

    def message_values(self) -> dict[str, object]:
        return {"revision": self.revision[:7]}


class WikiState(Protocol):
    """What writes need of the wiki (``wiki.app.service.Wiki``): its stores, settings and catch-up."""

    store: PageStore
    catalog: Catalog
    history: History
    settings: dict[str, dict[str, Any]]

    def sync(self, known: list[CommitRecord] | None = None) -> SyncReport | None: ...

    def identity(self, user: User) -> Identity: ...

    def existing_page(self, path: str) -> PageRecord: ...


class Writes:
    """The application service of every write to one wiki."""

    def __init__(self, wiki: WikiState) -> None:
        self.wiki = wiki
        self.store = wiki.store
        self.rules = WriteRules(wiki.settings["limits"])
        self.messages = CommitMessages(site_gettext(wiki.settings["site"]["language"]))
        self.listeners: list[Listener] = []
        self.pending: PendingFiles | None = None

    # -- pages ---------------------------------------------------------------

    def save(self, path: str, markdown: str, *, user: User, message: str = "", base_revision: str | None = None) -> SaveOutcome:
        """Create or edit a page: merged with changes made since ``base_revision``, or ``Conflict``."""
        path = check_path(path)
        if base_revision:
            base_revision = check_revision(base_revision)
        exists = self.store.page_exists(path)
        path = self.rules.page_name(path, new=not exists)
        markdown = self.rules.page_text(markdown)
        self.rules.fiche_fields(path, markdown, self._template_text)
        message = self.rules.message(message) or self.messages.save(_title_of(markdown, path), created=not exists)
        result = self.store.save_page(
            path,
            markdown,
            author=self.wiki.identity(user),
            message=message,
            base_revision=base_revision or None,
            labels=self.messages.conflict_labels(),
            extra_changes=self._pending_changes(path, user),
        )
        if result.record is None:
            self.wiki.sync()
            record = self.wiki.catalog.page(path)
            return SaveOutcome(path, record.revision if record else "", result.merged, False, False)
        self.wiki.sync([result.record])
        outcome = SaveOutcome(path, result.record.sha, result.merged, result.created, True)
        self._tell(Written("create" if result.created else "save", (path,), outcome.revision, user))
        return outcome

    def move(self, path: str, to: str, *, user: User, message: str = "", title: str | None = None) -> tuple[CommitRecord, str]:
        """Rename a page and its attachments folder in one commit git sees as renames; returns it and the new path.

        With ``title``, the page's title changes too (its front matter
        ``title``, else its first heading), so that a page moved "by title"
        reads as it is now called. That is a second commit after the move: the
        move itself keeps the file's content, so git (and a catalog rebuilt from
        it) always sees a rename, however small the page, and the old address
        keeps leading to the new one.
        """
        path = check_path(path)
        to = self.rules.page_name(to.strip().strip("/"), new=True)
        record = self.wiki.existing_page(path)
        new_title = " ".join((title or "").split())[:200]
        retitle = bool(new_title) and new_title != record.title
        if to == path and not retitle:
            raise PageExists(to)

        def build(head: str | None) -> list[FileChange]:
            entry = self.store.lookup(head, page_file(path))
            if entry is None or not entry.is_blob:
                raise PageNotFound(path)
            if self.store.lookup(head, page_file(to)) is not None:
                raise PageExists(to)
            changes = [FileChange(page_file(path)), FileChange(page_file(to), blob=entry.sha)]
            for name, blob in self._attachments(head, path):
                if self.store.lookup(head, f"{to}/{name}") is not None:
                    raise PageExists(f"{to}/{name}")
                changes += [FileChange(f"{path}/{name}"), FileChange(f"{to}/{name}", blob=blob)]
            return changes

        def build_title(head: str | None) -> list[FileChange]:
            entry = self.store.lookup(head, page_file(to))
            if entry is None or not entry.is_blob:
                raise PageNotFound(to)
            text = with_title(self.store.blob(entry.sha).decode("utf-8", "replace"), new_title)
            return [FileChange(page_file(to), data=self.rules.page_text(text).encode("utf-8"))]

        commit: CommitRecord | None = None
        if to != path:
            moved = self.messages.move(record.title, to)
            commit = self._commit_on(build, user=user, message=self.rules.message(message) or moved)
        if retitle:
            renamed = self.messages.retitle(record.title, new_title)
            commit = self._commit_on(build_title, user=user, message=self.rules.message(message) or renamed)
        assert commit is not None  # the path or the title changed, or PageExists was raised above
        self._tell(Written("move", (path, to), commit.sha, user))
        return commit, to

    def move_folder(self, folder: str, to: str, *, user: User, message: str = "") -> tuple[CommitRecord, str]:
        """Rename a folder with every page and document in it, in one commit: each old address leads to the new one."""
        folder = check_path(folder.strip().strip("/"))
        to = self.rules.page_name(to.strip().strip("/"), new=True)
        if to == folder or to.startswith(folder + "/"):
            raise PageExists(to)

        def build(head: str | None) -> list[FileChange]:
            files = self._files_under(head, folder)
            if not any(name.endswith(".md") for name, _blob in files):
                raise PageNotFound(folder)
            if self.store.lookup(head, to) is not None or self.store.lookup(head, page_file(to)) is not None:
                raise PageExists(to)
            changes: list[FileChange] = []
            for name, blob in files:
                changes += [FileChange(f"{folder}/{name}"), FileChange(f"{to}/{name}", blob=blob)]
            return changes

        commit = self._commit_on(build, user=user, message=self.rules.message(message) or self.messages.move_folder(folder, to))
        self._tell(Written("move", (folder, to), commit.sha, user))
        return commit, to

    def delete(self, path: str, *, user: User, base_revision: str | None, message: str = "") -> CommitRecord:
        """Delete a page and its attachments, unless it changed since ``base_revision`` (``Conflict``)."""
        path = check_path(path)
        record = self.wiki.existing_page(path)
        base = self.store.resolve_revision(check_revision(base_revision)) if base_revision else None

        def build(head: str | None) -> list[FileChange]:
            entry = self.store.lookup(head, page_file(path))
            if entry is None or not entry.is_blob:
                raise PageNotFound(path)
            base_entry = self.store.lookup(base, page_file(path)) if base else None
            if base_entry is None or base_entry.sha != entry.sha:
                current = self.wiki.catalog.page(path)
                raise Conflict(
                    path,
                    current_revision=current.revision if current else head,
                    current_markdown=self.store.blob(entry.sha).decode("utf-8", "replace"),
                    conflict_markdown="",
                    reason="stale" if base else "no_base",
                )
            return [FileChange(page_file(path))] + [FileChange(f"{path}/{name}") for name, _blob in self._attachments(head, path)]

        commit = self._commit_on(build, user=user, message=self.rules.message(message) or self.messages.delete(record.title))
        self._tell(Written("delete", (path,), commit.sha, user))
        return commit

    def restore(self, path: str, revision: str, *, user: User, message: str = "") -> CommitRecord:
        """Bring a page back to how it was at ``revision``, as a new commit; nothing is rewritten."""
        path = check_path(path)
        commit_id = self.store.resolve_revision(check_revision(revision))
        old = self.wiki.history.revision(page_file(path), commit_id)
        if old is None or old.blob is None:
            raise PageNotFound(path, "the page did not exist at this revision")
        folder_then = old.path[: -len(".md")]
        old_blob = old.blob

        def build(head: str | None) -> list[FileChange]:
            changes = [FileChange(page_file(path), blob=old_blob)]
            current = self.store.lookup(head, page_file(path))
            if current is None:  # deleted since: its attachments come back too
                present = {name for name, _ in self._attachments(head, path)}
                changes += [
                    FileChange(f"{path}/{name}", blob=blob)
                    for name, blob in self._attachments(commit_id, folder_then)
                    if name not in present and name != DISCUSSION_NAME
                ]
                if DISCUSSION_NAME not in present:  # its discussion as it was last, not as it was then
                    changes += [FileChange(discussion_file(path), blob=blob) for blob in self._last_discussion(path)]
            elif current.sha == old_blob:
                raise NothingToRestore(path, commit_id)
            return changes

        title = _title_of(self.store.blob(old_blob).decode("utf-8", "replace"), path)
        message = self.rules.message(message) or self.messages.restore(title, commit_id)
        commit = self._commit_on(build, user=user, message=message)
        self._tell(Written("restore", (path,), commit.sha, user))
        return commit

    # -- attachments ---------------------------------------------------------

    def upload(self, page: str, filename: str, data: bytes, *, user: User) -> tuple[str, Attached]:
        """Attach a file sent from a browser, named after its file name (``Statuts V2.ODT`` → ``statuts-v2.odt``)."""
        name = attachment_name(filename)
        return name, self.attach(page, name, data, user=user)

    def attach(self, page: str, name: str, data: bytes, *, user: User, message: str = "") -> Attached:
        """Attach (or replace) a document in a page's folder; nothing is committed when it is already there, identical."""
        page = check_path(page)
        path = check_path(f"{page}/{name}")
        self.rules.attachment(path, data)
        existing = self.store.lookup(self.store.head(), path)
        if existing is not None and existing.sha == object_id(b"blob", data):
            last = self.wiki.history.revision(path, self.store.head() or "")
            return Attached(None, False, last.revision if last else self.store.head())
        record = self.wiki.catalog.page(page)

        def build(head: str | None) -> list[FileChange]:
            if head is None or not self.store.page_exists(page, head):
                raise PageNotFound(page)
            return [FileChange(path, data=data)]

        title = record.title if record else page
        message = self.rules.message(message) or self.messages.attach(name, title, created=existing is None)
        commit = self._commit_on(build, user=user, message=message)
        self._tell(Written("attach", (path,), commit.sha, user))
        return Attached(commit, existing is None, commit.sha)

    def remove_attachment(self, page: str, name: str, *, user: User, message: str = "") -> CommitRecord:
        """Remove a page's document; it stays in the history.

        Any name already stored may be removed, even one today's naming rule
        would refuse for a new file (an imported ``con.pdf``).
        """
        page = check_path(page)
        if not name or "/" in name:
            raise PageNotFound(f"{page}/{name}")
        path = check_path(f"{page}/{name}")

        def build(head: str | None) -> list[FileChange]:
            entry = self.store.lookup(head, path)
            if entry is None or not entry.is_blob or path.endswith(".md") or name == DISCUSSION_NAME:
                raise PageNotFound(path)
            return [FileChange(path)]

        record = self.wiki.catalog.page(page)
        title = record.title if record else page
        commit = self._commit_on(build, user=user, message=self.rules.message(message) or self.messages.remove_file(name, title))
        self._tell(Written("remove_file", (path,), commit.sha, user))
        return commit

    def restore_attachment(self, page: str, name: str, *, user: User, message: str = "") -> CommitRecord:
        """Bring back a document removed from a page, as it was when it was removed; a new commit."""
        page = check_path(page)
        if not name or "/" in name:
            raise PageNotFound(f"{page}/{name}")
        path = check_path(f"{page}/{name}")
        removed = next((item for item in self.wiki.history.removed_files(page, limit=1000) if item.name == name), None)
        if removed is None:
            raise PageNotFound(path)

        def build(head: str | None) -> list[FileChange]:
            if head is None or not self.store.page_exists(page, head):
                raise PageNotFound(page)
            if self.store.lookup(head, path) is not None:
                raise PageExists(path)
            return [FileChange(path, blob=removed.blob)]

        record = self.wiki.catalog.page(page)
        title = record.title if record else page
        commit = self._commit_on(build, user=user, message=self.rules.message(message) or self.messages.restore_file(name, title))
        self._tell(Written("attach", (path,), commit.sha, user))
        return commit

    # -- discussions (``wiki.app.discussions``) -----------------------------------

    def post_message(self, page: str, markdown: str, *, user: User, reply_to: int | None = None) -> Posted:
        """Add a message to a page's discussion (any account may): one commit appending it to the file."""
        page = check_path(page)
        record = self.wiki.existing_page(page)
        limits = self.wiki.settings["limits"]
        posted: list[Posted] = []

        def build(head: str | None) -> list[FileChange]:
            if head is None or not self.store.page_exists(page, head):
                raise PageNotFound(page)
            text, message = append(
                self._discussion_text(head, page), author=user.display_name, markdown=markdown, reply_to=reply_to, limits=limits
            )
            posted[:] = [Posted(message, "")]
            return [FileChange(discussion_file(page), data=text.encode("utf-8"))]

        excerpt = " ".join(markdown.split())
        message = self.rules.message(self.messages.discuss(record.title, excerpt if len(excerpt) <= 80 else excerpt[:79] + "…"))
        commit = self._commit_on(build, user=user, message=message)
        self._tell(Written("discuss", (page,), commit.sha, user))
        return Posted(posted[0].message, commit.sha)

    def hide_message(self, page: str, number: int, *, user: User, hidden: bool = True) -> Posted:
        """Hide a message of a page's discussion (or show it again); it stays in the file and its history.

        Nothing is committed when the message already is as asked (``revision`` is then empty).
        """
        page = check_path(page)
        record = self.wiki.existing_page(page)
        changed: list[Posted] = []

        def build(head: str | None) -> list[FileChange]:
            before = self._discussion_text(head, page)
            text, message = set_hidden(before, number, hidden)
            changed[:] = [Posted(message, "")]
            return [] if text == before else [FileChange(discussion_file(page), data=text.encode("utf-8"))]

        if not build(self.store.head()):
            return changed[0]
        commit = self._commit_on(build, user=user, message=self.messages.hide_message(number, record.title, hidden=hidden))
        self._tell(Written("hide_message", (page,), commit.sha, user))
        return Posted(changed[0].message, commit.sha)

    def _discussion_text(self, head: str | None, page: str) -> str:
        entry = self.store.lookup(head, discussion_file(page))
        return self.store.blob(entry.sha).decode("utf-8", "replace") if entry is not None and entry.is_blob else ""

    def _last_discussion(self, page: str) -> list[str]:
        """The blob of a deleted page's discussion as it was when it went (none when it had none)."""
        removed = self.wiki.history.removed_files(page, limit=1000)
        return [item.blob for item in removed if item.name == DISCUSSION_NAME][:1]

    # -- pushes ----------------------------------------------------------------

    def pushed(self, user: User | None) -> SyncReport | None:
        """After ``git push`` landed (checked by the hook with the same rules): catch up and tell the listeners."""
        report = self.wiki.sync()
        if report is not None and report.moved:
            self._tell(Written("push", tuple(sorted(report.changed)), report.new_head, user))
        return report

    # -- the machinery ---------------------------------------------------------

    def _attachments(self, head: str | None, folder: str) -> list[tuple[str, str]]:
        """(file name, blob) of the files directly in a page's folder (its attachments)."""
        entry = self.store.lookup(head, folder)
        if entry is None or not entry.is_tree:
            return []
        return [
            (name.decode("utf-8", "surrogateescape"), item.sha)
            for name, item in sorted(self.store.tree(entry.sha).items())
            if item.is_blob and not name.endswith(b".md")
        ]

    def _files_under(self, head: str | None, folder: str) -> list[tuple[str, str]]:
        """(path inside the folder, blob) of every file under ``folder``, at any depth."""
        entry = self.store.lookup(head, folder)
        if entry is None or not entry.is_tree:
            return []
        found: list[tuple[str, str]] = []
        waiting = [("", entry.sha)]
        while waiting:
            prefix, tree = waiting.pop()
            for raw, item in sorted(self.store.tree(tree).items()):
                name = prefix + raw.decode("utf-8", "surrogateescape")
                if item.is_tree:
                    waiting.append((name + "/", item.sha))
                elif item.is_blob:
                    found.append((name, item.sha))
        return sorted(found)

    def _commit_on(self, build: Callable[[str | None], list[FileChange]], *, user: User, message: str) -> CommitRecord:
        """Commit changes computed from ``main`` as it is, again if it moved meanwhile; then catch up."""
        for _attempt in range(COMMIT_ATTEMPTS):
            head = self.store.head()
            changes = build(head)
            try:
                record = self.store.commit(changes, author=self.wiki.identity(user), message=message, expected_head=head)
            except Conflict:
                continue
            self.wiki.sync([record])
            return record
        raise RepositoryBusy("main kept moving")

    def _template_text(self, name: str) -> str | None:
        """A template's text on ``main``, for checking a fiche's fields; None when there is no such template."""
        entry = self.store.lookup(self.store.head(), f"{TEMPLATES_FOLDER}/{name}.md")
        return self.store.blob(entry.sha).decode("utf-8", "replace") if entry is not None and entry.is_blob else None

    def _pending_changes(self, path: str, user: User) -> list[FileChange] | None:
        """The documents ``user`` added before the page's first save, checked like any attachment.

        They exist only for a page that did not exist when they were added; if
        somebody created it meanwhile, they go with the author's save after the
        conflict is resolved (an identical name is replaced, its old version kept
        in the history).
        """
        if self.pending is None:
            return None
        changes = []
        for name, data in self.pending.pending_files(user.id, path):
            file_path = check_path(f"{path}/{name}")
            self.rules.attachment(file_path, data)
            changes.append(FileChange(file_path, data=data))
        return changes or None

    def _tell(self, event: Written) -> None:
        """Hand a committed write to the listeners; one failing never undoes or fails the write."""
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - the change is committed: a listener's trouble is only logged
                log.exception("a listener failed after %s of %s", event.action, ", ".join(event.paths))


def _title_of(markdown: str, path: str) -> str:
    parsed = parse_page(markdown)
    return page_title(parsed.meta, parsed.body, path)
