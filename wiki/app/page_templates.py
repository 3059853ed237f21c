"""Templates for new pages, kept in the repository under ``_templates/`` and edited like any page.

A template's front matter declares a kind of page (a lease fiche, a place…):
its label (``modele``), the folder its pages go to (``dossier``) and its
fields (``champs``, see ``wiki.app.fiches``). A new page starts from the
template's text with its title set, ``modele`` naming the template it was
made from, the template's own declaration left out, an empty key for each
declared field, and the template's other keys and comments as they are.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass

import cachetools

from repo_store.catalog import Catalog
from repo_store.pages import split_front_matter
from repo_store.paths import TEMPLATES_FOLDER

from .fiches import TEMPLATE_KEY, Declaration, declaration, declaration_from_text, dump_key, field_keys, without_declaration

_HEADING = re.compile(r"^ {0,3}#(?!#)[ \t]+.*$", re.MULTILINE)


@dataclass(frozen=True)
class PageTemplate:
    name: str  # the file name without .md, e.g. fiche-loyer
    label: str
    folder: str | None = None  # where its pages go (``dossier``), if it says


# Declarations by (catalog file, commit it reflects): a search page, a collection and the map read them
# on each request, and they change only with a commit.
_declared: cachetools.LRUCache[tuple[str, str | None], tuple[Declaration, ...]] = cachetools.LRUCache(maxsize=8)
_declared_lock = threading.Lock()


def template_declarations(catalog: Catalog) -> list[Declaration]:
    """Every template's declaration, sorted by label; templates without ``champs`` have no fields."""
    key = (str(catalog.db_path), catalog.indexed_head())
    with _declared_lock:
        kept = _declared.get(key)
    if kept is None:
        found = (
            declaration(record.path.split("/", 1)[1], record.meta, record.title) for record in catalog.pages(TEMPLATES_FOLDER)
        )
        kept = tuple(sorted(found, key=lambda template: template.label.casefold()))
        with _declared_lock:
            _declared[key] = kept
    return list(kept)


def field_labels(catalog: Catalog) -> dict[str, str]:
    """Each fiche field's label as its templates declare it (the first template to name a field wins)."""
    labels: dict[str, str] = {}
    for declared in template_declarations(catalog):
        for field in declared.fields:
            labels.setdefault(field.name, field.label)
    return labels


def template_declaration(catalog: Catalog, name: str) -> Declaration | None:
    """The declaration of the template called ``name`` in the catalog, or None when there is none."""
    record = catalog.page(f"{TEMPLATES_FOLDER}/{name}")
    return declaration(name, record.meta, record.title) if record is not None else None


def templates(catalog: Catalog) -> list[PageTemplate]:
    """The templates of this wiki, labelled by their ``modele`` field (or title), with their folder."""
    return [PageTemplate(found.name, found.label, found.folder) for found in template_declarations(catalog)]


def instantiate(template: str, title: str, name: str | None = None) -> str:
    """The Markdown of a new page titled ``title`` made from a template's text (the template called ``name``)."""
    front, body, _ = split_front_matter(template)
    heading = f"# {title}"
    body = _HEADING.sub(lambda _match: heading, body, count=1) if _HEADING.search(body) else f"{heading}\n\n{body}"
    head = f"title: {json.dumps(title, ensure_ascii=False)}\n"
    if name:
        head += dump_key(TEMPLATE_KEY, name)
    if front is None:
        return f"---\n{head}---\n\n{body.lstrip()}"
    kept = without_declaration(front)
    found = declaration_from_text(name or "", template)
    fields = field_keys(found, kept) if found is not None else ""
    return f"---\n{head}{kept}{fields}---\n\n{body.lstrip()}"
