"""Highlighted extracts: the words that matched, in their context, as safe HTML.

The text is read lazily, word by word, and the scan stops as soon as the
extract is full, so a long page costs no more than its first matches.
"""

from __future__ import annotations

from html import escape

from .analysis import iter_tokens

SNIPPET_CHARS = 260
MAX_SCAN_CHARS = 100_000


def snippet(text: str, highlight: set[str], prefixes: list[str], length: int = SNIPPET_CHARS) -> str:
    """An HTML extract of ``text`` around its first matches, matches wrapped in ``<mark>``."""
    if not text:
        return ""
    scanned = text[:MAX_SCAN_CHARS]
    prefix_tuple = tuple(prefixes)
    spans: list[tuple[int, int]] = []
    window_end: int | None = None
    if highlight or prefixes:
        for start, end, stems, folded in iter_tokens(scanned):
            if window_end is not None and start >= window_end:
                break
            matched = any(stem in highlight for stem in stems) or (
                prefix_tuple and (folded.startswith(prefix_tuple) or any(s.startswith(prefix_tuple) for s in stems))
            )
            if matched:
                spans.append((start, end))
                if window_end is None:
                    window_end = max(0, start - length // 4) + length
    if not spans:
        return _cut(scanned, length)
    begin = _word_start(scanned, max(0, spans[0][0] - length // 4))
    finish = min(len(scanned), begin + length)
    pieces = ["…" if begin > 0 else ""]
    cursor = begin
    for start, end in spans:
        if end > finish:
            break
        pieces.append(escape(scanned[cursor:start]))
        pieces.append(f"<mark>{escape(scanned[start:end])}</mark>")
        cursor = end
    pieces.append(escape(scanned[cursor:finish]))
    if finish < len(text):
        pieces.append("…")
    return " ".join("".join(pieces).split())


def _word_start(text: str, index: int) -> int:
    while 0 < index < len(text) and text[index - 1].isalnum():
        index -= 1
    return index


def _cut(text: str, length: int) -> str:
    return " ".join(escape(text[:length]).split()) + ("…" if len(text) > length else "")
