"""``trousse check``: is everything in step? Each problem is one line for a person to act on, in the chosen language."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from repo_store import PageStore
from repo_store.catalog import Catalog
from repo_store.gitcmd import GitError, run_git
from search import IndexBusy, IndexUnavailable, SearchIndex

from ..accounts.store import Accounts
from ..app.config import load_settings
from ..app.content_rules import Problem, page_problems
from ..app.datadir import DataDir
from ..app.discussions import check_discussion, discussion_page_of
from ..app.errors import DomainError
from .language import _, gettext, ngettext

if TYPE_CHECKING:
    from ..app.service import Wiki


def run_checks(data: DataDir) -> list[str]:
    problems: list[str] = []
    try:
        run_git(data.repository, "fsck", "--full", "--no-dangling", "--no-progress")
    except GitError as error:
        problems.append(_("git fsck reports errors in %(place)s: %(error)s", place=data.repository, error=error))
    with PageStore(data.repository) as store:
        head = store.head()
        if head is None:
            problems.append(_("The branch main does not exist."))
        else:
            try:
                store.commit_info(head)
            except Exception:  # noqa: BLE001 - any failure here means a broken main
                problems.append(_("main points at %(head)s, which is not a readable commit.", head=head))
        catalog = Catalog(data.catalog, store)
        index = SearchIndex(data.search_index)
        try:
            indexed = catalog.indexed_head()
            if indexed != head:
                problems.append(
                    _(
                        "The history catalog reflects %(indexed)s but main is at %(head)s;"
                        " run `trousse reindex` (or start the server, which catches up).",
                        indexed=indexed or _("nothing"),
                        head=head,
                    )
                )
            problems += _search_drift(index, catalog, head)
        finally:
            index.close()
            catalog.close()
    problems += _skipped_content(data)
    accounts = Accounts(data.database)
    try:
        for problem in accounts.integrity_problems():
            problems.append(_("The account database is damaged: %(problem)s", problem=problem))
    finally:
        accounts.close()
    return problems


def _search_drift(index: SearchIndex, catalog: Catalog, head: str | None) -> list[str]:
    try:
        if not index.verify():
            return [
                _("The search index is missing or damaged (its files changed since they were written); run `trousse reindex`.")
            ]
        searched = index.indexed_commit()
        if searched != head:
            return [
                _(
                    "The search index reflects %(indexed)s but main is at %(head)s; run `trousse reindex`.",
                    indexed=searched or _("nothing"),
                    head=head,
                )
            ]
        indexed = {path for path, kind in index.document_paths().items() if kind == "page"}
    except IndexUnavailable:
        return [_("The search index is damaged and cannot be read; run `trousse reindex`.")]
    except IndexBusy:
        return [_("The search index is locked by a long update; run `trousse check` again in a minute.")]
    pages = {record.path for record in catalog.pages(templates=False)}  # templates are never searched
    problems = []
    missing, extra = sorted(pages - indexed), sorted(indexed - pages)
    if missing:
        problems.append(
            ngettext(
                "%(num)d page is missing from the search index (%(example)s); run `trousse reindex`.",
                "%(num)d pages are missing from the search index (e.g. %(example)s); run `trousse reindex`.",
                len(missing),
                example=missing[0],
            )
        )
    if extra:
        problems.append(
            ngettext(
                "The search index lists %(num)d page that no longer exists (%(example)s); run `trousse reindex`.",
                "The search index lists %(num)d pages that no longer exist (e.g. %(example)s); run `trousse reindex`.",
                len(extra),
                example=extra[0],
            )
        )
    return problems


# What front matter alone gets wrong is the editor's business, not a limit: imported pages keep it.
_FRONT_MATTER_CODES = {"front_matter", "bad_title", "bad_tags", "unknown_licence"}


def _skipped_content(data: DataDir) -> list[str]:
    """Attached files whose text could not be read, and pages over the configured limits.

    Both are kept and served (a file is found by its name, an oversized page
    is shown in a reduced form), so the wiki works; the administrator is told
    which ones, since nobody else will notice.
    """
    from ..app.service import Wiki

    wiki = Wiki(data, load_settings(data.root))
    try:
        problems = [
            _(
                "The text of %(path)s could not be read (%(reason)s): the file is kept but not searchable by its text;"
                " replace it with a smaller or repaired copy, or raise [limits] in config.toml.",
                path=path,
                reason=reason,
            )
            for path, reason in getattr(wiki.search_updater, "unreadable_files", list)()
        ]
        options = _page_limits(wiki.settings["limits"])
        for record in wiki.catalog.pages():
            markdown = wiki.store.blob(record.blob).decode("utf-8", "replace")
            over = [problem for problem in page_problems(markdown, **options) if problem.code not in _FRONT_MATTER_CODES]
            if over:
                problems.append(
                    _(
                        "The page %(path)s breaks the configured limits (%(problems)s); it is shown in a reduced form:"
                        " split or simplify it, or raise [limits] in config.toml.",
                        path=record.path,
                        problems=_sentences(over),
                    )
                )
        problems += _broken_discussions(wiki)
        return problems
    finally:
        wiki.close()


def _broken_discussions(wiki: Wiki) -> list[str]:
    """Discussion files that do not follow their format (imported that way): shown as far as they can be read."""
    problems = []
    for path, blob, _size in wiki.catalog.files():
        if discussion_page_of(path) is None:
            continue
        try:
            check_discussion(wiki.store.blob(blob), wiki.settings["limits"])
        except DomainError as refused:
            problems.append(
                _(
                    "The discussion %(path)s does not follow its format (%(problem)s); it is shown as far as it can be read:"
                    " correct the file (see CONTRIBUTING.md) and push it again.",
                    path=path,
                    problem=refused.describe(gettext),
                )
            )
    return problems


def _page_limits(limits: dict[str, Any]) -> dict[str, Any]:
    """The configured limits, as the keywords ``page_problems`` checks: the same rules as a save, no stricter."""
    return {
        "max_bytes": limits["max_page_bytes"],
        "max_nesting": limits["max_nesting"],
        "max_table_cells": limits["max_table_cells"],
    }


def _sentences(problems: list[Problem]) -> str:
    return " ".join(problem.describe(gettext) for problem in problems)
