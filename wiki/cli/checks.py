"""``trousse check``: is everything in step? Each problem is one line for a person to act on."""

from __future__ import annotations

from typing import Any

from repo_store import PageStore
from repo_store.catalog import Catalog
from repo_store.gitcmd import GitError, run_git
from search import IndexBusy, IndexUnavailable, SearchIndex

from ..accounts.store import Accounts
from ..app.config import load_settings
from ..app.content_rules import Problem, page_problems
from ..app.datadir import DataDir


def run_checks(data: DataDir) -> list[str]:
    problems: list[str] = []
    try:
        run_git(data.repository, "fsck", "--full", "--no-dangling", "--no-progress")
    except GitError as error:
        problems.append(f"git fsck reports errors in {data.repository}: {error}")
    with PageStore(data.repository) as store:
        head = store.head()
        if head is None:
            problems.append("the branch main does not exist")
        else:
            try:
                store.commit_info(head)
            except Exception:  # noqa: BLE001 - any failure here means a broken main
                problems.append(f"main points at {head}, which is not a readable commit")
        catalog = Catalog(data.catalog, store)
        index = SearchIndex(data.search_index)
        try:
            indexed = catalog.indexed_head()
            if indexed != head:
                problems.append(
                    f"the history catalog reflects {indexed or 'nothing'} but main is at {head}; "
                    "run `trousse reindex` (or start the server, which catches up)"
                )
            problems += _search_drift(index, catalog, head)
        finally:
            index.close()
            catalog.close()
    problems += _skipped_content(data)
    accounts = Accounts(data.database)
    try:
        for problem in accounts.integrity_problems():
            problems.append(f"the account database is damaged: {problem}")
    finally:
        accounts.close()
    return problems


def _search_drift(index: SearchIndex, catalog: Catalog, head: str | None) -> list[str]:
    try:
        if not index.verify():
            return ["the search index is missing or damaged (its files changed since they were written); run `trousse reindex`"]
        searched = index.indexed_commit()
        if searched != head:
            return [f"the search index reflects {searched or 'nothing'} but main is at {head}; run `trousse reindex`"]
        indexed = {path for path, kind in index.document_paths().items() if kind == "page"}
    except IndexUnavailable:
        return ["the search index is damaged and cannot be read; run `trousse reindex`"]
    except IndexBusy:
        return ["the search index is locked by a long update; run `trousse check` again in a minute"]
    pages = {record.path for record in catalog.pages(templates=False)}  # templates are never searched
    problems = []
    missing, extra = sorted(pages - indexed), sorted(indexed - pages)
    if missing:
        problems.append(f"{len(missing)} pages are missing from the search index (e.g. {missing[0]}); run `trousse reindex`")
    if extra:
        problems.append(
            f"the search index lists {len(extra)} pages that no longer exist (e.g. {extra[0]}); run `trousse reindex`"
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
            f"the text of {path} could not be read ({reason}): the file is kept but not searchable by its text; "
            "replace it with a smaller or repaired copy, or raise [limits] in config.toml"
            for path, reason in getattr(wiki.search_updater, "unreadable_files", list)()
        ]
        options = _page_limits(wiki.settings["limits"])
        for record in wiki.catalog.pages():
            markdown = wiki.store.blob(record.blob).decode("utf-8", "replace")
            over = [problem for problem in page_problems(markdown, **options) if problem.code not in _FRONT_MATTER_CODES]
            if over:
                problems.append(
                    f"the page {record.path} breaks the configured limits ({_sentences(over)}); "
                    "it is shown in a reduced form: split or simplify it, or raise [limits] in config.toml"
                )
        return problems
    finally:
        wiki.close()


def _page_limits(limits: dict[str, Any]) -> dict[str, Any]:
    """The configured limits, as the keywords ``page_problems`` checks: the same rules as a save, no stricter."""
    return {
        "max_bytes": limits["max_page_bytes"],
        "max_nesting": limits["max_nesting"],
        "max_table_cells": limits["max_table_cells"],
    }


def _sentences(problems: list[Problem]) -> str:
    def english(text: str, **values: object) -> str:
        return text % values if values else text

    return " ".join(problem.describe(english) for problem in problems)
