"""The search page: results with highlighted extracts, facets and suggestions, without JavaScript."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..app.errors import SearchUnavailable
from ..app.navigation import humanise
from ..app.page_templates import field_labels
from .auth import wiki
from .forms import page_number

blueprint = Blueprint("search", __name__)

PAGE_SIZE = 20
MAX_PAGE = 500


def field_label(name: str, labels: Mapping[str, str]) -> str:
    """A fiche field's heading: its template's label (« Propriétaire »), else its key made readable."""
    if name == "modele":
        return _("Type of page")
    return labels.get(name) or humanise(name)


def field_filter(name: str, value: str) -> str:
    """The ``field:"value"`` words that narrow a search to one value of a fiche field."""
    return f'{name}:"{value.replace(chr(34), " ")}"'


@blueprint.route("/search")
def results() -> ResponseReturnValue:
    query = request.args.get("q", "")[:1000]
    order = "date" if request.args.get("order") == "date" else "relevance"
    page = page_number(MAX_PAGE)
    # ``typed=1``: the words as typed, no spelling correction (the link under an applied correction).
    typed = 1 if request.args.get("typed") == "1" else None
    found = None
    if query.strip():
        try:
            found = wiki().search_pages(
                query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, order=order, facets=True, suggest=not typed
            )
        except SearchUnavailable as unavailable:
            return (
                render_template(
                    "search.html",
                    query=query,
                    order=order,
                    page=page,
                    pages=0,
                    found=None,
                    search_query=query,
                    unavailable=unavailable.describe(_),
                ),
                unavailable.status,
                dict(unavailable.headers()),
            )
    pages = -(-found.total // PAGE_SIZE) if found else 0
    return render_template(
        "search.html",
        query=query,
        order=order,
        page=page,
        pages=pages,
        found=found,
        search_query=query,
        field_label=field_label,
        field_labels=field_labels(wiki().catalog) if found is not None and found.field_facets else {},
        field_filter=field_filter,
        typed=typed,
    )
