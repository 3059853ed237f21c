"""Every scanner of user text costs time linear in the text, whatever the text holds (issue 12, point 1).

Why this file exists: the link extraction runs in the derived-state sync
before requests are answered, the search text is computed for every page the
index takes in, titles for every page the catalog reads. Regular expressions
that scanned the rest of the page again at every ``[``, ``[[`` or ``](``
without a closer made a few hundred kilobytes of brackets cost minutes, and
stopped every request meanwhile.

Each scanner is run on the pastes that did it and on a generated family of
worst cases (each opening construct of Markdown repeated and never closed),
at two sizes: it must finish within a generous bound, and doubling the text
must not quadruple the time. A quadratic scanner fails either way; a deadline
stops it so that a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import signal
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from conftest import api_save

from repo_store.links import extract_links
from repo_store.pages import page_tags, page_title, parse_page
from search.analysis import english_terms, french_positions
from search.snippets import snippet
from search.text import markdown_text
from wiki.render.rendering import LinkTarget, render

SIZE = 300_000  # characters: a few hundred kilobytes, well under the page-size limit
BOUND = 2.0  # seconds for SIZE characters: generous, a linear scanner needs a small fraction of it
DEADLINE = 20.0  # seconds before a measurement is given up as a failure rather than waited for

# The pastes of the issue.
HOSTILE = {
    "unclosed links": "[a](" * 50_000,
    "nested brackets": "[" * 200_000 + "]" * 200_000,
    "unclosed wikilinks": "[[" * 300_000,
}

# Each opening construct of Markdown, to be repeated and never closed.
OPENERS = [
    "[",
    "[[",
    "](",
    "![",
    "<",
    "`",
    "*",
    "_",
    "~~",
    "|",
    "#",
    ">",
    "---",
    "[^",
    "[a](",
    "![a](",
    "[a]",
    "[[a|",
    "[[a#",
    "<a",
    "</a",
    "<http://",
    "](<",
    '](a "',
    "](a ",
    "[x](a.md ",
    "```\n",
    "~~~\n",
    "````\n```\n",
    "# ",
    "#\n",
    "- ",
    "1. ",
    "> ",
    "|---",
    "| --- |\n",
    "\n",
    " ",
    " \n",
    "\t",
    "-",
    "1.1,",
    "a ",
    "é",
]


def _repeated(opener: str) -> Callable[[int], str]:
    return lambda size: opener * (size // len(opener))


# Worst cases that are not one construct repeated: an opening run then a closing one, or a line that is
# one construct then a long tail the old patterns retried at every character.
FAMILIES: dict[str, Callable[[int], str]] = {
    **{f"{opener!r} repeated": _repeated(opener) for opener in OPENERS},
    "brackets then closers": lambda size: "[" * (size // 2) + "]" * (size // 2),
    "wikilinks then one closer": lambda size: "[[" * (size // 2 - 1) + "]]",
    "images then one closer": lambda size: "![" * (size // 2 - 1) + "]",
    "links then a bracket": lambda size: "](" * (size // 2 - 1) + ")",
    "heading then spaces": lambda size: "# a" + " " * (size - 4) + "b",
    "heading then hashes": lambda size: "# a" + " #" * (size // 2 - 2) + "b",
    "list mark then blank lines": lambda size: "-" + "\n" * (size - 2) + "x",
    "table rule then spaces": lambda size: "|---" + " " * (size - 5) + "x",
    "link then spaces": lambda size: "](a" * (size // 6) + " " * (size // 2) + "x",
    "distinct wikilinks": lambda size: "".join(f"[[page {number}]] " for number in range(size // 14)),
    **{
        f"{closed!r} repeated": _repeated(closed)
        for closed in (
            "[[a]] ",
            "[[a|b]] ",
            "[a](b.md) ",
            '[a](b.md "t") ',
            "![a](b.png) ",
            "<https://a.b> ",
            "<b>c</b> ",
            "`a` ",
            "[^1] ",
            "**a** ",
            "| a | b |\n",
            "# a\n",
            "- [x] a\n",
            "> a\n",
        )
    },
    "fence lines getting shorter": lambda size: (
        "".join("`" * width + "\n" for width in range(600, 3, -1)) * (size // 180_000 + 1)
    ),
}

SCANNERS: dict[str, Callable[[str], object]] = {
    "links": lambda text: extract_links(text, "dossier/page"),
    "search text": markdown_text,
    "front matter split": lambda text: parse_page("---\n" + text),  # no closing line: the whole page is read
    "front matter and body": lambda text: parse_page("---\ntitle: Titre\n---\n" + text),
    "title": lambda text: page_title({}, text, "page"),
    "index terms": lambda text: sum(1 for _ in french_positions(text)),
    "snippet and highlight": lambda text: snippet(text, {"a", "lien"}, ["ab"]),
}


class Overran(BaseException):
    """A measurement ran past its deadline (a BaseException: no ``except Exception`` on the way swallows it)."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds``: the regular expression engine and Python loops both notice."""

    def overrun(signum: int, frame: object) -> None:
        raise Overran(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, overrun)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    overran = False
    try:
        yield
    except Overran:
        overran = True  # reported below, outside this handler: its traceback may hold frames pytest cannot show
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if overran:
        pytest.fail(f"still running after {seconds} s", pytrace=False)


def best_time(function: Callable[[str], object], text: str, runs: int = 3) -> float:
    """The best of a few runs, so that another process on the machine does not decide the result."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        with deadline(DEADLINE):
            function(text)
        times.append(time.perf_counter() - started)
        if times[-1] > BOUND:
            break  # already too slow: no need to wait for more runs
    return min(times)


def assert_linear(function: Callable[[str], object], family: Callable[[int], str]) -> None:
    single = best_time(function, family(SIZE))
    assert single < BOUND, f"{single:.2f} s for {SIZE} characters"
    double = best_time(function, family(2 * SIZE))
    # Twice the text in less than four times the time (plus a little for timer noise on quick scanners).
    assert double < 4 * single + 0.05, f"{single:.3f} s for {SIZE} characters, {double:.3f} s for twice as many"


@pytest.mark.parametrize("paste", HOSTILE)
@pytest.mark.parametrize("scanner", SCANNERS)
def test_the_pastes_of_the_issue_are_scanned_quickly(scanner, paste):
    elapsed = best_time(SCANNERS[scanner], HOSTILE[paste], runs=1)
    assert elapsed < BOUND, f"{scanner} took {elapsed:.2f} s on {paste}"


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("scanner", SCANNERS)
def test_worst_cases_cost_linear_time(scanner, family):
    assert_linear(SCANNERS[scanner], FAMILIES[family])


def test_many_tags_cost_linear_time():
    tags = ",".join(f"t{number}" for number in range(40_000))
    started = time.perf_counter()
    with deadline(DEADLINE):
        assert len(page_tags({"tags": tags})) == 40_000
    assert time.perf_counter() - started < BOUND


@pytest.mark.slow
def test_long_words_are_not_kept_in_memory_once_indexed():
    words = [f"mot{number}" + "a" * 20_000 for number in range(10)]  # 200 KB of distinct "words"
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for word in words:
            assert sum(1 for _ in french_positions(word)) == 1 and len(english_terms(word)) == 1
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert retained < 100_000, f"{retained} bytes still held"


# -- the renderer's wikilink rule ------------------------------------------------------
# Rendering itself costs far more per character than these scanners (markdown-it), so the
# cases below are ones where the old rule, which looked for "]]" to the end of the text at
# every "[[", dominated: unclosed wikilinks followed by a long paragraph.


def _resolve(target: str) -> LinkTarget:
    return LinkTarget(f"/wiki/{target}", True, target)


def test_unclosed_wikilinks_do_not_make_rendering_slow():
    text = "[[" * 3_000 + "a" * SIZE  # 3 to 5 s with the old rule, a fraction of a second now
    elapsed = best_time(lambda markdown: render(markdown, resolve_link=_resolve), text, runs=2)
    assert elapsed < BOUND, f"{elapsed:.2f} s"


def test_wikilinks_still_render_up_to_their_length_limit():
    longest = "a" * 298  # "[[" + target + "]]" spans 300 characters from its start: the longest rendered
    html = render(f"[[Accueil]] et [[{longest}]] et [[{longest}b]]", resolve_link=_resolve).html
    assert 'href="/wiki/Accueil"' in html and f'href="/wiki/{longest}"' in html
    assert f"[[{longest}b]]" in html  # one character too long: left as text


# -- what ordinary pages get from the scanners is unchanged -----------------------------


def test_links_of_an_ordinary_page():
    body = (
        'Voir [[Accueil]], [[guides/élus#mairie|les élus]] et [la charte](../charte.md "Charte").\n'
        "Une [adresse](</wiki/lieux/la-fabrique>) et [ailleurs](https://example.org/x.md).\n"
        "`[[pas un lien]]`\n\n```\n[[pas non plus]]\n```\n\n~~~~\n[code](code.md)\n~~~~\n"
    )
    assert {link.path for link in extract_links(body, "dossier/page")} == {
        "Accueil",
        "guides/élus",
        "charte",
        "lieux/la-fabrique",
    }


def test_a_fence_left_open_hides_its_links_as_the_page_does():
    body = "[[Avant]]\n\n```\n[[Dedans]]\n"
    assert {link.path for link in extract_links(body, "page")} == {"Avant"}
    assert "Dedans" not in render(body, resolve_link=_resolve).html.split("<code>")[0]


def test_search_text_of_an_ordinary_page():
    body = (
        "# Titre\n\nUn **texte** avec [un lien](https://example.org), ![une image](x.png),\n"
        "[[Accueil|l'accueil]], <https://trousse.example>, <b>gras</b> et une note[^1].\n\n"
        "| Nom | Ville |\n|-----|:-----:|\n| Fabrique | Nantes |\n\n"
        "- [x] fait\n1. premier\n> citation\n\n```python\ncode()\n```\n\n[^1]: La note.\n"
    )
    assert markdown_text(body).splitlines() == [
        "Titre",
        "Un texte avec un lien, une image,",
        "l'accueil, https://trousse.example, gras et une note.",
        "Nom Ville",
        "Fabrique Nantes",
        "fait",
        "premier",
        "citation",
        "code()",
        "La note.",
    ]


@pytest.mark.parametrize(
    ("line", "title"),
    [
        ("# Titre", "Titre"),
        ("# Titre ##", "Titre"),
        ("  # Titre #  ", "Titre"),
        ("# C# et F#", "C# et F#"),
        ("# ###", "###"),
        ("# a # #", "a #"),
        ("#Titre", "page"),
        ("    # code", "page"),
        ("#  ", "page"),
    ],
)
def test_titles_from_the_first_heading(line, title):
    assert page_title({}, f"{line}\n\nTexte.\n", "page") == title


# -- end to end: a hostile page is saved, shown and searched ------------------------------


def test_a_page_of_unclosed_links_is_saved_viewed_and_searched_quickly(client, token):
    markdown = "# Piège\n\nUne page de liens jamais fermés : coopérative.\n\n" + "[a](" * 50_000
    timings = {}
    with deadline(60):
        started = time.perf_counter()
        api_save(client, token, "pieges/liens", markdown)
        timings["save"] = time.perf_counter() - started
        started = time.perf_counter()
        view = client.get("/wiki/pieges/liens")
        timings["view"] = time.perf_counter() - started
        started = time.perf_counter()
        found = client.get("/api/v1/search", query_string={"q": "coopérative"}).json
        timings["search"] = time.perf_counter() - started
    assert view.status_code == 200 and "Piège" in view.text
    assert "pieges/liens" in [result["path"] for result in found["results"]]
    assert timings["save"] < 5 and timings["search"] < 5, timings
    assert timings["view"] < 10, timings  # rendering is markdown-it's work, slower per character than scanning
