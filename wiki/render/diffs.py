"""Differences between two versions of a page: a unified diff for machines, rows for people.

``difflib`` on the two texts takes well under a millisecond for a page, where
running ``git diff`` costs a process; changed lines are paired and compared
word by word, so a corrected typo shows as one highlighted word, not as a
whole paragraph removed and added again.

Anyone may ask for a diff, and ``difflib`` costs quadratic to cubic time on
repeated lines or words, so every comparison runs within a budget of work
(``repo_store.matching``): lines beyond it are compared more coarsely, and
changed lines beyond the words' budget are marked whole. The side-by-side view
stops after ``MAX_ROWS`` rows and says so; the unified diff is always whole.
Each degradation is logged once per pair of texts.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape
from itertools import chain

from markupsafe import Markup

from repo_store.matching import Budget, Opcode, OverBudget, common_ends, grouped, line_opcodes, matched_opcodes

_WORDS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)
CONTEXT_LINES = 3
MAX_ROWS = 2000  # rows of the side-by-side view; the unified diff has the rest
WORD_BUDGET = 1_000_000  # units of matching work for all the word comparisons of one diff

logger = logging.getLogger(__name__)


def unified(old: str, new: str, old_label: str, new_label: str) -> str:
    """A unified diff (``git diff`` style) of two texts, in time bounded by their size."""
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    codes, quality = line_opcodes(old_lines, new_lines)
    if quality != "exact":
        _log_once(
            "unified", old, new, f"unified diff of {len(old_lines)} and {len(new_lines)} lines over budget: {quality} matching"
        )
    out = io.StringIO()  # one string as it grows, not a list of a million small ones
    for group in grouped(codes, CONTEXT_LINES):
        if not out.tell():
            out.write(f"--- {old_label}\n+++ {new_label}\n")
        first, last = group[0], group[-1]
        out.write(f"@@ -{_unified_range(first[1], last[2])} +{_unified_range(first[3], last[4])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                _write_lines(out, " ", old_lines[i1:i2])
                continue
            _write_lines(out, "-", old_lines[i1:i2])
            _write_lines(out, "+", new_lines[j1:j2])
    return out.getvalue()


def _write_lines(out: io.StringIO, mark: str, lines: list[str]) -> None:
    if len(lines) == 1 and lines[0].endswith("\n"):  # the commonest case, first
        out.write(mark + lines[0])
        return
    if lines and "".join(lines).count("\n") == len(lines):  # a "\n" only ends a line: each line ends with one
        out.write(mark)  # so one join, not a loop over a million lines
        out.write(mark.join(lines))
        return
    for line in lines:
        out.write(mark)
        out.write(line)
        if not line.endswith("\n"):
            out.write("\n\\ No newline at end of file\n")


def _unified_range(start: int, stop: int) -> str:
    """A hunk's range as ``diff -u`` writes it (``difflib._format_range_unified``)."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


@dataclass(frozen=True)
class Row:
    """One line of the side-by-side view; either side may be empty."""

    kind: str  # context, changed, removed, added, gap
    old_number: int | None
    old_html: Markup
    new_number: int | None
    new_html: Markup


@dataclass(frozen=True)
class SideBySide:
    """The rows of a side-by-side diff, and what was left out to keep it cheap."""

    rows: list[Row]
    truncated: bool = False  # more than MAX_ROWS rows: the unified diff has them all
    whole_lines: bool = False  # some changed lines are marked whole, not word by word


def side_by_side(old: str, new: str, context: int = CONTEXT_LINES, max_rows: int = MAX_ROWS) -> SideBySide:
    """Side-by-side rows with the changed words of changed lines marked (<del>, <ins>), at most ``max_rows``."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    codes, quality = line_opcodes(old_lines, new_lines)
    words = Budget(WORD_BUDGET)
    result: list[Row] = []
    whole = False
    for group in grouped(codes, context):
        gap = [(Row("gap", None, Markup(""), None, Markup("")), False)] if result else []
        for row, marked_whole in chain(gap, _group_rows(group, old_lines, new_lines, words)):
            if len(result) >= max_rows:
                _log_degraded(old, new, quality, whole, truncated=True)
                return SideBySide(result, truncated=True, whole_lines=whole)
            whole = whole or marked_whole
            result.append(row)
    _log_degraded(old, new, quality, whole, truncated=False)
    return SideBySide(result, whole_lines=whole)


def _group_rows(group: list[Opcode], old_lines: list[str], new_lines: list[str], words: Budget) -> Iterator[tuple[Row, bool]]:
    """(row, marked whole) for each line of a hunk, made one at a time so a long diff stops early."""
    for tag, i1, i2, j1, j2 in group:
        if tag == "equal":
            for offset in range(i2 - i1):
                text = Markup(escape(old_lines[i1 + offset]))
                yield Row("context", i1 + offset + 1, text, j1 + offset + 1, text), False
            continue
        left, right = old_lines[i1:i2], new_lines[j1:j2]
        for index in range(max(len(left), len(right))):
            old_line = left[index] if index < len(left) else None
            new_line = right[index] if index < len(right) else None
            if old_line is not None and new_line is not None:
                try:
                    old_html, new_html = word_diff(old_line, new_line, words)
                    marked_whole = False
                except OverBudget:
                    old_html, new_html = _whole(old_line, "del"), _whole(new_line, "ins")
                    marked_whole = True
                yield Row("changed", i1 + index + 1, old_html, j1 + index + 1, new_html), marked_whole
            elif old_line is not None:
                yield Row("removed", i1 + index + 1, Markup(escape(old_line)), None, Markup("")), False
            else:
                yield Row("added", None, Markup(""), j1 + index + 1, Markup(escape(new_line or ""))), False


def _whole(line: str, tag: str) -> Markup:
    return Markup(f"<{tag}>{escape(line)}</{tag}>") if line else Markup("")


def word_diff(old: str, new: str, budget: Budget | None = None) -> tuple[Markup, Markup]:
    """The two lines as HTML, removed words in <del> and added words in <ins>.

    Raises ``OverBudget`` if comparing them would cost more than ``budget``
    (by default ``WORD_BUDGET``) has left; the caller then marks them whole.
    """
    old_words, new_words = _WORDS.findall(old), _WORDS.findall(new)
    start, end = common_ends(old_words, new_words)
    old_middle, new_middle = old_words[start : len(old_words) - end], new_words[start : len(new_words) - end]
    if old_middle and new_middle:
        middle = matched_opcodes(old_middle, new_middle, budget if budget is not None else Budget(WORD_BUDGET))
    else:  # words only added, or only removed: nothing to match
        middle = [("replace", 0, len(old_middle), 0, len(new_middle))]
    head, tail = escape("".join(old_words[:start])), escape("".join(old_words[len(old_words) - end :]))
    left, right = [head], [head]
    for tag, i1, i2, j1, j2 in middle:
        removed = escape("".join(old_words[start + i1 : start + i2]))
        added = escape("".join(new_words[start + j1 : start + j2]))
        if tag == "equal":
            left.append(removed)
            right.append(added)
            continue
        if removed:
            left.append(f"<del>{removed}</del>")
        if added:
            right.append(f"<ins>{added}</ins>")
    left.append(tail)
    right.append(tail)
    return Markup("".join(left)), Markup("".join(right))


# -- logging a degraded diff once ---------------------------------------------

_LOGGED: OrderedDict[tuple[str, int, int, int, int], None] = OrderedDict()
_LOGGED_LOCK = threading.Lock()
_LOGGED_KEEP = 256


def _log_degraded(old: str, new: str, quality: str, whole: bool, *, truncated: bool) -> None:
    if quality == "exact" and not whole and not truncated:
        return
    what = [f"lines: {quality} matching"] if quality != "exact" else []
    what += ["changed lines marked whole (word budget spent)"] if whole else []
    what += [f"cut at {MAX_ROWS} rows"] if truncated else []
    lines = f"{old.count(chr(10)) + 1} and {new.count(chr(10)) + 1} lines"
    _log_once("side by side", old, new, f"diff of {lines} degraded: {', '.join(what)}")


def _log_once(kind: str, old: str, new: str, message: str) -> None:
    """Log ``message`` unless a diff of this kind was logged for the same two texts lately: a refreshed page is not news."""
    key = (kind, len(old), hash(old), len(new), hash(new))
    with _LOGGED_LOCK:
        if key in _LOGGED:
            _LOGGED.move_to_end(key)
            return
        _LOGGED[key] = None
        if len(_LOGGED) > _LOGGED_KEEP:
            _LOGGED.popitem(last=False)
    logger.warning(message)
