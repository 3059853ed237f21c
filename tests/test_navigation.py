"""Finding one's way: breadcrumbs with folder titles, the page tree, the sidebar page, the pages an account read last."""

from __future__ import annotations

import re
from html import unescape

import pytest
from conftest import api_save, bearer, csrf_token, form_value

from wiki.app.navigation import TREE_PAGES_PER_FOLDER, build_tree, humanise

DEEP = "reseau/vie-du-lieu/accueil-des-benevoles"


def breadcrumbs(html: str) -> list[tuple[str, str, bool]]:
    """The trail of a page as (link, text, is the current page), from its one breadcrumb navigation."""
    navs = re.findall(r'<nav class="breadcrumbs" aria-label="Fil d’Ariane"><ol>(.*?)</ol></nav>', html, re.S)
    assert len(navs) == 1, "one breadcrumb trail, as an ordered list in a navigation named Fil d’Ariane"
    items = re.findall(r'<li>(?:<a href="([^"]*)">|<span aria-current="page">)([^<]*)</(?:a|span)></li>', navs[0])
    # The page itself is named, not linked (a link to where one already is would only be a second name for it).
    return [(href or None, unescape(text), not href) for href, text in items]


def sidebar(html: str) -> str | None:
    found = re.search(r'<aside id="site-sidebar" class="site-sidebar" aria-label="Barre latérale">(.*?)</aside>', html, re.S)
    return found.group(1) if found else None


def save_form(client, path: str, markdown: str) -> None:
    page = client.get(f"/edit/{path}")
    assert page.status_code == 200, page.text
    saved = client.post(
        f"/edit/{path}",
        data={
            "csrf_token": csrf_token(page.text),
            "base_revision": form_value(page.text, "base_revision"),
            "markdown": markdown,
            "action": "save",
        },
    )
    assert saved.status_code == 302, saved.text


@pytest.fixture
def token(auth):
    """An API token of Camille, an editor (logged in or not, as the test needs)."""
    auth.create("camille", "editor", "Camille Été")
    return auth.token("camille")


@pytest.fixture
def editor(auth, token):
    """Camille, logged in."""
    assert auth.login().status_code == 302
    return auth


@pytest.fixture
def nested(client, token):
    """A page two folders deep; the outer folder has a page of its own name, the inner one has none."""
    api_save(client, token, "reseau", "---\ntitle: Le réseau & ses lieux\n---\nTout sur le réseau.\n")
    api_save(client, token, DEEP, "# Accueil des bénévoles\n\nUn café, un badge.\n")
    return DEEP


def test_breadcrumbs_name_folders_by_their_titles(client, nested):
    trail = breadcrumbs(client.get(f"/wiki/{nested}").text)
    assert trail == [
        ("/wiki/home", "Accueil", False),
        ("/pages/reseau", "Le réseau & ses lieux", False),  # the page at the folder's path gives its title
        ("/pages/reseau/vie-du-lieu", "Vie du lieu", False),  # no such page: the folder's name, humanised
        (None, "Accueil des bénévoles", True),
    ]


def test_breadcrumbs_on_the_history_diff_and_editor_of_a_page(client, editor, nested):
    expected = ["Accueil", "Le réseau & ses lieux", "Vie du lieu", "Accueil des bénévoles"]
    for address in (f"/history/{nested}", f"/diff/{nested}", f"/edit/{nested}"):
        response = client.get(address)
        assert response.status_code == 200, address
        trail = breadcrumbs(response.text)
        assert [text for _link, text, _current in trail] == expected, address
        assert not any(current for *_rest, current in trail), f"{address} is not the page itself"
    old = client.get(f"/api/v1/pages/{nested}/history").json["revisions"][-1]["revision"]
    assert [text for _l, text, _c in breadcrumbs(client.get(f"/wiki/{nested}?rev={old}").text)] == expected


def test_a_folder_title_follows_its_page(client, token, nested):
    api_save(client, token, "reseau/vie-du-lieu", "# La vie des lieux\n")
    trail = breadcrumbs(client.get(f"/wiki/{nested}").text)
    assert trail[2] == ("/pages/reseau/vie-du-lieu", "La vie des lieux", False)


def test_the_tree_holds_every_folder_and_page_and_opens_without_javascript(client, nested):
    html = client.get("/pages").text
    tree = re.search(r'<section aria-labelledby="tree-title" class="page-tree">(.*?)</section>', html, re.S).group(1)
    # Each folder is a <details> whose <summary> gives its title and how many pages it holds.
    assert re.search(
        r'<details>\s*<summary><span class="tree-title">Le réseau &amp; ses lieux</span> <span class="count">\(1 page\)', tree
    )
    assert re.search(r'<summary><span class="tree-title">Vie du lieu</span> <span class="count">\(1 page\)</span>', tree)
    assert f'<a href="/wiki/{nested}">Accueil des bénévoles</a>' in tree
    assert '<a href="/wiki/guides/se-former-autrement">Se former autrement</a>' in tree
    assert '<a href="/pages/reseau/vie-du-lieu">' in tree  # and each folder leads to its own listing
    # Nested: the inner folder sits inside the outer one.
    outer = tree.index("Le réseau &amp; ses lieux")
    assert outer < tree.index("Vie du lieu") < tree.index("Accueil des bénévoles")
    assert "<script" not in tree


def test_the_templates_folder_is_named_in_the_readers_language(client):
    french = client.get("/pages").text
    assert '<summary><span class="tree-title">Modèles de pages</span>' in french and ">Templates<" not in french
    assert "<h1>Dossier Modèles de pages</h1>" in client.get("/pages/_templates").text
    english = client.get("/pages", headers={"Accept-Language": "en"}).text
    assert '<summary><span class="tree-title">Page templates</span>' in english


def test_a_folder_listing_is_its_own_tree(client, nested):
    response = client.get("/pages/reseau")
    assert response.status_code == 200
    assert "<h1>Dossier Le réseau &amp; ses lieux</h1>" in response.text
    assert '<summary><span class="tree-title">Vie du lieu</span>' in response.text
    assert f'<a href="/wiki/{nested}">Accueil des bénévoles</a>' in response.text
    assert "se-former-autrement" not in response.text.split('id="tree-title"')[1]
    assert client.get("/pages/nulle-part").status_code == 404


def test_the_tree_is_built_in_one_pass_and_bounded_per_folder():
    titles = {f"grand/page-{n:05d}": f"Page {n:05d}" for n in range(10_000)}
    titles |= {"grand": "Le grand dossier", "a/b/c/d": "Profond", "z": "Z"}
    tree = build_tree(titles)
    assert tree.total == len(titles)
    big = next(child for child in tree.folders if child.path == "grand")
    assert big.title == "Le grand dossier" and big.total == 10_000
    assert len(big.pages) == TREE_PAGES_PER_FOLDER and big.hidden == 10_000 - TREE_PAGES_PER_FOLDER
    deep = next(child for child in tree.folders if child.path == "a")
    assert deep.title == "A" and deep.folders[0].folders[0].pages == [("a/b/c/d", "Profond")]
    assert [title for _path, title in tree.pages] == ["Le grand dossier", "Z"]
    # The folder being looked at lists all its own pages.
    assert len(build_tree(titles, "grand", "Le grand dossier").pages) == 10_000
    assert humanise("vie-du_lieu") == "Vie du lieu"


def test_a_big_folder_in_the_tree_links_to_the_rest(client, token, monkeypatch):
    monkeypatch.setattr("wiki.app.navigation.TREE_PAGES_PER_FOLDER", 2)
    for n in range(4):
        api_save(client, token, f"liste/page-{n}", f"# Page {n}\n")
    html = client.get("/pages").text
    assert html.count('href="/wiki/liste/page-') == 2
    assert '<a href="/pages/liste">2 autres pages dans ce dossier</a>' in html
    assert client.get("/pages/liste").text.count('href="/wiki/liste/page-') == 4


def test_the_sidebar_page_is_beside_every_page(client):
    for address in ("/wiki/home", "/wiki/guides/se-former-autrement", "/pages", "/changes", "/search?q=loyer"):
        side = sidebar(client.get(address).text)
        assert side is not None, address
        assert '<a class="wikilink" href="/wiki/aide/modifier-une-page"' in side
    assert "Modifier la barre latérale" not in side, "only editors are offered to change it"


def test_the_sidebar_is_edited_as_a_normal_page(client, editor):
    side = sidebar(client.get("/wiki/home").text)
    assert '<a href="/edit/barre-laterale">Modifier la barre latérale</a>' in side
    save_form(client, "barre-laterale", "- [[juridique/montages-et-gouvernance|Nos statuts]]\n- **Permanences** le jeudi\n")
    side = sidebar(client.get("/wiki/guides/se-former-autrement").text)
    assert '<a class="wikilink" href="/wiki/juridique/montages-et-gouvernance"' in side and "Nos statuts" in side
    assert "<strong>Permanences</strong>" in side and "Pour commencer" not in side
    assert client.get("/api/v1/pages/barre-laterale").json["markdown"].startswith("- [[juridique")


def test_the_sidebar_is_shown_to_visitors_once_changed(client, token):
    client.get("/wiki/home")  # kept whole for anonymous visitors: a change of the sidebar must still show
    api_save(
        client,
        token,
        "barre-laterale",
        "Bienvenue, **voisins**.\n",
        base=client.get("/api/v1/pages/barre-laterale").json["revision"],
    )
    assert "<strong>voisins</strong>" in sidebar(client.get("/wiki/home").text)


def test_without_its_page_the_sidebar_invites_editors_only(client, editor, token):
    revision = client.get("/api/v1/pages/barre-laterale").json["revision"]
    assert client.delete(f"/api/v1/pages/barre-laterale?base_revision={revision}", headers=bearer(token)).status_code == 200
    side = sidebar(client.get("/wiki/home").text)
    assert "Écrire une barre latérale pour toutes les pages" in side and "sidebar-content" not in side
    editor.logout()
    assert sidebar(client.get("/wiki/home").text) is None


def test_the_sidebar_setting(app_factory, data_dir):
    none = app_factory({"site": {"sidebar": ""}}).test_client()
    assert sidebar(none.get("/wiki/home").text) is None
    other = app_factory({"site": {"sidebar": "licence"}}).test_client()
    assert "CC BY-SA" in sidebar(other.get("/wiki/home").text)


def test_a_private_wiki_shows_no_sidebar_before_login(app_factory):
    client = app_factory({"access": {"read": "accounts"}}).test_client()
    login = client.get("/login")
    assert login.status_code == 200 and sidebar(login.text) is None


def recent(client) -> list[str]:
    html = client.get("/account").text
    section = re.search(r'<section id="recent-pages".*?</section>', html, re.S).group(0)
    return re.findall(r'<li><a href="/wiki/([^"]+)">', section)


def test_pages_read_are_listed_latest_first_for_the_account(client, editor):
    for path in ("guides/se-former-autrement", "licence", "guides/partager-des-documents", "licence"):
        assert client.get(f"/wiki/{path}").status_code == 200
    client.get("/wiki/une-page-absente")  # missing: not listed
    assert recent(client) == ["licence", "guides/partager-des-documents", "guides/se-former-autrement"]
    html = client.get("/account").text
    assert '<a href="/wiki/licence">Licence des contenus</a>' in html  # by their titles
    # An old revision is not "reading the page".
    history = client.get("/api/v1/pages/home/history").json["revisions"]
    client.get(f"/wiki/home?rev={history[-1]['revision']}")
    assert "home" not in recent(client)


def test_an_account_keeps_its_last_ten_pages(client, token, editor):
    for n in range(12):
        api_save(client, token, f"lus/page-{n:02d}", f"# Page {n}\n")
        client.get(f"/wiki/lus/page-{n:02d}")
    assert recent(client) == [f"lus/page-{n:02d}" for n in range(11, 1, -1)]


def test_each_account_has_its_own_list_and_clears_it(client, auth, editor):
    client.get("/wiki/licence")
    auth.create("alix", "reader", "Alix")
    other = client.application.test_client()
    Other = type(auth)
    Other(client.application, other).login("alix")
    other.get("/wiki/guides/tiers-lieux-nourriciers")
    assert recent(other) == ["guides/tiers-lieux-nourriciers"]
    assert recent(client) == ["licence"]
    page = client.get("/account")
    cleared = client.post("/account/recent", data={"csrf_token": csrf_token(page.text)})
    assert cleared.status_code == 302 and cleared.headers["Location"].endswith("/account#recent-pages")
    assert recent(client) == []
    assert recent(other) == ["guides/tiers-lieux-nourriciers"]
    assert "Aucune page pour l’instant" in client.get("/account").text
    assert client.post("/account/recent", data={}).status_code == 400, "a form without its CSRF token is refused"


def test_anonymous_visits_are_not_kept(client, app):
    client.get("/wiki/licence")
    store = app.extensions["trousse.recent_pages"]
    assert store._db().execute("SELECT count(*) FROM recent_pages").fetchone()[0] == 0
    assert client.post("/account/recent").status_code in (400, 401, 302)


def test_a_moved_page_stays_in_the_list(client, token, editor):
    api_save(client, token, "ancien/nom", "# Un nom\n")
    client.get("/wiki/ancien/nom")
    moved = client.post("/api/v1/pages/ancien/nom/move", json={"to": "nouveau/nom"}, headers=bearer(token))
    assert moved.status_code == 200, moved.text
    assert recent(client) == ["nouveau/nom"]


def test_made_up_folders_are_not_kept(client, app):
    for n in range(20):
        assert client.get(f"/pages/invente-{n}").status_code == 404
    assert not any(folder.startswith("invente") for folder in app.extensions["trousse.navigation"]._trees)
