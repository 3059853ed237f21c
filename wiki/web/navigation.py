"""Finding one's way: tags, orphan pages and wanted pages."""

from __future__ import annotations

from collections import Counter

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from ..app.errors import PageNotFound
from .auth import settings, wiki

blueprint = Blueprint("navigation", __name__)


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
