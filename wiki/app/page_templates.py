"""Templates for new pages, kept in the repository under ``_templates/`` and edited like any page.

A template's front matter lists the fields of a kind of page (a lease fiche,
a place…) with comments for the person filling it in; a new page starts from
that text, with its title set and the template's own ``modele`` label removed,
so the fields become the new page's front matter, comments and all.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from repo_store.catalog import Catalog
from repo_store.pages import split_front_matter
from repo_store.paths import TEMPLATES_FOLDER

_LABEL_LINE = re.compile(r"^modele\s*:.*$\n?", re.MULTILINE)
_HEADING = re.compile(r"^ {0,3}#(?!#)[ \t]+.*$", re.MULTILINE)


@dataclass(frozen=True)
class PageTemplate:
    name: str  # the file name without .md, e.g. fiche-loyer
    label: str


def templates(catalog: Catalog) -> list[PageTemplate]:
    """The templates of this wiki, labelled by their ``modele`` field (or title)."""
    found = []
    for record in catalog.pages(TEMPLATES_FOLDER):
        label = record.meta.get("modele") if isinstance(record.meta.get("modele"), str) else record.title
        found.append(PageTemplate(record.path.split("/", 1)[1], str(label)))
    return sorted(found, key=lambda template: template.label.casefold())


def instantiate(template: str, title: str) -> str:
    """The Markdown of a new page titled ``title`` made from a template's text."""
    front, body, _ = split_front_matter(template)
    heading = f"# {title}"
    body = _HEADING.sub(lambda _match: heading, body, count=1) if _HEADING.search(body) else f"{heading}\n\n{body}"
    if front is None:
        return f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\n---\n\n{body.lstrip()}"
    fields = _LABEL_LINE.sub("", front)
    return f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\n{fields}---\n\n{body.lstrip()}"
