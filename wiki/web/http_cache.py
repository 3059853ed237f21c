"""Validators for the HTML of pages, so browsers and proxies revalidate with a 304.

A page's HTML shows more than its own text: backlinks and wanted links depend
on other pages, the header on who is reading and in which language, all of it
on the templates and settings of this release. So the validator is the
repository's head (any commit may change the page) with the reader, the
language and the build mixed in; a revalidation after nothing changed costs a
hash, not a render. Pages are never stored as fresh: every view asks again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, Response, current_app, request, session
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf

from ..app.errors import StoreError
from .auth import user, wiki

_VARY = ("Cookie", "Accept-Language")


@dataclass(frozen=True)
class Validators:
    etag: str
    last_modified: datetime | None
    private: bool

    def not_modified(self) -> Response | None:
        """A 304 when the browser's copy is still the one it would get now.

        Only the ETag decides. ``Last-Modified`` is the head commit's date,
        which a push may set to any time in the past, and a date says nothing
        of the reader or the language, so ``If-Modified-Since`` is not trusted
        (RFC 9110 lets a server ignore it).
        """
        if request.if_none_match and request.if_none_match.contains_weak(self.etag):
            return self.apply(Response(status=304))
        return None

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
    if who is not None:
        generate_csrf()  # the forms on the page carry this session's token: make sure it exists before hashing it
        reader = "\0".join((who.get_id(), who.role, who.display_name, session.get("csrf_token", "")))
    else:
        reader = "-"
    parts = "\0".join(
        (current_app.config["TROUSSE_BUILD"], head, path, request.query_string.decode("latin-1"), str(get_locale()), reader)
    )
    etag = hashlib.blake2b(parts.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    try:
        when = wiki().store.commit_info(head).author_time
    except StoreError:  # a commit that cannot be read gives no date; the ETag still works
        last_modified = None
    else:
        last_modified = datetime.fromtimestamp(when, UTC)
    return Validators(etag, last_modified, private=who is not None)


def build_id(app: Flask, settings: dict) -> str:
    """What the HTML depends on besides the wiki: code version, templates, static files, catalogues, settings.

    Computed once at start-up, so an upgrade or a changed ``config.toml``
    never gets a 304 for a page rendered by the previous one.
    """
    digest = hashlib.blake2b(digest_size=8)
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    package = Path(__file__).parent.parent
    folders = [Path(app.template_folder or ""), Path(app.static_folder or ""), package / "translations"]
    for folder in folders:
        for file in sorted(folder.rglob("*")):
            if file.is_file() and file.suffix in (".html", ".css", ".js", ".mo", ".svg"):
                digest.update(str(file.relative_to(folder)).encode())
                digest.update(file.read_bytes())
    for module in sorted(package.rglob("*.py")):
        digest.update(str(module.stat().st_mtime_ns).encode())
    return digest.hexdigest()
