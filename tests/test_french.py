"""French everywhere, English on request: the command line, role names, dates, plurals, headings."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from babel.dates import format_date
from click.testing import CliRunner
from conftest import PASSWORD, api_save, git

from wiki.cli import language
from wiki.cli.commands import main

NBSP = "\u00a0"


class VisibleText(HTMLParser):
    """The text a reader sees: no tags, no attributes, no scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "textarea", "head"):
            self._hidden += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "textarea", "head"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


# -- the command line ------------------------------------------------------


@pytest.fixture
def cli(data_dir):
    runner = CliRunner()

    def run(*args, input=None, env=None):
        return runner.invoke(main, ["--data", str(data_dir), *args], input=input, env=env)

    return run


def add(cli, name="camille", role="editor", *more):
    return cli("user", "add", name, "--role", role, "--password-stdin", *more, input=PASSWORD + "\n")


def test_the_command_line_speaks_french_by_default(cli):
    added = add(cli)
    assert added.exit_code == 0, added.output
    assert added.output.strip() == "Compte camille créé (éditeur)."
    add(cli, "leo", "reader")
    assert "camille\téditeur\tactif\tcamille" in cli("user", "list").output
    assert cli("user", "set-role", "leo", "administrateur").output.strip() == "leo est maintenant administrateur."
    assert cli(
        "user", "disable", "camille"
    ).output.strip() == "Le compte camille est désactivé ; ses sessions sont fermées.".replace(" ;", NBSP + ";")
    assert cli("check").output.strip() == "Tout est en ordre."
    token = cli("token", "create", "camille").output.strip().splitlines()
    assert token[0] == f"Jeton de camille (montré une seule fois, gardez-le en lieu sûr){NBSP}:"
    assert token[-1].startswith("trousse_")


def test_refusals_are_one_french_sentence(cli):
    add(cli)
    again = add(cli)
    assert again.exit_code != 0
    assert again.output.strip() == f"Erreur{NBSP}: Un compte nommé camille existe déjà."
    weak = cli("user", "add", "zoe", "--role", "editor", "--password-stdin", input="court\n")
    assert f"Erreur{NBSP}: Un mot de passe compte au moins 8 caractères." in weak.output
    unknown_role = cli("user", "add", "zoe", "--role", "dieu", "--password-stdin", input=PASSWORD + "\n")
    assert unknown_role.exit_code != 0 and "dieu n’est pas un rôle" in unknown_role.output
    assert "Traceback" not in again.output + weak.output + unknown_role.output


def test_init_twice_is_refused_in_french(cli, data_dir):
    again = cli("init")
    assert again.exit_code != 0
    assert again.output.strip() == f"Erreur{NBSP}: {data_dir} contient déjà un wiki."


def test_the_password_is_asked_in_french(cli):
    typed = cli("user", "add", "camille", "--role", "éditeur", input=f"{PASSWORD}\nautre chose\n{PASSWORD}\n{PASSWORD}\n")
    assert typed.exit_code == 0, typed.output
    assert f"Mot de passe{NBSP}:" in typed.output and f"Le mot de passe encore, pour vérifier{NBSP}:" in typed.output
    assert "Les deux mots de passe diffèrent" in typed.output
    assert "Compte camille créé (éditeur)." in typed.output


def test_english_on_request(cli, data_dir):
    assert add(cli, "camille", "editor", "--display-name", "Camille").exit_code == 0
    assert cli("--lang", "en", "user", "set-role", "camille", "admin").output.strip() == "camille is now administrator."
    assert cli("check", env={"TROUSSE_LANG": "en"}).output.strip() == "Everything is in order."
    (data_dir / "config.toml").write_text('[site]\nlanguage = "en"\n', encoding="utf-8")
    assert add(cli, "leo").output.strip() == "Account leo created (editor)."
    assert cli("--lang", "fr", "check").output.strip() == "Tout est en ordre."


def test_french_plurals_and_typography():
    language.choose("fr")
    try:
        assert language.ngettext("%(num)d link:", "%(num)d links:", 0) == f"0 lien{NBSP}:"
        assert language.ngettext("%(num)d link:", "%(num)d links:", 1) == f"1 lien{NBSP}:"
        assert language.ngettext("%(num)d link:", "%(num)d links:", 2) == f"2 liens{NBSP}:"
        assert [language.role_label(role) for role in ("reader", "editor", "admin")] == ["lecteur", "éditeur", "administrateur"]
    finally:
        language.choose("fr")


def test_no_question_mark_placeholders_in_the_french_catalogue():
    from pathlib import Path

    from babel.messages.pofile import read_po

    with open(Path(__file__).resolve().parents[1] / "wiki/translations/fr/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        for text in message.string if isinstance(message.string, (list, tuple)) else [message.string]:
            assert "? ?" not in text and text.strip() != "?", message.id
            # A colon or question mark closing a French sentence has a space before it, not glued to the word.
            assert not re.search(r"\w[:?!;]$", text), (message.id, text)


# -- pages -----------------------------------------------------------------


def test_roles_are_named_in_french_on_the_account_and_admin_pages(client, auth):
    auth.create("camille", "admin", "Camille")
    auth.login()
    account = visible(client.get("/account").text)
    assert "rôle : administrateur" in account.replace(NBSP, " ")
    admin = client.get("/admin").text
    for name in ("lecteur", "éditeur", "administrateur"):
        assert f">{name}</option>" in admin
    assert ">reader<" not in admin and ">editor<" not in admin


def test_a_page_says_when_and_by_whom_it_changed_and_shows_no_hash(client, token, app):
    revision = api_save(client, token, "loyers/conventions-essai", "# Conventions avec les mairies\n\nTexte.\n")
    html = client.get("/wiki/loyers/conventions-essai").text
    today = format_date(datetime.now(UTC), "long", locale="fr")  # the test runs the same day as the save
    text = visible(html).replace(NBSP, " ")
    assert f"Modifié le {today} par Camille Été." in text
    assert revision[:7] not in text and revision not in text
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT', html)


def test_history_keeps_the_revision_number_aside(client, token):
    first = api_save(client, token, "guides/essai", "# Essai\n")
    second = api_save(client, token, "guides/essai", "# Essai\n\nSuite.\n", first)
    html = client.get("/history/guides/essai").text
    assert f'<td class="revision-id"><small><code>{second[:7]}</code></small></td>' in html
    labels = re.findall(r'aria-label="([^"]*)"', html)
    compare = [label for label in labels if label.startswith("comparer")]
    assert compare and all(first[:7] not in label and second[:7] not in label for label in compare)
    assert all("par Camille Été" in label for label in compare)


def test_the_editor_names_the_page_by_its_title(client, editor):
    api_save(client, editor.token(), "loyers/conventions-essai", "# Conventions avec les mairies\n\nTexte.\n")
    html = client.get("/edit/loyers/conventions-essai").text
    assert f"<h1>Modifier «{NBSP}Conventions avec les mairies{NBSP}»</h1>" in html
    new = client.get("/edit/guides/repair-cafe?title=Animer un repair café").text
    assert f"<h1>Nouvelle page{NBSP}: «{NBSP}Animer un repair café{NBSP}»</h1>" in new


def test_wanted_pages_count_their_links_in_french(client, editor):
    api_save(client, editor.token(), "guides/source", "# Source\n\nVoir [[Page encore absente]].\n")
    html = client.get("/curation").text
    assert f"1 lien{NBSP}:" in html and "lien:" not in html


def test_commit_authorship_is_unchanged_by_the_language(client, token, data_dir):
    api_save(client, token, "guides/essai", "# Essai\n")
    assert git(data_dir / "wiki.git", "log", "-1", "--format=%an", "main").strip() == "Camille Été"


def test_the_starter_guide_explains_the_editor_in_plain_words(client):
    text = visible(client.get("/wiki/aide/modifier-une-page").text)
    for part in (
        "La barre d'outils",
        "L'aperçu",
        "Enregistrer",
        "Rien ne se perd",
        "Reprendre le brouillon",
        "Aide-mémoire Markdown",
    ):
        assert part in text, part


def test_old_versions_and_deleted_pages_give_a_readable_date(client, token):
    first = api_save(client, token, "guides/essai", "# Essai\n")
    api_save(client, token, "guides/essai", "# Essai\n\nSuite.\n", first)
    today = format_date(datetime.now(UTC), "long", locale="fr")
    old = visible(client.get(f"/wiki/guides/essai?rev={first}").text).replace(NBSP, " ")
    assert re.search(rf"Vous lisez une ancienne version de cette page, du {today} à \d\d:\d\d, par Camille Été", old), old
    assert "\u202f" not in old and first[:7] not in old


def test_recent_changes_and_history_name_pages_by_their_title(client, token):
    api_save(client, token, "loyers/conventions-essai", "# Conventions avec les mairies\n\nTexte.\n", message="Crée la page")
    changes = visible(client.get("/changes").text)
    assert "Conventions avec les mairies · modifications" in changes
    history = client.get("/history/loyers/conventions-essai").text
    assert f"<h1>Historique de «{NBSP}Conventions avec les mairies{NBSP}»</h1>" in history


def test_the_guide_s_pictures_come_with_a_new_wiki(client):
    html = client.get("/wiki/aide/modifier-une-page").text
    for name in ("editeur-ordinateur.png", "editeur-telephone.png"):
        assert re.search(rf'<img [^>]*src="[^"]*{name}"', html), name
        picture = client.get(f"/files/aide/modifier-une-page/{name}")
        assert picture.status_code == 200 and picture.data.startswith(b"\x89PNG")


def test_help_and_an_interrupted_prompt_are_not_errors(cli):
    helped = cli("user", "add", "--help")
    assert helped.exit_code == 0 and "Erreur" not in helped.output
    stopped = cli("user", "add", "zoe", "--role", "editor", input="")  # the prompt meets the end of input, as with Ctrl-D
    assert stopped.exit_code == 1 and "Erreur" not in stopped.output and "Aborted" in stopped.output
