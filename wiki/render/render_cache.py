"""Rendered pages kept in memory once per revision of their text, within a bound in characters.

Rendering is the costly part of a page view (markdown-it is pure Python), and
a page's text changes far less often than the wiki around it. A render is
kept per blob (the git id of the page's text) and page path (relative links
depend on it). The only other thing the HTML depends on is where its
wikilinks lead (to a page, to its creation, to where it moved): while the
catalog's generation (the set of pages and titles) is unchanged, so are they;
once it changes, each distinct target is resolved again (no dearer than the
render's own resolving was) and the HTML is reused unless one leads elsewhere.

The bounds count characters of HTML, not entries, so a handful of huge pages
cannot fill a worker's memory; a render larger than the whole cache is simply
not kept.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from cachetools import LRUCache

from .rendering import LinkResolver, Rendered

log = logging.getLogger(__name__)

RENDER_CACHE_CHARS = 24_000_000
PAGE_HTML_CACHE_CHARS = 16_000_000
_REASONS = {
    "too_large": "larger than the page size limit",
    "too_deep": "lists or quotes nested deeper than the limit",
    "too_many_cells": "more table cells than the limit",
    "too_costly": "too costly to render within the time budget",
}


@dataclass(slots=True)
class _Entry:
    rendered: Rendered
    generation: int  # the catalog generation its wikilinks were last known to lead the same way in


def _rendered_size(entry: _Entry) -> int:
    rendered = entry.rendered
    return 256 + len(rendered.html) + sum(64 + len(item.text) for item in rendered.toc) + 128 * len(rendered.targets)


class RenderCache:
    """Renders by (blob, path), checked against the link targets when the set of pages changed."""

    def __init__(self, max_chars: int = RENDER_CACHE_CHARS) -> None:
        self._entries: LRUCache[tuple[str, str], _Entry] = LRUCache(maxsize=max_chars, getsizeof=_rendered_size)
        self._reported: LRUCache[str, bool] = LRUCache(maxsize=4096)
        self._lock = threading.Lock()

    def get(self, blob: str, path: str, generation: int, resolve_link: LinkResolver, produce: Callable[[], Rendered]) -> Rendered:
        """The render of ``blob`` at ``path``, from memory when its links still lead where they did."""
        key = (blob, path)
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None:
            if entry.generation == generation:
                return entry.rendered
            if all(resolve_link(name) == target for name, target in entry.rendered.targets.items()):
                entry.generation = generation
                return entry.rendered
        rendered = produce()
        if rendered.degraded:
            self._report(path, blob, rendered.degraded)
        with self._lock:
            try:
                self._entries[key] = _Entry(rendered, generation)
            except ValueError:  # larger than the whole cache
                pass
        return rendered

    def __len__(self) -> int:
        return len(self._entries)

    def _report(self, path: str, blob: str, reason: str) -> None:
        """Say once per revision (and process) that a page is shown as plain text, and why."""
        with self._lock:
            if blob in self._reported:
                return
            self._reported[blob] = True
        log.warning(
            "the page %s (blob %s) is shown as plain text, not rendered: %s; "
            "split or simplify it, or raise [limits] in config.toml",
            path,
            blob,
            _REASONS.get(reason, reason),
        )


class HtmlCache:
    """A thread-safe least-recently-used cache of strings, bounded by their total length."""

    def __init__(self, max_chars: int = PAGE_HTML_CACHE_CHARS) -> None:
        self._items: LRUCache[Hashable, str] = LRUCache(maxsize=max_chars, getsizeof=len)
        self._lock = threading.Lock()

    def get_item(self, key: Hashable) -> str | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: Hashable, value: str) -> None:
        with self._lock:
            try:
                self._items[key] = value
            except ValueError:  # larger than the whole cache
                pass

    def __len__(self) -> int:
        return len(self._items)
