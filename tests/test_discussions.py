"""A page's discussion: messages posted, answered and hidden from the browser and the API, kept in git beside the page."""

from __future__ import annotations

import subprocess
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import api_save, bearer, csrf_token, git

from repo_store.gitcmd import git_environment

PAGE = "guides/loyers"
FILE = f"{PAGE}/_discussion.text"


@pytest.fixture
def people(app, auth):
    """An editor (Camille) and a reader (Alice), each with a token; the page exists."""
    auth.create("camille", "editor", "Camille Été")
    auth.create("alice", "reader", "Alice")
    tokens = {"camille": auth.token("camille"), "alice": auth.token("alice")}
    api_save(app.test_client(), tokens["camille"], PAGE, "# Loyers\n\nCe que paient les lieux.\n")
    return tokens


def post(client, token: str, markdown: str, reply_to=None, path: str = PAGE):
    body = {"markdown": markdown, **({"reply_to": reply_to} if reply_to is not None else {})}
    return client.post(f"/api/v1/discussions/{path}", json=body, headers=bearer(token))


def messages(client, token: str | None = None, path: str = PAGE) -> list[dict]:
    response = client.get(f"/api/v1/discussions/{path}", headers=bearer(token) if token else {})
    assert response.status_code == 200, response.text
    assert response.json["path"] == path
    return response.json["messages"]


def repository_text(data_dir: Path, path: str = FILE) -> str:
    return git(data_dir / "wiki.git", "show", f"main:{path}")


def test_a_reader_posts_and_replies_through_the_api(client, people, data_dir):
    first = post(client, people["alice"], "Quel est le **loyer** moyen ?")
    assert first.status_code == 201, first.text
    assert first.json["id"] == 1 and len(first.json["revision"]) == 40
    second = post(client, people["camille"], "Environ 300 € par mois.", reply_to=1)
    assert second.status_code == 201 and second.json["id"] == 2
    found = messages(client)
    assert [(m["id"], m["author"], m["reply_to"], m["hidden"]) for m in found] == [
        (1, "Alice", None, False),
        (2, "Camille Été", 1, False),
    ]
    assert found[0]["markdown"] == "Quel est le **loyer** moyen ?"
    assert "<strong>loyer</strong>" in found[0]["html"]
    assert found[1]["date"].endswith("+00:00")
    # One commit each, by their authors, in a plain-text file beside the page.
    assert git(data_dir / "wiki.git", "log", "-1", "--format=%an", "main").strip() == "Camille Été"
    text = repository_text(data_dir)
    assert "%% message 2\nauthor: Camille Été\n" in text and "reply-to: 1\n" in text
    assert client.get(f"/api/v1/pages/{PAGE}").json["markdown"].startswith("# Loyers"), "the page itself is untouched"
    changes = client.get("/changes").text
    assert f'href="/discussion/{PAGE}">Discussion de « Loyers »</a>' in changes, "recent changes lead to the discussion"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"markdown": "   \n"}, 400, "invalid"),
        ({"markdown": "x" * 10_001}, 400, "invalid"),
        ({"markdown": "Réponse", "reply_to": 7}, 400, "invalid"),
        ({"markdown": "Réponse", "reply_to": "un"}, 400, "invalid"),
        ({"markdown": 3}, 400, "invalid"),
    ],
)
def test_a_bad_message_is_refused_with_a_reason(client, people, body, status, code):
    response = client.post(f"/api/v1/discussions/{PAGE}", json=body, headers=bearer(people["alice"]))
    assert response.status_code == status and response.json["error"] == code
    assert response.json["message"]
    assert messages(client) == []


def test_no_discussion_without_its_page_nor_without_an_account(client, people):
    assert post(client, people["alice"], "Bonjour", path="guides/absente").status_code == 404
    assert client.get("/api/v1/discussions/guides/absente").status_code == 404
    assert client.get("/discussion/guides/absente").status_code == 404
    anonymous = client.post(f"/api/v1/discussions/{PAGE}", json={"markdown": "Bonjour"})
    assert anonymous.status_code == 401 and anonymous.json["error"] == "unauthorized"
    page = client.get(f"/discussion/{PAGE}")
    assert page.status_code == 200 and "/login?next=" in page.text and 'name="markdown"' not in page.text
    refused = client.post(
        f"/discussion/{PAGE}", data={"markdown": "Bonjour", "csrf_token": csrf_token(client.get("/login").text)}
    )
    assert refused.status_code in (302, 401)
    assert messages(client) == []


def test_the_browser_posts_replies_and_an_editor_hides(app, client, auth, people, data_dir):
    auth.login("alice")
    page = client.get(f"/discussion/{PAGE}")
    assert page.status_code == 200 and "Discussion de « Loyers »" in page.text
    posted = client.post(f"/discussion/{PAGE}", data={"markdown": "Qui a *signé* le bail ?", "csrf_token": csrf_token(page.text)})
    assert posted.status_code == 302 and posted.headers["Location"].endswith(f"/discussion/{PAGE}#message-1")
    form = client.get(f"/discussion/{PAGE}?reply_to=1")
    assert 'name="reply_to" value="1"' in form.text and "Répondre au message 1" in form.text
    assert 'value="hide"' not in form.text, "a reader has no hide button"
    client.post(f"/discussion/{PAGE}", data={"markdown": "Moi-même.", "reply_to": "1", "csrf_token": csrf_token(form.text)})
    shown = client.get(f"/discussion/{PAGE}").text
    assert "<em>signé</em>" in shown and 'class="replies"' in shown and "Moi-même." in shown
    forbidden = client.post(f"/discussion/{PAGE}", data={"action": "hide", "message": "1", "csrf_token": csrf_token(shown)})
    assert forbidden.status_code == 403
    # The page's tab counts the messages.
    assert "Discussion (2 messages)" in client.get(f"/wiki/{PAGE}").text

    auth.logout()
    auth.login("camille")
    shown = client.get(f"/discussion/{PAGE}").text
    hidden = client.post(f"/discussion/{PAGE}", data={"action": "hide", "message": "1", "csrf_token": csrf_token(shown)})
    assert hidden.status_code == 302
    assert "hidden: yes" in repository_text(data_dir)
    diff = git(data_dir / "wiki.git", "show", "--format=", "main", "--", FILE)
    assert [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")] == ["+hidden: yes"]
    as_editor = client.get(f"/discussion/{PAGE}").text
    assert "Message masqué" in as_editor and "<em>signé</em>" in as_editor and 'value="show"' in as_editor

    auth.logout()
    auth.login("alice")
    as_reader = client.get(f"/discussion/{PAGE}").text
    assert "Message masqué" in as_reader and "signé" not in as_reader and "Moi-même." in as_reader
    (first, _reply) = messages(client, people["alice"])
    assert first["hidden"] is True and first["markdown"] == "" and first["html"] == ""
    assert messages(client, people["camille"])[0]["markdown"] == "Qui a *signé* le bail ?"
    # Kept in the history: the commit before the hide has the text.
    assert "Qui a *signé* le bail ?" in git(data_dir / "wiki.git", "show", f"main~1:{FILE}")


def test_a_refused_message_keeps_its_text_in_the_form(client, auth, people):
    auth.login("alice")
    page = client.get(f"/discussion/{PAGE}")
    refused = client.post(
        f"/discussion/{PAGE}", data={"markdown": "Réponse perdue ?", "reply_to": "9", "csrf_token": csrf_token(page.text)}
    )
    assert refused.status_code == 400
    assert 'role="alert"' in refused.text and "Réponse perdue ?" in refused.text


def test_hostile_markdown_is_sanitised(client, people):
    post(client, people["alice"], '<script>alert(1)</script>\n\n[clic](javascript:alert(2)) <img src=x onerror="alert(3)">')
    (message,) = messages(client)
    assert "<script" not in message["html"] and 'href="javascript' not in message["html"] and "onerror" not in message["html"]
    shown = client.get(f"/discussion/{PAGE}").text
    assert "<script>alert(1)" not in shown and "onerror" not in shown


def test_a_line_like_a_record_start_stays_in_its_message(client, people):
    text = "Voici le format :\n%% message 9\n\\%% déjà échappé"
    post(client, people["alice"], text)
    post(client, people["alice"], "Suite")
    assert [(m["id"], m["markdown"]) for m in messages(client)] == [(1, text), (2, "Suite")]


def test_the_discussion_moves_is_deleted_and_restored_with_its_page(client, auth, people, data_dir):
    editor = people["camille"]
    post(client, people["alice"], "Premier message")
    moved = client.post(f"/api/v1/pages/{PAGE}/move", json={"to": "guides/baux"}, headers=bearer(editor))
    assert moved.status_code == 200
    assert [m["markdown"] for m in messages(client, path="guides/baux")] == ["Premier message"]
    assert client.get(f"/discussion/{PAGE}").headers["Location"].endswith("/discussion/guides/baux")
    post(client, people["alice"], "Après le déplacement", path="guides/baux")
    page = client.get("/api/v1/pages/guides/baux").json
    deleted = client.delete(f"/api/v1/pages/guides/baux?base_revision={page['revision']}", headers=bearer(editor))
    assert deleted.status_code == 200
    assert "guides/baux/_discussion.text" not in git(data_dir / "wiki.git", "ls-tree", "-r", "--name-only", "main")
    # Restored from the page's last revision, the discussion comes back as it was when the page went.
    auth.login("camille")
    restored = client.post(
        "/restore/guides/baux", data={"revision": page["revision"], "csrf_token": csrf_token(client.get("/account").text)}
    )
    assert restored.status_code == 302
    assert [m["markdown"] for m in messages(client, path="guides/baux")] == ["Premier message", "Après le déplacement"]
    shown = client.get("/wiki/guides/baux").text
    assert "_discussion" not in shown and "Discussion (2 messages)" in shown, "not an attached document"


def test_a_folder_move_takes_the_discussions(client, people):
    post(client, people["alice"], "Dans le dossier")
    moved = client.post("/api/v1/folders/guides/move", json={"to": "manuels"}, headers=bearer(people["camille"]))
    assert moved.status_code == 200, moved.text
    assert [m["markdown"] for m in messages(client, path="manuels/loyers")] == ["Dans le dossier"]


def test_a_clone_keeps_the_discussion_and_a_push_is_checked(client, people, data_dir, tmp_path):
    post(client, people["alice"], "Gardé dans git")
    work = tmp_path / "clone"
    env = git_environment({"GIT_AUTHOR_NAME": "Inès", "GIT_AUTHOR_EMAIL": "ines@example.org", "TROUSSE_LANGUAGE": "fr"})
    env.update(GIT_COMMITTER_NAME="Inès", GIT_COMMITTER_EMAIL="ines@example.org")
    subprocess.run(["git", "clone", "-q", str(data_dir / "wiki.git"), str(work)], check=True, env=env)
    cloned = (work / FILE).read_text(encoding="utf-8")
    assert "author: Alice" in cloned and "Gardé dans git" in cloned

    def push(text: str) -> subprocess.CompletedProcess:
        (work / FILE).write_text(text, encoding="utf-8")
        subprocess.run(["git", "commit", "-q", "-am", "discussion"], cwd=work, check=True, env=env)
        return subprocess.run(["git", "push", "origin", "main"], cwd=work, capture_output=True, text=True, env=env)

    refused = push(cloned + "\nune ligne hors format\n%% message un\n")
    assert refused.returncode != 0 and "message" in refused.stderr and FILE in refused.stderr
    subprocess.run(["git", "reset", "-q", "--hard", "origin/main"], cwd=work, check=True, env=env)
    answer = "\n%% message 2\nauthor: Inès\ndate: 2026-12-05T10:00:00+01:00\nreply-to: 1\n\nRépondu depuis un clone.\n"
    accepted = push(cloned + answer)
    assert accepted.returncode == 0, accepted.stderr
    client.application.extensions["trousse"].writes.pushed(None)
    assert [m["markdown"] for m in messages(client)][-1] == "Répondu depuis un clone."


def test_an_imported_discussion_out_of_format_is_read_leniently_and_reported(app, client, people, data_dir):
    from click.testing import CliRunner

    from repo_store import FileChange, Identity
    from wiki.cli.commands import main

    wiki = app.extensions["trousse"]
    broken = "Notes d'avant\n\n%% message 1\nauthor: Import\ndate: 2020-01-01T00:00:00+00:00\n\nLisible.\n"
    wiki.store.commit([FileChange(FILE, broken.encode())], author=Identity("Import", "import@example.org"), message="import")
    wiki.sync()
    assert [m["markdown"] for m in messages(client)] == ["Lisible."]
    result = CliRunner().invoke(main, ["--data", str(data_dir), "--lang", "en", "check"])
    assert result.exit_code == 1
    assert f"The discussion {FILE} does not follow its format (Line 1: text before the first message" in result.output


@pytest.fixture
def mail_app(app_factory, smtp):
    _inbox, port = smtp
    return app_factory(SETTINGS={"mail": {"smtp_host": "127.0.0.1", "smtp_port": port, "from": "wiki@tiers-lieux.example"}})


def test_watchers_hear_of_a_message_but_not_its_author(mail_app, smtp):
    inbox, _port = smtp
    accounts = mail_app.extensions["trousse.accounts"]
    accounts.add_user("alice", role="reader", display_name="Alice", email="alice@example.org")
    accounts.add_user("camille", role="editor", display_name="Camille Été", email="camille@example.org")
    client = mail_app.test_client()
    editor, reader = accounts.create_token("camille", "t"), accounts.create_token("alice", "t")
    api_save(client, editor, PAGE, "# Loyers\n")
    assert client.put(f"/api/v1/watch/{PAGE}", headers=bearer(reader)).status_code == 200
    assert post(client, editor, "Une *question* sur les loyers de 2026").status_code == 201
    assert mail_app.extensions["trousse.outbox"].deliver_due() == 1
    (mail,) = inbox.to("alice@example.org")
    assert not inbox.to("camille@example.org")
    assert mail["Subject"] == "[Réseau des tiers-lieux] Camille Été a écrit dans la discussion de « Loyers »"
    text = body(mail)
    assert "Une *question* sur les loyers de 2026" in text and f"/discussion/{PAGE}" in text
    # Posting watches the page for its author, who then hears of the answers.
    assert post(client, reader, "Réponse", reply_to=1).status_code == 201
    mail_app.extensions["trousse.outbox"].deliver_due()
    assert len(inbox.to("camille@example.org")) == 1
    # Hiding a message tells nobody.
    hide = mail_app.extensions["trousse"].writes.hide_message
    hide(PAGE, 2, user=accounts.by_name("camille"))
    assert mail_app.extensions["trousse.outbox"].deliver_due() == 0


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()
