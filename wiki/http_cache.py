"""Validators for the HTML of pages, so browsers and proxies revalidate with a 304.

A page's HTML shows more than its own text: backlinks and wanted links depend
on other pages, the header on who is reading and in which language. So the
validator is the repository's head (any commit may change the page), with the
reader and the language mixed in; a revalidation after nothing changed costs a
hash, not a render. Pages are never stored as fresh: every view asks again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Response, request, session
from flask_babel import get_locale

from repo_store import StoreError

from .auth import user, wiki

_VARY = ("Cookie", "Accept-Language")


@dataclass(frozen=True)
class Validators:
    etag: str
    last_modified: datetime | None
    private: bool

    def not_modified(self) -> Response | None:
        """A 304 when the browser's copy is still the one it would get now."""
        if request.if_none_match:
            fresh = request.if_none_match.contains_weak(self.etag)
        elif request.if_modified_since and self.last_modified:
            fresh = self.last_modified <= request.if_modified_since
        else:
            fresh = False
        return self.apply(Response(status=304)) if fresh else None

    def apply(self, response: Response) -> Response:
        response.set_etag(self.etag, weak=True)
        if self.last_modified is not None:
            response.last_modified = self.last_modified
        response.cache_control.no_cache = True
        if self.private:
            response.cache_control.private = True
        else:
            response.cache_control.public = True
        response.vary.update(_VARY)
        return response


def page_validators(path: str) -> Validators | None:
    """The validators of the page at ``path`` for this reader, or None when the answer must be fresh.

    A pending flash message is shown once and then gone, so such a response is
    never revalidated.
    """
    if session.get("_flashes"):
        return None
    head = wiki().synced_head
    if head is None:
        return None
    who = user()
    reader = f"{who.get_id()}:{who.role}:{session.get('csrf_token', '')}" if who else "-"
    parts = "\0".join((head, path, request.query_string.decode("latin-1"), str(get_locale()), reader))
    etag = hashlib.blake2b(parts.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    try:
        when = wiki().store.commit_info(head).author_time
    except StoreError:  # a commit that cannot be read gives no date; the ETag still works
        last_modified = None
    else:
        last_modified = datetime.fromtimestamp(when, UTC)
    return Validators(etag, last_modified, private=who is not None)
