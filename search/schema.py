"""The index's schema and the documents that fill it.

Text fields are analysed by the single-pass tokenizers of ``analysis``; the
readable title and text are stored separately for display and highlighting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from .analysis import EnglishTokenizer, FrenchTokenizer

META_PATH = "\x00meta"  # one document records the commit the index reflects
TITLE_BOOST = 2.5


def build_schema() -> Schema:
    return Schema(
        path=ID(stored=True, unique=True),
        kind=ID(stored=True),  # page, file or meta
        page=ID(stored=True),  # for a file: the page it is attached to
        folder=ID(stored=True),  # top-level folder, for facets
        folders=KEYWORD(),  # every enclosing folder, for path: filters
        # Positions let phrases be checked (see ``docsets``); English fields only rank.
        # Field boosts are applied when ranking (``index.BOOSTS``), not stored in the postings.
        title=TEXT(analyzer=FrenchTokenizer(), phrase=True),
        body=TEXT(analyzer=FrenchTokenizer(), phrase=True),
        title_en=TEXT(analyzer=EnglishTokenizer(), phrase=False),
        body_en=TEXT(analyzer=EnglishTokenizer(), phrase=False),
        tags=KEYWORD(commas=True, lowercase=True, stored=True, scorable=True),
        licence=ID(stored=True),
        updated=NUMERIC(stored=True, sortable=True, bits=64),
        title_text=STORED(),
        text=STORED(),
        commit=STORED(),
    )


@dataclass(frozen=True)
class Document:
    """What the index knows of a page or an attached file."""

    path: str
    title: str
    text: str
    kind: str = "page"
    page: str = ""
    tags: list[str] = field(default_factory=list)
    licence: str = ""
    updated: int = 0
    language: str = "fr"

    def fields(self) -> dict[str, str | int]:
        body = self.text + ("\n" + " ".join(self.tags) if self.tags else "")
        fields: dict[str, str | int] = {
            "path": self.path,
            "kind": self.kind,
            "page": self.page or self.path,
            "folder": self.path.split("/", 1)[0] if "/" in self.path else "",
            "folders": " ".join(self._folders()),
            "title": self.title,
            "body": body,
            "tags": ",".join(tag.replace(",", " ") for tag in self.tags),
            "licence": self.licence,
            "updated": int(self.updated),
            "title_text": self.title,
            "text": self.text,
        }
        if self.language == "en":
            fields["title_en"] = self.title
            fields["body_en"] = body
        return fields

    def _folders(self) -> list[str]:
        parts = self.path.split("/")[:-1]
        # Spaces separate keywords; a folder name containing one is kept whole with a NUL.
        return ["/".join(parts[: n + 1]).replace(" ", "\x00") for n in range(len(parts))]
