"""Reading and editing pages through the Flask test client."""

from __future__ import annotations

import re

import pytest
from conftest import api_save, csrf_token, form_value, git


def save_form(client, path, markdown, *, base=None, message="", action="save"):
    page = client.get(f"/edit/{path}")
    assert page.status_code == 200, page.text
    return client.post(
        f"/edit/{path}",
        data={
            "csrf_token": csrf_token(page.text),
            "base_revision": form_value(page.text, "base_revision") if base is None else base,
            "markdown": markdown,
            "message": message,
            "action": action,
        },
    )


def test_home_redirects_to_the_home_page(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/wiki/home"


def test_starter_home_page_is_french_and_renders(client):
    response = client.get("/wiki/home")
    assert response.status_code == 200
    assert '<html lang="fr">' in response.text
    assert "<h1>Accueil</h1>" in response.text
    assert 'rel="license"' in response.text
    assert 'class="toc"' in response.text


def test_english_on_request(client):
    response = client.get("/wiki/home", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in response.text and "All pages" in response.text
    french = client.get("/wiki/home", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert "Toutes les pages" in french.text
    switched = client.get("/lang/en?next=/wiki/home")
    assert switched.headers["Location"] == "/wiki/home"
    assert '<html lang="en">' in client.get("/wiki/home").text


def test_language_switch_refuses_foreign_redirects(client):
    assert client.get("/lang/en?next=//evil.example").headers["Location"] == "/"


def test_missing_page_offers_creation(client, editor):
    response = client.get("/wiki/guides/nouvelle-page")
    assert response.status_code == 404
    assert "/edit/guides/nouvelle-page" in response.text


def test_missing_page_for_anonymous_offers_login(client):
    response = client.get("/wiki/guides/nouvelle-page")
    assert response.status_code == 404
    assert "/login?next=" in response.text


def test_create_page_from_title_with_accents(client, editor, data_dir):
    response = client.get("/new", query_string={"title": "Élus & mairies", "folder": "guides"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/edit/guides/elus-mairies?title=")
    editor_page = client.get(response.headers["Location"])
    assert "# Élus &amp; mairies" in editor_page.text
    saved = save_form(client, "guides/elus-mairies", "# Élus & mairies\n\nNégocier un loyer modéré.\n")
    assert saved.status_code == 302 and saved.headers["Location"] == "/wiki/guides/elus-mairies"
    page = client.get("/wiki/guides/elus-mairies")
    assert "<h1>Élus &amp; mairies</h1>" in page.text and "Négocier un loyer modéré." in page.text
    log = git(data_dir / "wiki.git", "log", "-1", "--format=%an|%ae|%s")
    name, email, subject = log.strip().split("|")
    assert name == "Camille Été" and "noreply" in email and subject == "Crée « Élus & mairies »"


def test_new_page_with_existing_name_points_to_it(client, editor):
    response = client.get("/new", query_string={"title": "Licence"})
    assert response.status_code == 409 and "/wiki/licence" in response.text


def test_new_page_paths_must_be_slugs(client, editor):
    assert client.get("/edit/Guides/Élus").status_code == 400


def test_edit_commits_with_message(client, editor, data_dir):
    response = save_form(client, "home", "# Accueil\n\nNouveau texte.\n", message="Mise à jour de l'accueil")
    assert response.status_code == 302
    assert git(data_dir / "wiki.git", "log", "-1", "--format=%s").strip() == "Mise à jour de l'accueil"
    assert "Nouveau texte." in client.get("/wiki/home").text


def test_preview_does_not_commit(client, editor, data_dir):
    before = git(data_dir / "wiki.git", "rev-parse", "main")
    response = save_form(client, "home", "# Accueil\n\n**Aperçu**\n", action="preview")
    assert response.status_code == 200 and "<strong>Aperçu</strong>" in response.text
    assert git(data_dir / "wiki.git", "rev-parse", "main") == before


def test_concurrent_edits_merge_or_conflict_keeping_text(app, client, editor):
    other = app.test_client()
    editor.client = other
    editor.login()
    editor.client = client
    lines = ["# Loyers", ""] + [f"Paragraphe {n} sur les loyers." for n in range(12)] + [""]
    save_form(client, "loyers", "\n".join(lines), base="")
    first = client.get("/edit/loyers")
    second = other.get("/edit/loyers")
    base = form_value(first.text, "base_revision")

    def post(who, page, markdown):
        return who.post(
            "/edit/loyers",
            data={"csrf_token": csrf_token(page.text), "base_revision": base, "markdown": markdown, "action": "save"},
        )

    edited = list(lines)
    edited[2] = "Premier paragraphe modifié par Camille."
    assert post(client, first, "\n".join(edited)).status_code == 302
    merged = list(lines)
    merged[-3] = "Avant-dernière ligne modifiée par l'autre."
    assert post(other, second, "\n".join(merged)).status_code == 302
    both = client.get("/raw/loyers").text
    assert "Premier paragraphe modifié par Camille." in both and "Avant-dernière ligne modifiée" in both
    clash = list(lines)
    clash[2] = "Ma version du premier paragraphe."
    conflict = post(other, second, "\n".join(clash))
    assert conflict.status_code == 409
    assert "Ma version du premier paragraphe." in conflict.text
    assert "Premier paragraphe modifié par Camille." in conflict.text
    assert "&lt;&lt;&lt;&lt;&lt;&lt;&lt;" in conflict.text
    assert "Premier paragraphe modifié par Camille." in client.get("/raw/loyers").text


def test_form_without_csrf_is_refused(client, editor, data_dir):
    before = git(data_dir / "wiki.git", "rev-parse", "main")
    response = client.post("/edit/home", data={"markdown": "vandalisme", "action": "save"})
    assert response.status_code == 400
    assert git(data_dir / "wiki.git", "rev-parse", "main") == before


def test_forged_csrf_token_is_refused(client, editor):
    response = client.post("/edit/home", data={"markdown": "x", "csrf_token": "forged", "action": "save"})
    assert response.status_code == 400


def test_reader_cannot_edit(client, auth):
    auth.create("lecteur", "reader")
    auth.login("lecteur")
    assert client.get("/edit/home").status_code == 403


def test_anonymous_edit_goes_to_login(client):
    response = client.get("/edit/home")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=/edit/home")


def test_malformed_front_matter_is_refused_with_text_kept(client, editor):
    response = save_form(client, "home", "---\ntitle: [oops\n---\n\nMon texte précieux\n")
    assert response.status_code == 400
    assert "Mon texte précieux" in response.text and 'role="alert"' in response.text


def test_unknown_licence_is_refused(client, editor):
    response = save_form(client, "home", "---\nlicence: WTFPL-9\n---\n\nTexte\n")
    assert response.status_code == 400 and "WTFPL-9" in response.text


def test_huge_page_is_refused(app_factory, editor):
    app = app_factory({"limits": {"max_page_bytes": 1000}, "storage": {"fsync": False}})
    client = app.test_client()
    editor.app, editor.client = app, client
    editor.login()
    response = save_form(client, "home", "x" * 2000)
    assert response.status_code == 413


@pytest.mark.parametrize(
    "url, status",
    [
        ("/wiki/-x", 400),
        ("/wiki/a%00b", 400),
        ("/wiki/.git/config", 400),
        ("/wiki/a%0Ab", 404),  # no route matches a line break
        ("/raw/..%2f..%2fetc", 400),
        ("/wiki/" + "x" * 300, 400),
    ],
)
def test_hostile_page_names_get_clear_errors(client, url, status):
    response = client.get(url)
    assert response.status_code == status
    assert "Traceback" not in response.text


def test_script_in_title_and_message_is_escaped(client, editor, data_dir):
    save_form(
        client,
        "guides/xss",
        "---\ntitle: <script>alert(1)</script>\n---\n\ntexte\n",
        message="<img src=x onerror=alert(1)>",
        base="",
    )
    page = client.get("/wiki/guides/xss").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_all_pages_by_folder(client):
    response = client.get("/pages")
    assert response.status_code == 200
    assert "/pages/guides" in response.text and "Accueil" in response.text
    title = re.search(r"<title>(.*?)</title>", response.text, re.S).group(1)
    assert title.startswith("Toutes les pages") and "<" not in title
    clone = re.search(r'<section aria-labelledby="clone-title".*?</section>', response.text, re.S).group(0)
    assert re.search(r"git clone https?://\S+/wiki.git", clone)
    folder = client.get("/pages/guides")
    assert "Se former autrement" in folder.text
    assert client.get("/pages/absent").status_code == 404


def test_raw_markdown(client):
    response = client.get("/raw/home")
    assert response.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert response.text.startswith("---\ntitle: Accueil")


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json["status"] == "ok"


def test_security_headers(client):
    response = client.get("/wiki/home")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_old_revision_renders_with_banner(client, editor, data_dir):
    first = git(data_dir / "wiki.git", "rev-parse", "main").strip()
    save_form(client, "home", "# Accueil\n\nVersion deux.\n")
    old = client.get(f"/wiki/home?rev={first}")
    assert old.status_code == 200 and 'id="old-banner"' in old.text and "Version deux." not in old.text
    assert client.get("/wiki/home?rev=--output=x").status_code == 400
    assert client.get(f"/wiki/home?rev={'0' * 40}").status_code == 404


def test_display_name_with_markup_is_escaped(client, auth):
    auth.create("mallory", "editor", "<img src=x onerror=alert(1)>Mallory")
    auth.login("mallory")
    save_form(client, "home", "# Accueil\n\nModifié.\n")
    page = client.get("/wiki/home").text
    assert "<img src=x onerror=alert(1)>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;Mallory" in page


@pytest.mark.parametrize("value", ["2024-02-30", "0000-01-01", "1" * 5000])
def test_values_python_cannot_build_are_refused_not_crashing(client, editor, value):
    response = save_form(client, "home", f"---\ndate_debut: {value}\n---\n\nTexte\n")
    assert response.status_code == 400 and "Traceback" not in response.text


def test_a_page_with_an_impossible_date_in_git_does_not_break_the_wiki(app, client):
    from repo_store import FileChange, Identity

    app.extensions["trousse"].store.commit(
        [FileChange("loyers/date-impossible.md", b"---\ndate_debut: 2024-02-30\n---\n\n# Date impossible\n")],
        author=Identity("x", "x@x"),
        message="imported",
    )
    assert client.get("/healthz").status_code == 200
    page = client.get("/wiki/loyers/date-impossible")
    assert page.status_code == 200 and 'role="alert"' in page.text
    assert client.get("/collections/loyers.json").status_code == 200


def test_lone_surrogates_are_refused(client, auth):
    auth.create()
    response = client.put(
        "/api/v1/pages/x",
        data='{"markdown": "hi \\ud800"}',
        headers={"Authorization": f"Bearer {auth.token()}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and response.json["error"] == "invalid"


def test_git_endpoint_refuses_control_characters(client):
    assert client.get("/wiki.git/%00").status_code == 404
    assert client.get("/wiki.git/../x").status_code == 404


def test_anonymous_page_cache_follows_main_and_ignores_query_strings(client, app, token):
    cache = app.extensions["trousse"].page_html
    assert client.get("/wiki/guides/cache").status_code == 404
    first_revision = api_save(client, token, "guides/cache", "# Cache\n\nPremière version.\n")
    assert "Première version" in client.get("/wiki/guides/cache").text
    assert len(cache) == 1
    for n in range(20):
        assert "Première version" in client.get(f"/wiki/guides/cache?n={n}").text
    assert len(cache) == 1, "a made-up query string must not add a copy of the page"
    api_save(client, token, "guides/cache", "# Cache\n\nSeconde version.\n", base=first_revision)
    assert "Seconde version" in client.get("/wiki/guides/cache").text
