"""Conflicts a person can resolve (issue 13, point 1).

Two people change the same passage: the second one is shown each clashing
passage side by side ("Votre version", "La version enregistrée par … à …")
and chooses, per passage, which to keep; the server puts the page back
together without markers. Tested here: the cutting and rebuilding of the
merged text (``wiki.app.conflicts``, linear by counting the work it does),
the whole flow through the Flask test client as a browser without
JavaScript sends it, and that nothing the author typed is ever lost.
The refusal of marker blocks on every write path is in ``test_one_way_in.py``.
"""

from __future__ import annotations

import html
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import api_save, bearer, csrf_token, form_value, git

from wiki.app import conflicts
from wiki.app.conflicts import BOTH, EDIT, THEIRS, YOURS, Clash, Merged, has_conflict_markers, resolve, split

LABELS = ("version enregistrée entre-temps", "base commune", "votre version")
FRENCH = {"Accept-Language": "fr"}


def block(theirs: str, yours: str, labels: tuple[str, str, str] = LABELS) -> str:
    return f"<<<<<<< {labels[0]}\n{theirs}=======\n{yours}>>>>>>> {labels[2]}\n"


# -- cutting the merged text ---------------------------------------------------


def test_split_cuts_agreed_text_and_clashes_in_order():
    text = "# Titre\n\nIntro.\n" + block("Loyer 120.\n", "Loyer 90.\n") + "Milieu.\n" + block("", "Ajout.\n") + "Fin.\n"
    assert split(text, LABELS) == [
        Merged("# Titre\n\nIntro.\n"),
        Clash(theirs="Loyer 120.\n", yours="Loyer 90.\n"),
        Merged("Milieu.\n"),
        Clash(theirs="", yours="Ajout.\n"),
        Merged("Fin.\n"),
    ]


def test_split_reads_the_base_of_the_diff3_style():
    text = "<<<<<<< a\nleur\n||||||| base\norigine\n=======\nmien\n>>>>>>> b\n"
    assert split(text) == [Clash(theirs="leur\n", yours="mien\n", base="origine\n")]


def test_markers_with_other_labels_are_text_when_the_labels_are_known():
    example = "```\n" + block("a\n", "b\n", ("HEAD", "", "branche")) + "```\n"
    text = example + block("Loyer 120.\n", "Loyer 90.\n")
    segments = split(text, LABELS)
    assert segments == [Merged(example), Clash(theirs="Loyer 120.\n", yours="Loyer 90.\n")]


@pytest.mark.parametrize(
    "text",
    [
        "<<<<<<< a\njamais fermé\n=======\nni fini\n",
        "<<<<<<< a\nsans séparateur\n>>>>>>> b\n",
        "Titre\n=======\n\nTexte.\n",
        ">>>>>>> b\n=======\n<<<<<<< a\n",
    ],
)
def test_what_is_not_a_whole_block_stays_text_as_it_is(text):
    assert split(text) == [Merged(text)]


def test_an_interrupted_block_is_text_and_the_next_one_counts():
    text = "<<<<<<< a\nx\n" + "<<<<<<< a\ny\n=======\nz\n>>>>>>> b\n"
    assert split(text) == [Merged("<<<<<<< a\nx\n"), Clash(theirs="y\n", yours="z\n")]


def test_split_cuts_at_newlines_only():
    text = "avant\x0cpage\u2028ligne\n" + block("a\n", "b\n")
    assert split(text, LABELS)[0] == Merged("avant\x0cpage\u2028ligne\n")


# -- putting it back together ------------------------------------------------

TWO = "Début.\n" + block("Loyer 120.\n", "Loyer 90.\n") + "Milieu.\n" + block("Fin A.\n", "Fin B.\n")


@pytest.mark.parametrize(
    ("choices", "expected"),
    [
        ({"choice-1": YOURS, "choice-2": YOURS}, "Début.\nLoyer 90.\nMilieu.\nFin B.\n"),
        ({"choice-1": THEIRS, "choice-2": YOURS}, "Début.\nLoyer 120.\nMilieu.\nFin B.\n"),
        ({"choice-1": BOTH, "choice-2": THEIRS}, "Début.\nLoyer 120.\nLoyer 90.\nMilieu.\nFin A.\n"),
        ({}, "Début.\nLoyer 120.\nLoyer 90.\nMilieu.\nFin A.\nFin B.\n"),  # nothing chosen: both kept
        ({"choice-1": "n'importe quoi"}, "Début.\nLoyer 120.\nLoyer 90.\nMilieu.\nFin A.\nFin B.\n"),
    ],
)
def test_resolve_follows_the_buttons(choices, expected):
    text, _passages = resolve(split(TWO, LABELS), choices)
    assert text == expected
    assert not has_conflict_markers(text)


def test_the_box_wins_when_edit_is_chosen_or_when_it_was_changed():
    shown = conflicts.passages(split(TWO, LABELS))
    form = {
        "choice-1": EDIT,
        "text-1": "Loyer 100, négocié.\r\n",
        "offered-1": shown[0].digest,
        # Without JavaScript: the box typed in, the button left on its default.
        "choice-2": BOTH,
        "text-2": "Fin écrite à la main.",
        "offered-2": shown[1].digest,
    }
    text, posted = resolve(split(TWO, LABELS), form)
    assert text == "Début.\nLoyer 100, négocié.\nMilieu.\nFin écrite à la main.\n"
    assert [passage.choice for passage in posted] == [EDIT, EDIT]
    assert posted[1].text == "Fin écrite à la main."


def test_a_box_filled_by_a_button_keeps_its_button():
    shown = conflicts.passages(split(TWO, LABELS))
    form = {"choice-1": THEIRS, "text-1": "Loyer 120.\r\n", "offered-1": shown[0].digest}
    _text, posted = resolve(split(TWO, LABELS), form)
    assert posted[0].choice == THEIRS


def test_passages_show_the_lines_above_them():
    text = "".join(f"Ligne {n}.\n" for n in range(10)) + "\n" + block("a\n", "b\n")
    (passage,) = conflicts.passages(split(text, LABELS))
    assert passage.context == "Ligne 7.\nLigne 8.\nLigne 9.\n"  # empty lines skipped
    assert passage.choice == BOTH and passage.text == "a\nb\n"


# -- the refusal's scanner ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (block("a\n", "b\n"), True),
        ("---\n" + block("title: A\n", "title: B\n") + "---\n# Page\n", True),
        ("<<<<<<< a\n\nTitre\n=======\n\n>>>>>>> b", True),
        ("Titre\n=======\n\nTexte.\n", False),
        ("<<<<<<< a\nx\n=======\ny\n", False),
        ("=======\n>>>>>>> b\n<<<<<<< a\n", False),
        ("<<<<<<<a\n=======\n>>>>>>>b\n", False),
        ("```\n" + block("a\n", "b\n") + "```\n", False),
        ("~~~~ text\n" + block("a\n", "b\n") + "~~~~\n", False),
        ("```\n" + block("a\n", "b\n"), False),  # a fence never closed runs to the end
        ("``` `x`\n" + block("a\n", "b\n"), True),  # inline code, not a fence
        ("    ```\n" + block("a\n", "b\n"), True),  # indented code, not a fence
        ("```\nx\n```\n" + block("a\n", "b\n"), True),
        ("````\n```\n" + block("a\n", "b\n") + "````\n", False),
        (block("a\r\n", "b\r\n").replace("\n", "\r\n"), True),
    ],
)
def test_conflict_markers_are_found_outside_code_only(text, found):
    assert has_conflict_markers(text) is found


# -- linear, by counting ----------------------------------------------------------

HOSTILE_LINES = [
    "<<<<<<< a\n",  # openers never closed: each interrupts the last
    "<<<<<<< a\n=======\n",  # openers and separators, no closer
    "<<<<<<< a\nx\n=======\ny\n>>>>>>> b\n",  # whole blocks
    "```\n<<<<<<< a\n",  # fences and openers
]


class CountingText(str):
    """A text that counts the characters its ``find`` calls look through."""

    looked = 0
    calls = 0

    def find(self, sub, start=None, end=None):  # type: ignore[override]
        found = super().find(sub, start, end)
        type(self).calls += 1
        type(self).looked += (found if found >= 0 else len(self)) - (start or 0)
        return found


@pytest.mark.parametrize("unit", HOSTILE_LINES)
def test_split_takes_each_line_once_and_keeps_it_at_most_once(unit):
    for repeat in (5_000, 10_000):
        lines = [line + "\n" for line in (unit * repeat).split("\n")[:-1]]
        pulled = [0]

        def feed(lines: list[str], pulled: list[int]):
            for line in lines:
                pulled[0] += 1
                yield line

        segments = conflicts.split_lines(feed(lines, pulled))
        assert pulled[0] == len(lines)
        kept = sum(len(s.text) if isinstance(s, Merged) else len(s.theirs) + len(s.yours) for s in segments)
        assert kept <= sum(map(len, lines))


@pytest.mark.parametrize("unit", HOSTILE_LINES)
def test_the_marker_scanner_looks_at_each_character_once(unit):
    for repeat in (5_000, 10_000):
        text = CountingText(unit * repeat)
        CountingText.looked = CountingText.calls = 0
        has_conflict_markers(text)
        assert CountingText.looked <= len(text)
        assert CountingText.calls <= text.count("\n") + 1


# -- the whole flow, as a browser without JavaScript sends it ------------------


class FormReader(HTMLParser):
    """The fields a browser without JavaScript posts from the form whose action is ``action``."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.fields: dict[str, str] = {}
        self.textarea: str | None = None
        self.radios: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self.inside = attributes.get("action") == self.action
        if not self.inside:
            return
        name = attributes.get("name")
        if tag == "input" and name:
            kind = attributes.get("type", "text")
            if kind == "radio":
                self.radios.setdefault(name, []).append(attributes["value"])
                if "checked" in attributes:
                    self.fields[name] = attributes["value"]
            elif kind != "submit":
                self.fields[name] = attributes.get("value", "")
        elif tag == "textarea" and name:
            self.textarea = name
            self.fields[name] = ""

    def handle_data(self, data):
        if self.textarea:
            self.fields[self.textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self.textarea:
            value = self.fields[self.textarea]
            self.fields[self.textarea] = value[1:] if value.startswith("\n") else value  # as the HTML parser does
            self.textarea = None
        elif tag == "form":
            self.inside = False


def resolve_form(page: str, path: str) -> dict[str, str]:
    reader = FormReader(f"/resolve/{path}")
    reader.feed(page)
    assert reader.fields, "no resolve form on the page"
    for name, values in reader.radios.items():
        assert values == ["yours", "theirs", "both", "edit"], name
    return reader.fields


def visible_text(page: str) -> str:
    """The page's words as a reader sees them: no tags, no attributes, nothing hidden."""
    page = re.sub(r"<textarea[^>]*hidden[^>]*>.*?</textarea>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


PAGE = "guides/convention"
START = (
    "# Convention\n\nLe loyer est de 100 euros.\n\n"
    + "".join(f"Article {n} de la convention.\n\n" for n in range(1, 8))
    + "La durée est d'un an.\n\n"
    + "".join(f"Clause {n} de la convention.\n\n" for n in range(1, 8))
    + "Fin.\n"
)


@pytest.fixture
def two_editors(app, editor, client):
    """Camille in the browser and Dominique through the API, both editors of the same page."""
    editor.create("dominique", "editor", "Dominique Admin")
    token = editor.token("dominique")
    first = api_save(client, token, PAGE, START)
    return client, token, first


def clash(client, token, base):
    """Dominique saves first; Camille then saves her version from the same base: the conflict page."""
    theirs = START.replace("100 euros", "120 euros").replace("d'un an", "de deux ans").replace("Clause 4 ", "Clause quatre ")
    api_save(client, token, PAGE, theirs, base=base)
    mine = START.replace("100 euros", "90 euros, charges comprises").replace("d'un an", "de trois ans")
    mine = mine.replace("Fin.", "Fin de la convention.")
    form = client.get(f"/edit/{PAGE}", headers=FRENCH)
    answer = client.post(
        f"/edit/{PAGE}",
        data={
            "csrf_token": csrf_token(form.text),
            "base_revision": base,
            "markdown": mine,
            "message": "Loyer négocié",
            "action": "save",
        },
        headers=FRENCH,
    )
    return mine, answer


def test_the_conflict_page_shows_each_passage_side_by_side_with_who_and_when(two_editors, data_dir):
    client, token, base = two_editors
    mine, answer = clash(client, token, base)
    assert answer.status_code == 409
    seen = visible_text(answer.text)
    assert "Votre version" in seen
    assert re.search(r"La version enregistrée par Dominique Admin à \d\d:\d\d", seen), seen
    assert "Passage 1 sur 2" in seen and "Passage 2 sur 2" in seen
    assert "<<<<<<<" not in seen and ">>>>>>>" not in seen and "retirez les marques" not in seen
    head = git(data_dir / "wiki.git", "rev-parse", "main").strip()
    assert head[:7] not in seen  # who and when, never a hash
    fields = resolve_form(answer.text, PAGE)
    assert fields["yours"] == mine  # the copy of the whole text
    assert fields["message"] == "Loyer négocié"
    assert fields["base_revision"] == head
    assert fields["choice-1"] == fields["choice-2"] == "both"
    assert fields["text-1"] == "Le loyer est de 120 euros.\nLe loyer est de 90 euros, charges comprises.\n"


def test_choosing_per_passage_saves_a_page_without_markers_and_with_both_merged(two_editors, data_dir):
    client, token, base = two_editors
    _mine, answer = clash(client, token, base)
    fields = resolve_form(answer.text, PAGE)
    fields.update({"choice-1": "yours", "choice-2": "theirs"})
    saved = client.post(f"/resolve/{PAGE}", data=fields, headers=FRENCH)
    assert saved.status_code == 302 and saved.headers["Location"] == f"/wiki/{PAGE}"
    text = client.get(f"/raw/{PAGE}").text
    assert not has_conflict_markers(text) and "=======" not in text
    assert "Le loyer est de 90 euros, charges comprises." in text and "120 euros" not in text
    assert "La durée est de deux ans." in text and "trois ans" not in text
    assert "Clause quatre de la convention." in text  # Dominique's change elsewhere, merged
    assert "Fin de la convention." in text  # Camille's change elsewhere, merged
    log = git(data_dir / "wiki.git", "log", "-1", "--format=%an|%s").strip()
    assert log == "Camille Été|Loyer négocié"


def test_without_javascript_a_box_written_in_is_what_is_saved(two_editors):
    client, token, base = two_editors
    _mine, answer = clash(client, token, base)
    fields = resolve_form(answer.text, PAGE)
    fields["text-1"] = "Le loyer est de 100 euros,\r\nrévisé chaque année.\r\n"  # the button left as it was
    fields["choice-2"] = "edit"
    fields["text-2"] = "La durée est de deux ans, renouvelable."
    saved = client.post(f"/resolve/{PAGE}", data=fields, headers=FRENCH)
    assert saved.status_code == 302
    text = client.get(f"/raw/{PAGE}").text
    assert "Le loyer est de 100 euros,\nrévisé chaque année.\n\nArticle 1 " in text
    assert "\nLa durée est de deux ans, renouvelable.\n\nClause 1 " in text


def test_keeping_both_keeps_the_saved_version_first(two_editors):
    client, token, base = two_editors
    _mine, answer = clash(client, token, base)
    saved = client.post(f"/resolve/{PAGE}", data=resolve_form(answer.text, PAGE), headers=FRENCH)
    assert saved.status_code == 302
    text = client.get(f"/raw/{PAGE}").text
    assert "Le loyer est de 120 euros.\nLe loyer est de 90 euros, charges comprises.\n" in text


def test_a_refused_result_comes_back_with_every_choice_and_the_whole_text(two_editors, data_dir):
    client, token, base = two_editors
    mine, answer = clash(client, token, base)
    head = git(data_dir / "wiki.git", "rev-parse", "main").strip()
    fields = resolve_form(answer.text, PAGE)
    fields["choice-1"] = "edit"
    fields["text-1"] = "<<<<<<< à moi\nLoyer 90.\n=======\nLoyer 120.\n>>>>>>> à eux\n"
    fields["choice-2"] = "theirs"
    refused = client.post(f"/resolve/{PAGE}", data=fields, headers=FRENCH)
    assert refused.status_code == 400
    assert "marques de conflit" in visible_text(refused.text)
    assert git(data_dir / "wiki.git", "rev-parse", "main").strip() == head
    again = resolve_form(refused.text, PAGE)
    assert again["text-1"] == fields["text-1"] and again["choice-1"] == "edit"
    assert again["choice-2"] == "theirs" and again["text-2"] == "La durée est de deux ans.\n"
    assert again["yours"] == mine and again["message"] == "Loyer négocié"
    assert again["base_revision"] == head
    fields = {**again, "text-1": "Le loyer est de 95 euros.\n"}
    assert client.post(f"/resolve/{PAGE}", data=fields, headers=FRENCH).status_code == 302
    assert "Le loyer est de 95 euros." in client.get(f"/raw/{PAGE}").text


def test_a_new_change_during_the_resolution_is_a_new_conflict_with_the_text_kept(two_editors):
    client, token, base = two_editors
    mine, answer = clash(client, token, base)
    fields = resolve_form(answer.text, PAGE)
    fields.update({"choice-1": "yours", "choice-2": "yours"})
    current = client.get(f"/raw/{PAGE}").text
    third = client.get(f"/api/v1/pages/{PAGE}").json["revision"]
    api_save(client, token, PAGE, current.replace("120 euros", "130 euros"), base=third)
    again = client.post(f"/resolve/{PAGE}", data=fields, headers=FRENCH)
    assert again.status_code == 409
    seen = visible_text(again.text)
    assert "Le loyer est de 130 euros." in seen and "90 euros, charges comprises" in seen
    assert resolve_form(again.text, PAGE)["yours"] == mine  # the first text typed, still there


def test_a_page_deleted_meanwhile_offers_the_authors_text_again(two_editors, client):
    client, token, base = two_editors
    deleted = client.delete(f"/api/v1/pages/{PAGE}?base_revision={base}", headers=bearer(token))
    assert deleted.status_code == 200
    form = client.get("/edit/home")
    answer = client.post(
        f"/edit/{PAGE}",
        data={"csrf_token": csrf_token(form.text), "base_revision": base, "markdown": "# Convention\n\nMon texte.\n"},
        headers=FRENCH,
    )
    assert answer.status_code == 409
    assert "Mon texte." in answer.text
    saved = client.post(
        f"/edit/{PAGE}",
        data={
            "csrf_token": csrf_token(answer.text),
            "base_revision": form_value(answer.text, "base_revision"),
            "markdown": "# Convention\n\nMon texte.\n",
            "action": "save",
        },
    )
    assert saved.status_code == 302


def test_a_page_created_twice_meanwhile_is_settled_passage_by_passage(two_editors, data_dir):
    client, token, _base = two_editors
    api_save(client, token, "guides/nouvelle", "# Nouvelle\n\nLeur texte.\n")
    form = client.get("/edit/home")
    answer = client.post(
        "/edit/guides/nouvelle",
        data={"csrf_token": csrf_token(form.text), "base_revision": "", "is_new": "1", "markdown": "# Nouvelle\n\nMon texte.\n"},
        headers=FRENCH,
    )
    assert answer.status_code == 409
    assert "Une page de ce nom a été créée entre-temps." in visible_text(answer.text)
    fields = resolve_form(answer.text, "guides/nouvelle")
    assert fields["reason"] == "exists"
    fields["choice-1"] = "both"
    assert client.post("/resolve/guides/nouvelle", data=fields, headers=FRENCH).status_code == 302
    text = client.get("/raw/guides/nouvelle").text
    assert "Leur texte." in text and "Mon texte." in text and not has_conflict_markers(text)


def test_resolving_needs_an_editor(client, two_editors, auth):
    client, _token, _base = two_editors
    auth.logout()
    assert client.post(f"/resolve/{PAGE}", data={}).status_code in (302, 400, 403)


def test_the_api_refuses_markers_in_french_with_its_own_code(client, token):
    text = "# Page\n\n" + block("Loyer 120.\n", "Loyer 90.\n")
    answer = client.put("/api/v1/pages/guides/marques", json={"markdown": text}, headers={**bearer(token), **FRENCH})
    assert answer.status_code == 400
    assert answer.json["error"] == "conflict_markers" and answer.json["problems"] == ["conflict_markers"]
    assert "marques de conflit" in answer.json["message"] and "«\u00a0=======\u00a0»" in answer.json["message"]
    example = "# Page\n\nTitre\n=======\n\n```\n" + block("a\n", "b\n") + "```\n"
    assert client.put("/api/v1/pages/guides/exemple", json={"markdown": example}, headers=bearer(token)).status_code == 201


def test_markers_are_the_code_whatever_else_is_wrong():
    from wiki.app.content_rules import ContentRejected, Problem

    refused = ContentRejected([Problem("too_many_cells", "10"), Problem("conflict_markers")])
    assert (refused.code, refused.status) == ("conflict_markers", 400)
    assert (ContentRejected([Problem("too_large", "10")]).code, ContentRejected([Problem("bad_tags")]).code) == (
        "too_large",
        "invalid",
    )


def test_the_starter_guide_explains_the_buttons_as_the_page_names_them(client):
    page = client.get("/wiki/aide/resoudre-un-conflit", headers=FRENCH)
    assert page.status_code == 200
    seen = visible_text(page.text)
    for words in ("Votre version", "Garder ma version", "Garder la version enregistrée", "Garder les deux", "Rien n'est perdu"):
        assert words in seen, words
    picture = re.search(r'<img [^>]*src="([^"]*conflit-passage\.png)"', page.text)
    assert picture, "the guide shows no picture of the conflict page"
    served = client.get(picture.group(1))
    assert served.status_code == 200 and served.mimetype == "image/png"


# -- in a real browser, on a phone and on a desktop ---------------------------------------


@pytest.fixture(scope="module")
def browser_wiki(tmp_path_factory, initialised_template):
    from browser_support import running_wiki

    with running_wiki(tmp_path_factory.mktemp("conflicts"), initialised_template) as started:
        yield started


@pytest.fixture(scope="module")
def chromium(browser_wiki):
    from browser_support import launched_browser

    with launched_browser() as instance:
        yield instance


GUIDE = Path(__file__).resolve().parents[1] / "wiki" / "starter" / "aide" / "resoudre-un-conflit.md"
GUIDE_PICTURE = GUIDE.with_suffix("") / "conflit-passage.png"


def check_guide_picture(taken: bytes) -> None:
    """The guide « Résoudre un conflit » shows a passage as this test sees it.

    With ``TROUSSE_UPDATE_SCREENSHOTS=1`` the picture just taken replaces the
    starter's copy (to be committed after a change of the page); otherwise the
    copy must be there, shown by the guide, and as wide as the picture taken.
    """
    if os.environ.get("TROUSSE_UPDATE_SCREENSHOTS"):
        GUIDE_PICTURE.parent.mkdir(exist_ok=True)
        GUIDE_PICTURE.write_bytes(taken)
    assert f"]({GUIDE_PICTURE.name})" in GUIDE.read_text(encoding="utf-8")
    kept = GUIDE_PICTURE.read_bytes()
    assert kept[:8] == taken[:8] == b"\x89PNG\r\n\x1a\n"
    assert kept[16:20] == taken[16:20], "the picture's width changed: run with TROUSSE_UPDATE_SCREENSHOTS=1"
    assert len(kept) < 100_000, "keep the guide's picture small"


def write_in_editor(page, text: str) -> None:
    """Type the page's text in the editor, be it the plain text area or the toolbar editor that may replace it."""
    page.locator("#markdown").wait_for(state="attached")
    if page.evaluate("() => window.trousseEditor !== undefined"):
        page.evaluate("text => window.trousseEditor.value(text)", text)
    else:
        page.locator("#markdown").fill(text)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_a_conflict_is_resolved_with_the_buttons_in_a_browser(chromium, browser_wiki, device, tmp_path):
    from browser_support import ADMIN, VIEWPORTS, axe_violations, describe, log_in, overflow

    base, data = browser_wiki
    path = f"essais/resoudre-sur-{device}"
    errors: list[str] = []
    pages = {}
    for who in ("camille", ADMIN):
        # axe-core is added to camille's page as a script: her context bypasses the Content-Security-Policy, so
        # the page's own HTML is checked for inline scripts and styles below instead.
        context = chromium.new_context(locale="fr-FR", bypass_csp=who == "camille", **VIEWPORTS[device])
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None)
        log_in(page, base, who)
        pages[who] = page
    mine, theirs = pages["camille"], pages[ADMIN]
    try:
        mine.goto(f"{base}/edit/{path}")
        write_in_editor(mine, START)
        mine.locator("button[value=save]").click()
        mine.wait_for_url(f"{base}/wiki/{path}")
        mine.goto(f"{base}/edit/{path}")
        theirs.goto(f"{base}/edit/{path}")
        write_in_editor(theirs, START.replace("100 euros", "120 euros").replace("d'un an", "de deux ans"))
        theirs.locator("button[value=save]").click()
        theirs.wait_for_url(f"{base}/wiki/{path}")
        my_text = START.replace("100 euros", "90 euros, charges comprises").replace("d'un an", "de trois ans")
        write_in_editor(mine, my_text)
        mine.get_by_label("Résumé de votre modification (facultatif)").fill("Loyer négocié")
        with mine.expect_response(lambda response: response.request.method == "POST" and "/edit/" in response.url) as response:
            mine.locator("button[value=save]").click()
        assert response.value.status == 409
        mine.wait_for_load_state()

        served = response.value.text()
        assert " style=" not in served and not re.search(r"<script(?![^>]*\bsrc=)", served)
        first, second = mine.locator(".conflict-passage").all()
        assert first.get_by_text("Votre version").is_visible()
        assert re.fullmatch(
            r"La version enregistrée par Dominique Admin à \d\d:\d\d", first.locator("figcaption").nth(1).inner_text()
        )
        assert "<<<<<<<" not in mine.locator("main").inner_text()
        if device == "phone":
            assert overflow(mine) <= 0, f"the conflict page is {overflow(mine)}px wider than the screen"
        violations = axe_violations(mine)
        assert not violations, describe(violations)
        if device == "desktop":
            check_guide_picture(first.screenshot(animations="disabled"))

        # Passage 1: mine. Passage 2: theirs, then typed by hand, then a button, then the hand-typed text again.
        box1, box2 = first.get_by_label("Texte retenu pour ce passage"), second.get_by_label("Texte retenu pour ce passage")
        first.get_by_label("Garder ma version").check()
        assert box1.input_value() == "Le loyer est de 90 euros, charges comprises.\n"
        second.get_by_label("Garder la version enregistrée").check()
        assert box2.input_value() == "La durée est de deux ans.\n"
        box2.fill("La durée est de deux ans, renouvelable une fois.\n")
        assert second.get_by_label("L’écrire moi-même, dans la case ci-dessous").is_checked()
        second.get_by_label("Garder les deux").check()
        assert box2.input_value() == "La durée est de deux ans.\nLa durée est de trois ans.\n"
        second.get_by_label("L’écrire moi-même, dans la case ci-dessous").check()
        assert box2.input_value() == "La durée est de deux ans, renouvelable une fois.\n"  # nothing typed is lost
        mine.locator("summary", has_text="Une copie de tout votre texte").click()
        assert mine.get_by_label("Tout votre texte (non enregistré)", exact=False).input_value() == my_text

        mine.get_by_role("button", name="Enregistrer").click()
        mine.wait_for_url(f"{base}/wiki/{path}")
        text = git(data / "wiki.git", "show", f"main:{path}.md")
        assert "Le loyer est de 90 euros, charges comprises.\n" in text
        assert "La durée est de deux ans, renouvelable une fois.\n" in text
        assert not has_conflict_markers(text) and "120 euros" not in text
        log = git(data / "wiki.git", "log", "-1", "--format=%an|%s").strip()
        assert log == "Camille Été|Loyer négocié"
        assert not errors, errors
    finally:
        for page in pages.values():
            page.context.close()
