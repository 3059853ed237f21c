"""Rendering is a pure function: Markdown in, sanitised HTML out."""

from __future__ import annotations

import re

import pytest

from wiki.render.rendering import LinkTarget, render

EXISTING = {"home": "Accueil", "juridique/statuts": "Statuts de l'association"}


def resolve(target: str) -> LinkTarget:
    for path, title in EXISTING.items():
        if target in (path, title):
            return LinkTarget(f"/wiki/{path}", True, path)
    return LinkTarget(f"/edit/{target.lower().replace(' ', '-')}", False, None)


def html_of(markdown: str) -> str:
    return render(markdown, resolve_link=resolve).html


XSS_VECTORS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" ONERROR="alert(1)">',
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="https://evil.example"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="jav&#x61;script:alert(1)">x</a>',
    '<a href="jav&#97;script&colon;alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](jav&#x61;script:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<p onclick="alert(1)">x</p>',
    "<details open ontoggle=alert(1)>x</details>",
    '<form action="javascript:alert(1)"><button>x</button></form>',
    "<input onfocus=alert(1) autofocus>",
    "<body onload=alert(1)>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<link rel="stylesheet" href="javascript:alert(1)">',
    '<style>body{background:url("javascript:alert(1)")}</style>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '[[x" onmouseover="alert(1)]]',
    "[[home|<img src=x onerror=alert(1)>]]",
    '<a href="#" onmouseover="alert(1)">x</a>',
    "<textarea><script>alert(1)</script></textarea>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    '<img srcset="javascript:alert(1)">',
]

_DANGER = re.compile(
    r"<script|<iframe|<object|<embed|<svg|<style|<form|<base|<meta|<link|\son\w+\s*=|javascript:|vbscript:|data:|srcdoc",
    re.IGNORECASE,
)


@pytest.mark.parametrize("vector", XSS_VECTORS)
def test_xss_vectors_are_neutralised(vector):
    html = html_of(f"# Page\n\n{vector}\n\nfin")
    # Whatever survives is either inert text or allow-listed markup.
    for match in re.finditer(r"<[^>]+>", html):
        assert not _DANGER.search(match.group(0)), f"{vector!r} -> {html!r}"


def test_xss_vector_inside_text_is_escaped():
    html = html_of("Un texte avec `<script>alert(1)</script>` dans du code.")
    assert "&lt;script&gt;" in html and "<script>" not in html


def test_commonmark_and_gfm():
    html = html_of(
        "## Titre\n\n**gras** _italique_ ~~barré~~\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n"
        "- [x] fait\n- [ ] à faire\n\nNote[^1]\n\n[^1]: La note.\n\nhttps://example.org\n"
    )
    assert '<h2 id="titre">Titre</h2>' in html
    assert "<strong>gras</strong>" in html and "<em>italique</em>" in html and "<s>barré</s>" in html
    assert "<table>" in html and 'class="align-right"' in html and "style=" not in html
    assert 'type="checkbox"' in html and "checked" in html and "disabled" in html
    assert 'class="footnote-ref"' in html and "La note." in html
    assert '<a href="https://example.org"' in html


def test_a_task_checkbox_is_labelled_by_its_text():
    html = html_of("- [x] fait **vite**\n- [ ] à faire\n  - [ ] sous-tâche\n\n- [ ] lâche\n\n  suite\n")
    checkbox = '<input class="task-list-item-checkbox" type="checkbox" checked="" disabled="disabled">'
    assert f"<label>{checkbox} fait <strong>vite</strong></label>" in html
    assert html.count("<label>") == html.count("</label>") == html.count("<input") == 4
    # The label holds the first paragraph only: never a nested list or a following paragraph.
    assert re.search(r"</label>(</p>)?\s*<ul", html) and "<p>suite</p>" in html


def test_heading_anchors_and_toc():
    rendered = render("# Titre\n\n## Élus & mairies\n\n### Loyers\n\n## Élus & mairies\n", resolve_link=resolve)
    assert [(e.level, e.anchor, e.text) for e in rendered.toc] == [
        (2, "elus-mairies", "Élus & mairies"),
        (3, "loyers", "Loyers"),
        (2, "elus-mairies-1", "Élus & mairies"),
    ]


def test_front_matter_is_parsed_not_shown():
    rendered = render("---\ntitle: Statuts\ntags: [juridique]\nlicence: CC0-1.0\n---\n\nCorps\n", resolve_link=resolve)
    assert rendered.title == "Statuts"
    assert rendered.meta == {"title": "Statuts", "tags": ["juridique"], "licence": "CC0-1.0"}
    assert "title:" not in rendered.html and "Corps" in rendered.html


@pytest.mark.parametrize(
    "front",
    [
        "title: [unclosed",
        "- a list\n- not a mapping",
        "a: &x [1, 2]\nb: *x",
        "title: !!python/object:os.system ls",
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
    ],
)
def test_malformed_front_matter_is_reported(front):
    rendered = render(f"---\n{front}\n---\n\nCorps\n", resolve_link=resolve)
    assert rendered.meta_error
    assert rendered.meta == {}
    assert "Corps" in rendered.html


def test_title_from_heading_then_path():
    assert render("# Mon titre\n\ntexte", resolve_link=resolve, path="x").title == "Mon titre"
    assert render("texte", resolve_link=resolve, path="guides/x").title == "guides/x"


def test_leading_title_heading_is_not_repeated():
    html = html_of("# Mon titre\n\nTexte")
    assert "Mon titre" not in html


def test_wikilinks_by_title_and_path():
    rendered = render("Voir [[Statuts de l'association]], [[home|l'accueil]] et [[Nouvelle page]].", resolve_link=resolve)
    html = rendered.html
    assert '<a class="wikilink" href="/wiki/juridique/statuts"' in html
    assert '<a class="wikilink" href="/wiki/home" rel="noopener noreferrer">l\'accueil</a>' in html
    assert 'class="wikilink missing" href="/edit/nouvelle-page"' in html
    assert rendered.links == {"juridique/statuts": True, "home": True, "Nouvelle page": False}


def test_wikilink_in_code_is_left_alone():
    assert "[[home]]" in html_of("`[[home]]`")
