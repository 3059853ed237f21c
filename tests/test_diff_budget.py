"""Diffs and blames cost bounded time whatever the two texts: hostile pairs degrade, and stay correct.

``difflib`` with ``autojunk=False`` took minutes on one 3.6 KB line whose
single spaces became double ones, and never finished on a 1 MB page of
repeated lines; these inputs now finish within a fraction of a second, and
every answer still turns the old text into the new one.
"""

from __future__ import annotations

import html
import logging
import random
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from conftest import api_save

from repo_store import Identity
from repo_store import history as history_module
from repo_store.catalog import Catalog
from repo_store.history import History
from wiki.render.diffs import MAX_ROWS, side_by_side, unified, word_diff

LEA = Identity("Léa Dubois", "lea@noreply.example")


class Overran(BaseException):
    """The work ran past its deadline (a BaseException: no ``except Exception`` on the way swallows it)."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (difflib is Python: the signal is noticed between two steps)."""

    def overrun(signum: int, frame: object) -> None:
        raise Overran(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, overrun)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def at_most(seconds: float) -> Iterator[None]:
    """Fail if the block takes longer than ``seconds``, and stop it at twice that rather than hang.

    The interrupted frames are not shown: pytest cannot always read back the
    line a signal interrupted, and would stop the whole session.
    """
    started = time.perf_counter()
    try:
        with deadline(seconds * 2):
            yield
    except Overran:
        pytest.fail(f"still running after {seconds * 2} s", pytrace=False)
    assert time.perf_counter() - started < seconds


def apply_unified(old: str, patch: str) -> str:
    """The new text, from the old one and a unified diff, checking every context and removed line."""
    old_lines, out, position = old.splitlines(keepends=True), [], 0
    lines = patch.splitlines(keepends=True)
    index = 2 if lines else 0  # --- and +++
    while index < len(lines):
        header = re.match(r"@@ -(\d+)(?:,(\d+))? ", lines[index])
        start = int(header.group(1)) - (header.group(2) != "0")  # an empty range names the line before it
        out += old_lines[position:start]
        position = start
        index += 1
        while index < len(lines) and not lines[index].startswith("@@"):
            mark, text = lines[index][0], lines[index][1:]
            if index + 1 < len(lines) and lines[index + 1] == "\\ No newline at end of file\n":
                text = text[:-1]
                index += 1
            if mark in " -":
                assert old_lines[position] == text, (position, old_lines[position], text)
                position += 1
            if mark in " +":
                out.append(text)
            index += 1
    return "".join(out + old_lines[position:])


def sides(rows) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Each side's (line number, plain text) as shown."""

    def plain(markup) -> str:
        return html.unescape(re.sub(r"</?(?:del|ins)>", "", str(markup)))

    old = [(row.old_number, plain(row.old_html)) for row in rows if row.old_number]
    new = [(row.new_number, plain(row.new_html)) for row in rows if row.new_number]
    return old, new


def assert_rows_match(old: str, new: str, rows) -> None:
    old_lines, new_lines = old.splitlines(), new.splitlines()
    shown_old, shown_new = sides(rows)
    assert all(old_lines[number - 1] == text for number, text in shown_old)
    assert all(new_lines[number - 1] == text for number, text in shown_new)


# -- hostile pairs -------------------------------------------------------------

DOUBLED = ("a " * 1800 + "\n", "a  " * 1200 + "\n")  # 3.6 KB each: 86 s of CPU before


def scattered_repeats() -> tuple[str, str]:
    """1 MB-class pages of one repeated line, with 100 lines changed here and there."""
    lines = ["a"] * 400_000
    for number in range(0, 400_000, 4000):
        lines[number] = "b"
    return "a\n" * 400_000, "\n".join(lines) + "\n"


def decreasing_blocks() -> tuple[str, str]:
    """Unique lines whose changes make difflib's longest-match recursion go n^1.5 deep."""
    old, new, count = [], [], 0
    for size in range(550, 0, -1):
        block = [f"l{count + n}" for n in range(size)]
        count += size
        old += [*block, f"x{size}"]
        new += [*block, f"y{size}"]
    return "\n".join(old), "\n".join(new)


def test_one_long_line_with_its_spaces_doubled_is_marked_whole():
    old, new = DOUBLED
    with at_most(3):
        compared = side_by_side(old, new)
    assert [row.kind for row in compared.rows] == ["changed"]
    row = compared.rows[0]
    assert row.old_html == "<del>" + old[:-1] + "</del>" and row.new_html == "<ins>" + new[:-1] + "</ins>"
    assert compared.whole_lines and not compared.truncated
    with at_most(3):
        assert apply_unified(old, unified(old, new, "a", "b")) == new


def test_a_long_line_with_one_word_changed_still_shows_that_word():
    line = " ".join(["mot"] * 900)
    changed = line[:1800] + "autre" + line[1803:]
    with at_most(3):
        compared = side_by_side(line + "\n", changed + "\n")
    assert not compared.whole_lines
    assert "<del>mot</del>" in compared.rows[0].old_html and "<ins>autre</ins>" in compared.rows[0].new_html


def test_ordinary_word_diff_is_unchanged():
    old_html, new_html = word_diff("Le chat <noir> dort.", "Le chat blanc dort.")
    assert old_html == "Le chat <del>&lt;noir&gt;</del> dort." and new_html == "Le chat <ins>blanc</ins> dort."


def test_a_megabyte_of_one_repeated_line_with_one_change():
    old = "a\n" * 400_000
    new = "a\n" * 200_000 + "b\n" + "a\n" * 199_999
    with at_most(3):
        compared = side_by_side(old, new)
        patch = unified(old, new, "a", "b")
    assert [row.kind for row in compared.rows] == ["context"] * 3 + ["changed"] + ["context"] * 3
    assert compared.rows[3].old_number == 200_001 and compared.rows[3].new_html == "<ins>b</ins>"
    assert patch.count("\n") < 20 and apply_unified(old, patch) == new


def test_a_megabyte_of_one_repeated_line_with_scattered_changes_is_cut_and_correct():
    old, new = scattered_repeats()
    with at_most(5):
        compared = side_by_side(old, new)
    assert compared.truncated and len(compared.rows) == MAX_ROWS
    assert_rows_match(old, new, compared.rows)
    with at_most(5):
        patch = unified(old, new, "a", "b")
    assert apply_unified(old, patch) == new


def test_recursion_heavy_unique_lines_finish_and_stay_correct():
    old, new = decreasing_blocks()
    with at_most(5):
        compared = side_by_side(old, new)
        patch = unified(old, new, "a", "b")
    assert_rows_match(old, new, compared.rows)
    assert apply_unified(old, patch) == new
    # Anchored on the unique lines: each change is one line, not a block replaced.
    body = patch.splitlines()[2:]
    assert sum(line.startswith("-") for line in body) == 550 and sum(line.startswith("+") for line in body) == 550


def test_unique_lines_each_followed_by_a_changed_one():
    """A hundred thousand anchors, each with a one-line change after it: each gap costs a few steps."""
    old = "".join(f"u{number}\nx\n" for number in range(100_000))
    new = "".join(f"u{number}\ny\n" for number in range(100_000))
    with at_most(5):
        compared = side_by_side(old, new)
        patch = unified(old, new, "a", "b")
    assert compared.truncated and compared.rows[1].kind == "changed" and compared.rows[1].new_html == "<ins>y</ins>"
    assert_rows_match(old, new, compared.rows)
    assert apply_unified(old, patch) == new and patch.count("\n-x\n") == 100_000


def test_scattered_edits_in_a_long_page_of_paragraphs_keep_their_words():
    generator = random.Random(4)
    paragraphs = []
    for number in range(15_000):  # about 600 KB, half of its lines blank
        paragraphs += [f"Paragraphe {number} : {generator.random():.8f} du texte.", ""]
    edited = paragraphs[:]
    for number in range(0, 30_000, 150):
        edited[number] += " modifié"
    old, new = "\n".join(paragraphs), "\n".join(edited)
    with at_most(3):
        compared = side_by_side(old, new)
        patch = unified(old, new, "a", "b")
    changed = [row for row in compared.rows if row.kind == "changed"]
    assert len(changed) == 200 and not compared.truncated and not compared.whole_lines
    assert all(row.new_html.endswith("<ins> modifié</ins>") for row in changed)
    assert apply_unified(old, patch) == new


def test_random_edits_give_correct_diffs():
    generator = random.Random(7)
    words = ["a", "b", "", "le chat", "la souris", "x y", "<b>&</b>"]
    for _ in range(300):
        old = [generator.choice(words) for _ in range(generator.randint(0, 30))]
        new = old[:]
        for _ in range(generator.randint(0, 6)):
            if new and generator.random() < 0.4:
                del new[generator.randrange(len(new))]
            else:
                new.insert(generator.randint(0, len(new)), generator.choice(words) + " " + generator.choice(words))
        old_text, new_text = "\n".join(old), "\n".join(new) + "\n" * generator.randint(0, 1)
        compared = side_by_side(old_text, new_text, context=1000)
        if old_text.splitlines() != new_text.splitlines():
            shown_old, shown_new = sides(compared.rows)
            assert [text for _, text in shown_old] == old_text.splitlines()
            assert [text for _, text in shown_new] == new_text.splitlines()
        assert apply_unified(old_text, unified(old_text, new_text, "a", "b")) == new_text


def test_a_degraded_diff_is_logged_once(caplog):
    old, new = DOUBLED
    old, new = old + "unique 1\n", new + "unique 1\n"
    with caplog.at_level(logging.WARNING, logger="wiki.render.diffs"):
        side_by_side(old, new)
        side_by_side(old, new)
    assert len([record for record in caplog.records if record.name == "wiki.render.diffs"]) == 1
    assert "marked whole" in caplog.records[0].getMessage()


# -- through the web -------------------------------------------------------------


def test_diff_page_of_a_hostile_line_answers_quickly(client, token):
    first = api_save(client, token, "essais/espaces", "# Espaces\n\n" + DOUBLED[0])
    second = api_save(client, token, "essais/espaces", "# Espaces\n\n" + DOUBLED[1], base=first)
    with at_most(5):
        page = client.get(f"/diff/essais/espaces?from={first}&to={second}")
    assert page.status_code == 200
    assert "mot à mot" in page.text  # the note: changed lines marked whole
    with at_most(5):
        body = client.get(f"/api/v1/pages/essais/espaces/diff?from={first}&to={second}").json
    assert body["diff"].count("\n-a a a") == 1 and body["diff"].count("\n+a  a  a") == 1


@pytest.mark.slow
def test_a_long_diff_is_cut_with_links_to_the_whole_text(client, token):
    old, new = scattered_repeats()
    first = api_save(client, token, "essais/repetitions", old)
    second = api_save(client, token, "essais/repetitions", new, base=first)
    with at_most(5):
        page = client.get(f"/diff/essais/repetitions?from={first}&to={second}")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Différence trop longue pour être affichée en entier" in text
    assert page.text.count('<tr class="changed">') + page.text.count('<tr class="context">') <= MAX_ROWS
    link = re.search(r'href="(/diff/essais/repetitions\?[^"]*format=text[^"]*)"', page.text).group(1)
    assert f"/raw/essais/repetitions?rev={first}" in page.text and f"/raw/essais/repetitions?rev={second}" in page.text
    with at_most(5):
        whole = client.get(html.unescape(link))
    assert whole.status_code == 200 and whole.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert apply_unified(old, whole.text) == new
    with at_most(5):
        blame = client.get("/blame/essais/repetitions")
    assert blame.status_code == 200 and blame.text.count('<td class="line-number">') == 3000
    assert "/raw/essais/repetitions" in blame.text


# -- blame -------------------------------------------------------------------------


@pytest.fixture
def history(store, tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite", store)
    yield History(catalog, store)
    catalog.close()


def save(store, history, path, text):
    result = store.save_page(
        path, text, author=LEA, message="edit", base_revision=store.head() if store.page_exists(path) else None
    )
    history.catalog.sync()
    return result.commit


def test_blame_of_hostile_revisions_is_bounded_and_complete(store, history):
    old, new = scattered_repeats()
    first = save(store, history, "gros", old)
    second = save(store, history, "gros", new)
    with at_most(5):
        lines = history.blame("gros.md")
    assert [line.text for line in lines] == new.split("\n")
    assert {line.revision.revision for line in lines if line.text == "b"} == {second}
    assert {line.revision.revision for line in lines} <= {first, second}
    assert not any(line.or_earlier for line in lines)


def test_blame_reads_only_the_newest_revisions_and_says_so(store, history, monkeypatch):
    commits = [save(store, history, "long", "début\n" + "".join(f"ligne {n}\n" for n in range(count))) for count in range(1, 6)]
    monkeypatch.setattr(history_module, "BLAME_REVISIONS", 2)
    lines = history.blame("long.md")
    assert [(line.text, line.revision.revision, line.or_earlier) for line in lines] == [
        ("début", commits[3], True),
        ("ligne 0", commits[3], True),
        ("ligne 1", commits[3], True),
        ("ligne 2", commits[3], True),
        ("ligne 3", commits[3], True),
        ("ligne 4", commits[4], False),
        ("", commits[3], True),
    ]
    monkeypatch.setattr(history_module, "BLAME_REVISIONS", 500)
    lines = history.blame("long.md")
    assert [line.revision.revision for line in lines[:3]] == [commits[0], commits[0], commits[1]]
    assert not any(line.or_earlier for line in lines)
