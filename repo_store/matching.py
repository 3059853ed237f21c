"""What two sequences (a page's lines, a line's words) have in common, within a budget of work.

``difflib.SequenceMatcher`` finds the longest common block, then does the
same on each side of it. Each search walks every element of the old side
and, for each, every place the same element stands on the new side; one
search costs the sum, over the old side, of each element's occurrences in
the new side, and the number of searches grows with the number of changes.
Repeated elements (``"a\\n" * 400000``, a line of one word and double
spaces, thousands of blank lines) make that quadratic or cubic: seconds to
minutes of CPU for one anonymous request.

So the work is counted before it is done: prefix sums of those occurrences
give each search's cost at once, each search is charged to a ``Budget``
before it runs, and a budget that would be exceeded raises ``OverBudget``
instead. ``line_opcodes`` first trims the lines both texts share at their
start and end (linear, and all an ordinary edit needs), then tries difflib's
exact match; beyond its budget, it anchors the texts on the lines that stand
once in each (git's "patience" diff, O(n log n)) and matches the gaps between
anchors within a second budget; a gap beyond it is said to be replaced as a
block: coarser, never wrong.
"""

from __future__ import annotations

import difflib
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Hashable, Iterator, Sequence
from itertools import accumulate, compress, islice
from operator import lt
from typing import Literal

Tag = Literal["replace", "delete", "insert", "equal"]
Opcode = tuple[Tag, int, int, int, int]
Quality = Literal["exact", "anchored", "coarse"]  # coarse: some lines said replaced as a block

# One unit is one step of difflib's inner loop, about a tenth of a microsecond.
EXACT_BUDGET = 500_000  # difflib on all the lines between the shared start and end
GAPS_BUDGET = 1_000_000  # difflib on the gaps between anchors, all together
MATCHER_UNITS = 300  # what building a matcher costs, however small its sequences


class OverBudget(Exception):
    """The work asked for is more than the budget has left; nothing of it was done."""


class Budget:
    """Units of matching work one request may spend, shared by every comparison it makes."""

    def __init__(self, units: int) -> None:
        self.left = units

    def charge(self, units: int) -> None:
        """Spend ``units``, or raise ``OverBudget`` (spending nothing) if fewer are left."""
        self.require(units)
        self.left -= units

    def require(self, units: int) -> None:
        """Raise ``OverBudget`` unless ``units`` are left (spending nothing)."""
        if units > self.left:
            raise OverBudget(f"{units} units of work asked, {self.left} left")


class _CountedMatcher(difflib.SequenceMatcher[Hashable]):
    """A ``SequenceMatcher`` that charges each longest-match search to a budget before running it."""

    def __init__(
        self,
        a: Sequence[Hashable],
        b: Sequence[Hashable],
        budget: Budget,
        counts: tuple[Counter[Hashable], Counter[Hashable]] | None = None,
    ) -> None:
        budget.charge(MATCHER_UNITS + len(a) + len(b))  # counting, the prefix sums below, difflib's index of ``b``
        in_a, in_b = counts or (Counter(a), Counter(b))
        # Walking a[i] costs its places in b, plus the step itself. Indexing b and the first search, over
        # everything, must fit before either is done: a matcher that runs out before its second search is not
        # worth building.
        first_search = sum(count * in_b.get(item, 0) for item, count in in_a.items()) + len(a)
        budget.require(first_search + 2 * (len(a) + len(b)))
        self._walk = array("q", accumulate((in_b.get(item, 0) + 1 for item in a), initial=0))
        self._budget = budget
        self._lengths = len(a), len(b)
        super().__init__(None, a, b, autojunk=False)

    def find_longest_match(self, alo: int = 0, ahi: int | None = None, blo: int = 0, bhi: int | None = None) -> difflib.Match:
        ahi = self._lengths[0] if ahi is None else ahi
        bhi = self._lengths[1] if bhi is None else bhi
        # The walk, plus the two ranges: a generous bound on difflib's own steps around it.
        self._budget.charge(self._walk[ahi] - self._walk[alo] + (ahi - alo) + (bhi - blo))
        return super().find_longest_match(alo, ahi, blo, bhi)


def matched_opcodes(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    budget: Budget,
    counts: tuple[Counter[Hashable], Counter[Hashable]] | None = None,
) -> list[Opcode]:
    """difflib's opcodes for turning ``a`` into ``b``, or ``OverBudget`` if they cost more than ``budget`` has.

    ``counts``: each element's occurrences in ``a`` and in ``b``, if the caller has them already.
    """
    return _CountedMatcher(a, b, budget, counts).get_opcodes()


def common_ends(a: Sequence[Hashable], b: Sequence[Hashable]) -> tuple[int, int]:
    """How many elements ``a`` and ``b`` share at their start, and then at their end (never overlapping)."""
    limit = min(len(a), len(b))
    start = 0
    while start < limit and a[start] == b[start]:
        start += 1
    end = 0
    while end < limit - start and a[len(a) - 1 - end] == b[len(b) - 1 - end]:
        end += 1
    return start, end


def line_opcodes(
    a: Sequence[Hashable], b: Sequence[Hashable], *, exact: Budget | None = None, gaps: Budget | None = None
) -> tuple[list[Opcode], Quality]:
    """Opcodes turning ``a`` into ``b`` in bounded time, and how they were found.

    ``exact``: difflib's own answer (on what lies between the shared start
    and end). ``anchored``: matched between the lines found once in each.
    ``coarse``: some stretch between anchors was over budget and is said
    replaced as a whole. The two attempts spend ``exact`` and ``gaps``
    (fresh budgets of ``EXACT_BUDGET`` and ``GAPS_BUDGET`` units unless
    given: a blame shares them over every revision it compares).
    """
    start, end = common_ends(a, b)
    middle_a, middle_b = a[start : len(a) - end], b[start : len(b) - end]
    quality: Quality = "exact"
    if not middle_a or not middle_b:  # lines only added or only removed (a page's first version): nothing to match
        middle = _replaced_at(0, len(middle_a), 0, len(middle_b))
    else:
        counts = Counter(middle_a), Counter(middle_b)  # for both attempts
        try:
            middle = matched_opcodes(middle_a, middle_b, exact if exact is not None else Budget(EXACT_BUDGET), counts)
        except OverBudget:
            middle, quality = anchored_opcodes(middle_a, middle_b, gaps if gaps is not None else Budget(GAPS_BUDGET), counts)
    codes: list[Opcode] = [("equal", 0, start, 0, start)] if start else []
    codes += [(tag, i1 + start, i2 + start, j1 + start, j2 + start) for tag, i1, i2, j1, j2 in middle]
    if end:
        codes.append(("equal", len(a) - end, len(a), len(b) - end, len(b)))
    return codes, quality


def anchored_opcodes(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    budget: Budget,
    counts: tuple[Counter[Hashable], Counter[Hashable]] | None = None,
) -> tuple[list[Opcode], Quality]:
    """Opcodes anchored on the longest run, in order, of elements found exactly once in ``a`` and in ``b``.

    Between two anchors, difflib matches what ``budget`` allows; the rest is
    replaced as blocks (quality ``coarse``). Linear but for the O(n log n)
    longest increasing run of anchors; a gap costs a few steps unless both
    of its sides hold two elements or more, and only then builds a matcher.
    """
    quality: Quality = "anchored"
    codes: list[Opcode] = []
    i = j = 0
    for anchor_i, anchor_j in [*_anchors(a, b, counts), (len(a), len(b))]:
        if anchor_i == i + 1 and anchor_j == j + 1 and a[i] != b[j]:  # one line changed: the commonest gap
            codes.append(("replace", i, anchor_i, j, anchor_j))
        elif anchor_i > i or anchor_j > j:  # a gap before the anchor: most anchors follow the one before
            start, limit = 0, min(anchor_i - i, anchor_j - j)
            while start < limit and a[i + start] == b[j + start]:
                start += 1
            end = 0
            while end < limit - start and a[anchor_i - 1 - end] == b[anchor_j - 1 - end]:
                end += 1
            if start:
                codes.append(("equal", i, i + start, j, j + start))
            gap, matched = _gap(a, b, i + start, anchor_i - end, j + start, anchor_j - end, budget)
            codes += gap
            quality = quality if matched else "coarse"
            if end:
                codes.append(("equal", anchor_i - end, anchor_i, anchor_j - end, anchor_j))
        codes.append(("equal", anchor_i, min(anchor_i + 1, len(a)), anchor_j, min(anchor_j + 1, len(b))))
        i, j = anchor_i + 1, anchor_j + 1
    return _merged(codes), quality


def _gap(
    a: Sequence[Hashable], b: Sequence[Hashable], i1: int, i2: int, j1: int, j2: int, budget: Budget
) -> tuple[list[Opcode], bool]:
    """Opcodes for ``a[i1:i2]`` against ``b[j1:j2]`` (which share neither their first nor their last element),
    and whether they were matched rather than replaced as a block for want of budget."""
    if i2 - i1 <= 1 and j2 - j1 <= 1:  # nothing against something, or two different elements
        return _replaced_at(i1, i2, j1, j2), True
    if i2 - i1 == 1 or j2 - j1 == 1:  # one element against several: where it stands first, or nowhere
        try:
            if i2 - i1 == 1:
                k = b.index(a[i1], j1, j2)
                codes: list[Opcode] = [("insert", i1, i1, j1, k), ("equal", i1, i2, k, k + 1), ("insert", i2, i2, k + 1, j2)]
            else:
                k = a.index(b[j1], i1, i2)
                codes = [("delete", i1, k, j1, j1), ("equal", k, k + 1, j1, j2), ("delete", k + 1, i2, j2, j2)]
            return [code for code in codes if code[1] < code[2] or code[3] < code[4]], True
        except ValueError:
            pass
    if i2 == i1 or j2 == j1 or i2 - i1 == 1 or j2 - j1 == 1:  # one side empty, or its one element not found
        return _replaced_at(i1, i2, j1, j2), True
    try:
        codes = matched_opcodes(a[i1:i2], b[j1:j2], budget)
    except OverBudget:
        return _replaced_at(i1, i2, j1, j2), False
    return [(tag, start + i1, stop + i1, first + j1, last + j1) for tag, start, stop, first, last in codes], True


def _replaced_at(i1: int, i2: int, j1: int, j2: int) -> list[Opcode]:
    """``a[i1:i2]`` replaced by ``b[j1:j2]`` as a block (or deleted, or inserted, if the other side is empty)."""
    if i2 > i1:
        return [("replace" if j2 > j1 else "delete", i1, i2, j1, j2)]
    return [("insert", i1, i2, j1, j2)] if j2 > j1 else []


def _anchors(
    a: Sequence[Hashable], b: Sequence[Hashable], counts: tuple[Counter[Hashable], Counter[Hashable]] | None = None
) -> list[tuple[int, int]]:
    """(i, j) where ``a[i] == b[j]`` stands once in each, the longest run increasing in both (patience sorting)."""
    in_a, in_b = counts or (Counter(a), Counter(b))
    unique = {item for item, count in in_a.items() if count == 1}
    unique.intersection_update([item for item, count in in_b.items() if count == 1])
    if not unique:
        return []
    # Loops in C (map, zip, compress): these run over every line of two megabyte-long pages.
    where_b = dict(zip(b, range(len(b)), strict=True))  # a unique element's only place
    kept = list(map(unique.__contains__, a))
    places = list(map(where_b.__getitem__, compress(a, kept)))
    pairs = list(zip(compress(range(len(a)), kept), places, strict=True))
    if all(map(lt, places, islice(places, 1, None))):  # in the same order on both sides: the usual case
        return pairs
    tops: list[int] = []  # the smallest j ending a run of each length
    ends: list[int] = []  # which pair that is
    before: list[int] = []  # for each pair, the pair before it in its run
    for index, (_i, j) in enumerate(pairs):
        length = len(tops) if not tops or j > tops[-1] else bisect_left(tops, j)  # mostly the former
        before.append(ends[length - 1] if length else -1)
        if length == len(tops):
            tops.append(j)
            ends.append(index)
        else:
            tops[length], ends[length] = j, index
    run: list[tuple[int, int]] = []
    index = ends[-1] if ends else -1
    while index >= 0:
        run.append(pairs[index])
        index = before[index]
    return run[::-1]


def _merged(codes: list[Opcode]) -> list[Opcode]:
    """Empty opcodes dropped, neighbours of the same kind joined: difflib's shape (no delete next to an insert)."""
    merged: list[Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        if i1 == i2 and j1 == j2:
            continue
        if merged and (merged[-1][0] == "equal") == (tag == "equal"):
            _tag, first_i, _i, first_j, _j = merged.pop()
            i1, j1 = first_i, first_j
            if tag != "equal":
                tag = "replace" if i2 > i1 and j2 > j1 else "delete" if i2 > i1 else "insert"
        merged.append((tag, i1, i2, j1, j2))
    return merged


def grouped(codes: list[Opcode], context: int = 3) -> Iterator[list[Opcode]]:
    """The changes with ``context`` unchanged elements around them, in hunks: ``get_grouped_opcodes`` on opcodes."""
    codes = list(codes) or [("equal", 0, 1, 0, 1)]
    if codes[0][0] == "equal":
        tag, i1, i2, j1, j2 = codes[0]
        codes[0] = tag, max(i1, i2 - context), i2, max(j1, j2 - context), j2
    if codes[-1][0] == "equal":
        tag, i1, i2, j1, j2 = codes[-1]
        codes[-1] = tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)
    group: list[Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * context:
            group.append((tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)))
            yield group
            group = []
            i1, j1 = max(i1, i2 - context), max(j1, j2 - context)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        yield group
