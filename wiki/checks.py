"""``trousse check``: is everything in step? Each problem is one line for a person to act on."""

from __future__ import annotations

from repo_store import PageStore
from repo_store.catalog import Catalog
from repo_store.gitcmd import GitError, run_git
from search import IndexBusy, IndexUnavailable, SearchIndex

from .accounts import Accounts
from .datadir import DataDir


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
            return ["the search index is missing or damaged (its files changed since they were written); "
                    "run `trousse reindex`"]
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
        problems.append(f"the search index lists {len(extra)} pages that no longer exist (e.g. {extra[0]}); "
                        "run `trousse reindex`")
    return problems
