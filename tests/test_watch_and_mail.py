"""Watching pages and folders, and the mail it sends, through a real SMTP server on the loopback (aiosmtpd)."""

from __future__ import annotations

import html
import subprocess
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import api_save, bearer, csrf_token, free_port

from repo_store.gitcmd import git_environment
from wiki.app.mail import Mail, MailSettings, Outbox
from wiki.app.watches import Preferences, Watch


@pytest.fixture
def mail_app(app_factory, smtp):
    _inbox, port = smtp
    app = app_factory(SETTINGS={"mail": {"smtp_host": "127.0.0.1", "smtp_port": port, "from": "wiki@tiers-lieux.example"}})
    return app


def deliver(app) -> int:
    return app.extensions["trousse.outbox"].deliver_due()


def body(message: EmailMessage, kind: str = "plain") -> str:
    part = message.get_body(preferencelist=(kind,))
    assert part is not None
    return part.get_content()


def people(app):
    accounts = app.extensions["trousse.accounts"]
    accounts.add_user("alice", role="reader", display_name="Alice", email="alice@example.org")
    accounts.add_user("bruno", role="reader", display_name="Bruno", email="bruno@example.org")
    accounts.add_user("camille", role="editor", display_name="Camille Été", email="camille@example.org")
    return accounts, accounts.create_token("camille", "tests")


def test_a_change_tells_the_watchers_of_the_page_and_of_its_folder_but_not_its_author(mail_app, smtp):
    inbox, _port = smtp
    accounts, token = people(mail_app)
    client = mail_app.test_client()
    first = api_save(client, token, "guides/loyers", "# Loyers\n\nPremier jet.\n")
    assert deliver(mail_app) == 0, "nobody watched the page yet; its author now does"
    alice = client.put("/api/v1/watch/guides/loyers", headers=bearer(accounts.create_token("alice", "t")))
    assert alice.status_code == 200 and alice.json["kind"] == "page"
    bruno = client.put("/api/v1/watch/guides/", headers=bearer(accounts.create_token("bruno", "t")))
    assert bruno.status_code == 200 and bruno.json == {"path": "guides/", "kind": "folder", "watching": True}
    revision = api_save(client, token, "guides/loyers", "# Loyers\n\nLe loyer est de 300 €.\n", first, "Ajoute le montant")
    assert deliver(mail_app) == 2
    (to_alice,) = inbox.to("alice@example.org")
    (to_bruno,) = inbox.to("bruno@example.org")
    assert not inbox.to("camille@example.org"), "no mail for one's own change"
    assert to_alice["Subject"] == "[Réseau des tiers-lieux] Camille Été a modifié « Loyers »"
    text = body(to_alice)
    assert "Ajoute le montant" in text and f"/diff/guides/loyers?to={revision}" in text
    assert "CC-BY-SA-4.0" in text or "Attribution" in text
    assert "vous suivez la page « Loyers »" in text
    assert "vous suivez le dossier guides" in body(to_bruno)
    assert "/watch/unsubscribe/" in to_alice["List-Unsubscribe"]
    assert '<a href="' in body(to_alice, "html")


def test_the_unsubscribe_link_asks_then_stops_the_watch(mail_app, smtp):
    inbox, _port = smtp
    accounts, token = people(mail_app)
    client = mail_app.test_client()
    first = api_save(client, token, "guides/loyers", "# Loyers\n")
    client.put("/api/v1/watch/guides/loyers", headers=bearer(accounts.create_token("alice", "t")))
    api_save(client, token, "guides/loyers", "# Loyers\n\nsuite\n", first)
    deliver(mail_app)
    link = inbox.to("alice@example.org")[0]["List-Unsubscribe"].strip("<>")
    address = link[link.index("/watch/unsubscribe/") :]
    asked = client.get(address)
    assert asked.status_code == 200 and 'method="post"' in asked.text
    assert mail_app.extensions["trousse.watches"].of(accounts.by_name("alice").id), "a visit alone unsubscribes nothing"
    done = client.post(address, data={"csrf_token": csrf_token(asked.text)})
    assert done.status_code == 200 and "guides/loyers" in done.text
    assert mail_app.extensions["trousse.watches"].of(accounts.by_name("alice").id) == []
    forged = client.get("/watch/unsubscribe/pas-un-jeton")
    refused = client.post("/watch/unsubscribe/pas-un-jeton", data={"csrf_token": csrf_token(forged.text)})
    assert refused.status_code == 404


def test_a_daily_digest_gathers_the_changes(mail_app, smtp):
    inbox, _port = smtp
    accounts, token = people(mail_app)
    client = mail_app.test_client()
    alice = accounts.by_name("alice")
    watches = mail_app.extensions["trousse.watches"]
    watches.add(alice.id, Watch("guides", "folder"))
    watches.set_preferences(alice.id, Preferences(digest=True, watch_edits=True))
    api_save(client, token, "guides/loyers", "# Loyers\n", message="Crée les loyers")
    api_save(client, token, "guides/baux", "# Baux\n", message="Crée les baux")
    assert deliver(mail_app) == 0, "a digest waits for its day"
    notifier = mail_app.extensions["trousse.notifier"]
    assert notifier.send_digests(time.time()) == 1
    assert notifier.send_digests(time.time()) == 0, "one digest a day"
    assert deliver(mail_app) == 1
    (digest,) = inbox.to("alice@example.org")
    text = body(digest)
    assert "Crée les loyers" in text and "Crée les baux" in text and "/diff/guides/baux?to=" in text


def test_editing_watches_the_page_unless_the_account_said_no(mail_app):
    accounts, token = people(mail_app)
    client = mail_app.test_client()
    watches = mail_app.extensions["trousse.watches"]
    camille = accounts.by_name("camille")
    api_save(client, token, "guides/loyers", "# Loyers\n")
    assert [watch.path for watch in watches.of(camille.id)] == ["guides/loyers"]
    watches.set_preferences(camille.id, Preferences(digest=False, watch_edits=False))
    api_save(client, token, "guides/baux", "# Baux\n")
    assert [watch.path for watch in watches.of(camille.id)] == ["guides/loyers"]


def test_watches_follow_a_moved_page(mail_app):
    accounts, token = people(mail_app)
    client = mail_app.test_client()
    api_save(client, token, "guides/loyers", "# Loyers\n")
    assert client.post("/api/v1/pages/guides/loyers/move", json={"to": "fiches/loyers"}, headers=bearer(token)).status_code == 200
    camille = accounts.by_name("camille")
    assert [watch.path for watch in mail_app.extensions["trousse.watches"].of(camille.id)] == ["fiches/loyers"]


def test_a_push_tells_the_watchers_too(mail_app, smtp, data_dir, tmp_path):
    inbox, _port = smtp
    accounts, token = people(mail_app)
    client = mail_app.test_client()
    api_save(client, token, "guides/loyers", "# Loyers\n")
    client.put("/api/v1/watch/guides/", headers=bearer(accounts.create_token("alice", "t")))
    env = git_environment(
        {
            "GIT_AUTHOR_NAME": "Inès",
            "GIT_AUTHOR_EMAIL": "i@example.org",
            "GIT_COMMITTER_NAME": "Inès",
            "GIT_COMMITTER_EMAIL": "i@example.org",
        }
    )
    work = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(data_dir / "wiki.git"), str(work)], check=True, env=env)
    (work / "guides" / "loyers.md").write_text("# Loyers\n\nPoussé par git.\n", encoding="utf-8")
    subprocess.run(["git", "commit", "-qam", "Complète depuis git"], cwd=work, check=True, env=env)
    subprocess.run(["git", "push", "-q", "origin", "main"], cwd=work, check=True, env=env)
    with mail_app.app_context():
        mail_app.extensions["trousse"].writes.pushed(accounts.by_name("camille"))
    assert deliver(mail_app) == 1
    (told,) = inbox.to("alice@example.org")
    assert "Complète depuis git" in body(told)


def test_mail_waits_in_the_queue_across_a_restart_and_is_retried(data_dir, smtp):
    inbox, port = smtp
    now = [1_000_000.0]
    closed_port = free_port()
    database = Path(data_dir) / "trousse.sqlite"
    down = Outbox(database, MailSettings("127.0.0.1", closed_port, "wiki@x.example", False, "", ""), clock=lambda: now[0])
    assert down.put(Mail("alice@example.org", "Sujet", "texte", "<p>texte</p>"))
    assert down.deliver_due() == 0, "the server is down: nothing sent, nothing lost"
    down.close()
    restarted = Outbox(database, MailSettings("127.0.0.1", port, "wiki@x.example", False, "", ""), clock=lambda: now[0])
    assert restarted.waiting() == 1
    assert restarted.deliver_due() == 0, "not before its retry time"
    now[0] += 61
    assert restarted.deliver_due() == 1
    assert [message["Subject"] for message in inbox.to("alice@example.org")] == ["Sujet"]
    assert restarted.waiting() == 0
    restarted.close()


def test_without_smtp_nothing_is_queued_and_the_account_page_says_so(app, editor):
    client = editor.client
    api_save(client, editor.token(), "guides/loyers", "# Loyers\n")
    page = client.get("/wiki/guides/loyers").text
    watched = client.post("/watch/guides/loyers", data={"csrf_token": csrf_token(page), "action": "watch"})
    assert watched.status_code == 302
    account = client.get("/account").text
    assert "guides/loyers" in account and "n’envoie pas encore d’e-mail" in html.unescape(account)
    assert app.extensions["trousse.outbox"].waiting() == 0


def test_the_watch_api_lists_and_refuses_bad_paths(client, token):
    assert client.put("/api/v1/watch/guides/", headers=bearer(token)).status_code == 200
    assert client.put("/api/v1/watch/home", headers=bearer(token)).status_code == 200
    listed = client.get("/api/v1/watch", headers=bearer(token)).json
    assert listed == {"watching": [{"path": "guides/", "kind": "folder"}, {"path": "home", "kind": "page"}]}
    assert client.put("/api/v1/watch/../etc", headers=bearer(token)).status_code in (400, 404)
    assert client.delete("/api/v1/watch/home", headers=bearer(token)).status_code == 200
    assert client.get("/api/v1/watch").status_code == 401


def test_feeds_per_folder_and_per_page(client, token):
    import feedparser

    api_save(client, token, "baux/loyers", "# Loyers\n", message="Crée les loyers")
    api_save(client, token, "fiches/autre", "# Autre\n", message="Crée une autre fiche")
    folder = feedparser.parse(client.get("/changes.atom?folder=baux").data)
    assert [entry.title for entry in folder.entries] == ["Crée les loyers"]
    assert "baux" in folder.feed.title
    page = client.get("/history/baux/loyers.atom")
    assert page.status_code == 200 and page.mimetype == "application/atom+xml"
    parsed = feedparser.parse(page.data)
    assert [entry.title for entry in parsed.entries] == ["Crée les loyers"]
    assert parsed.entries[0].link.endswith("/diff/baux/loyers?to=" + parsed.entries[0].id.rsplit("#", 1)[1])
    assert client.get("/history/nulle-part.atom").status_code == 404
    assert client.get("/history/baux/loyers").status_code == 200, "the history page itself still answers"


def test_a_folder_can_be_watched_from_its_listing(client, editor):
    api_save(client, editor.token(), "guides/loyers", "# Loyers\n")
    listing = client.get("/pages/guides").text
    assert "Suivre ce dossier" in listing
    client.post("/watch/guides/", data={"csrf_token": csrf_token(listing), "action": "watch"})
    assert "Ne plus suivre ce dossier" in client.get("/pages/guides").text
