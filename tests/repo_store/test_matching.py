"""Bounded sequence matching: whatever the budget, the opcodes turn one sequence into the other."""

from __future__ import annotations

import difflib
import random

import pytest

from repo_store.matching import Budget, OverBudget, anchored_opcodes, line_opcodes, matched_opcodes


def check(a: list[str], b: list[str], codes) -> None:
    """Opcodes in difflib's shape that rebuild ``b`` from ``a``."""
    i = j = 0
    previous = None
    for tag, i1, i2, j1, j2 in codes:
        assert (i1, j1) == (i, j)
        if tag == "equal":
            assert a[i1:i2] == b[j1:j2] and i2 > i1
        else:
            assert {"delete": (i2 > i1 and j2 == j1), "insert": (i2 == i1 and j2 > j1), "replace": (i2 > i1 and j2 > j1)}[tag]
        assert not (previous == "equal" and tag == "equal") and not (previous not in (None, "equal") and tag != "equal")
        previous, i, j = tag, i2, j2
    assert (i, j) == (len(a), len(b))


def edited(generator: random.Random, size: int, vocabulary: int) -> tuple[list[str], list[str]]:
    words = [str(n) for n in range(vocabulary)]
    a = [generator.choice(words) for _ in range(generator.randint(0, size))]
    b = a[:]
    for _ in range(generator.randint(0, 8)):
        choice = generator.random()
        if b and choice < 0.3:
            del b[generator.randrange(len(b))]
        elif choice < 0.6:
            b.insert(generator.randint(0, len(b)), generator.choice([*words, "new"]))
        elif b:
            b[generator.randrange(len(b))] = generator.choice([*words, "changed"])
    return a, b


@pytest.mark.parametrize("units", [0, 10, 400, 10**6])
def test_any_budget_gives_correct_opcodes(units):
    generator = random.Random(units)
    for _ in range(1500):
        a, b = edited(generator, 60, generator.choice([3, 20, 200]))
        check(a, b, line_opcodes(a, b, exact=Budget(units), gaps=Budget(units))[0])
        check(a, b, anchored_opcodes(a, b, Budget(units))[0])


def test_with_enough_budget_the_answer_is_difflibs():
    generator = random.Random(1)
    for _ in range(500):
        a, b = edited(generator, 40, 10)
        expected = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
        assert matched_opcodes(a, b, Budget(10**9)) == expected


def test_a_refused_search_spends_nothing():
    budget = Budget(5000)
    with pytest.raises(OverBudget):
        matched_opcodes(["a"] * 400, ["a"] * 400, budget)  # 160,000 steps for the first search alone
    assert budget.left == 5000 - 300 - 800  # only the counting was spent


def test_the_quality_says_how_the_opcodes_were_found():
    unique = [f"l{n}" for n in range(3000)]
    changed = unique[:]
    for n in range(0, 3000, 7):
        changed[n] = "x" + changed[n]
    assert line_opcodes(unique[:50], changed[:50])[1] == "exact"
    assert line_opcodes(unique, changed, exact=Budget(1000))[1] == "anchored"
    assert line_opcodes(["a"] * 3000, ["a", "b"] * 1500, exact=Budget(1000), gaps=Budget(1000))[1] == "coarse"
