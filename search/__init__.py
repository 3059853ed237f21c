"""Trousse's full-text search: a Whoosh index derived from the git repository."""

from .index import Hit, IndexBusy, IndexUnavailable, Plan, SearchIndex, SearchResults
from .schema import Document

__all__ = ["Document", "Hit", "IndexBusy", "IndexUnavailable", "Plan", "SearchIndex", "SearchResults"]
