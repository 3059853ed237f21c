"""A fiche's fields in the browser: the editor's form above the text, the box above the page.

The views stay thin: they hand the text and the form to these helpers, which
find the page's template in the catalog and ask ``wiki.app.fiches`` for the
rest (reading the declaration, typing and merging values).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _

from ..app.fiches import (
    Declaration,
    FormEntry,
    check_value,
    form_entries,
    is_empty,
    merge_fields,
    page_meta,
    submitted_values,
    template_of,
)
from ..app.page_templates import template_declaration
from ..app.places import fiche_point
from .auth import wiki


@dataclass(frozen=True)
class FicheForm:
    """The editor's fiche form: the template's label and one entry per field."""

    declaration: Declaration
    entries: list[FormEntry]


@dataclass(frozen=True)
class BoxEntry:
    """One line of a page's fiche box: label, value as read, unit, and a link for addresses."""

    label: str
    text: str
    unit: str
    href: str | None = None


@dataclass(frozen=True)
class FicheBox:
    label: str
    template: str
    entries: list[BoxEntry]
    point: tuple[float, float] | None = None  # (latitude, longitude) when its template declares and it fills them


def declaration_for(path: str, meta: Mapping[str, Any]) -> Declaration | None:
    """The declaration of the template a page was made from, when it declares fields."""
    name = template_of(path, meta)
    found = template_declaration(wiki().catalog, name) if name is not None else None
    return found if found is not None and found.fields else None


def merge_form(path: str, markdown: str, form: Mapping[str, str]) -> tuple[str, dict[str, str], dict[str, str]]:
    """The editor's text with the fiche inputs the person changed, and (values sent, values first shown)."""
    found = declaration_for(path, page_meta(markdown))
    if found is None:
        return markdown, {}, {}
    submitted, initial = submitted_values(found, form)
    return merge_fields(markdown, found, submitted, initial), submitted, initial


def editor_form(
    path: str,
    markdown: str,
    submitted: Mapping[str, str] | None = None,
    initial: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> FicheForm | None:
    """The form for the editor, or None when the page is no fiche; after a refusal it shows what was sent."""
    meta = page_meta(markdown)
    found = declaration_for(path, meta)
    if found is None:
        return None
    return FicheForm(found, form_entries(found, meta, submitted=submitted or None, initial=initial or None, errors=errors))


def _shown(kind: str, value: Any) -> tuple[str, str | None]:
    """A typed value as a reader sees it, in the visitor's language, with a link for addresses."""
    if kind == "oui_non":
        return (_("yes") if value else _("no")), None
    if kind == "date":
        return format_date(dt.date.fromisoformat(value), "long"), None
    if kind == "nombre":
        return format_decimal(value), None
    if kind in ("latitude", "longitude"):
        return format_decimal(value, "#,##0.######"), None
    if kind == "url":
        return str(value), str(value)
    if kind == "email":
        return str(value), f"mailto:{value}"
    return str(value), None


def fiche_box(path: str, meta: Mapping[str, Any]) -> FicheBox | None:
    """The filled fields of a page made from a template, labelled, for the page's box; None when there are none."""
    found = declaration_for(path, meta)
    if found is None:
        return None
    entries = []
    for field in found.fields:
        raw = meta.get(field.name)
        if is_empty(raw) or (field.type == "oui_non" and raw is None):
            continue
        value, problem = check_value(field, raw)
        text, href = _shown(field.type, value) if problem is None else (str(raw), None)
        entries.append(BoxEntry(field.label, text, field.unit, href))
    return FicheBox(found.label, found.name, entries, fiche_point(found, meta)) if entries else None


def page_fields(path: str, meta: Mapping[str, Any]) -> dict[str, Any]:
    """A page's ``template`` and ``fields`` for the API: the declared fields in order, values typed."""
    name = template_of(path, meta)
    found = template_declaration(wiki().catalog, name) if name is not None else None
    fields = [
        {"name": field.name, "label": field.label, "type": field.type, "value": check_value(field, meta.get(field.name))[0]}
        for field in (found.fields if found is not None else ())
    ]
    return {"template": name, "fields": fields}
