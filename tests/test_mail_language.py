"""Mail in the language each account chose on its page (French, the site's, until it chooses), through a loopback SMTP server."""

from __future__ import annotations

import html
import re
import sqlite3
import time

import pytest
from conftest import api_save, bearer, csrf_token
from test_watch_and_mail import body

from wiki.accounts.store import Accounts
from wiki.app.watches import Preferences, Watch

PASSWORD = "un mot de passe"


@pytest.fixture
def mail_app(app_factory, smtp):
    _inbox, port = smtp
    return app_factory(SETTINGS={"mail": {"smtp_host": "127.0.0.1", "smtp_port": port, "from": "wiki@tiers-lieux.example"}})


def deliver(app) -> int:
    return app.extensions["trousse.outbox"].deliver_due()


def log_in(app, name: str):
    client = app.test_client()
    login = client.get("/login")
    client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": csrf_token(login.text)})
    return client


def choose_language(app, name: str, language: str):
    """Choose the language of one's mail on the account page, as a person does."""
    client = log_in(app, name)
    page = client.get("/account")
    assert 'name="language"' in page.text
    account = app.extensions["trousse.accounts"].by_name(name)
    saved = client.post(
        "/account",
        data={
            "action": "profile",
            "display_name": account.display_name,
            "email": account.email,
            "language": language,
            "csrf_token": csrf_token(page.text),
        },
    )
    return client, saved


def people(app):
    accounts = app.extensions["trousse.accounts"]
    accounts.add_user("alice", role="reader", display_name="Alice", email="alice@example.org", password=PASSWORD)
    accounts.add_user("bruno", role="reader", display_name="Bruno", email="bruno@example.org", password=PASSWORD)
    accounts.add_user("camille", role="editor", display_name="Camille Été", email="camille@example.org", password=PASSWORD)
    return accounts, accounts.create_token("camille", "tests")


def test_an_english_speaking_watcher_is_told_in_english_a_french_one_in_french(mail_app, smtp):
    inbox, _port = smtp
    accounts, token = people(mail_app)
    client, saved = choose_language(mail_app, "alice", "en")
    assert saved.status_code == 302
    assert accounts.by_name("alice").language == "en"
    assert 'value="en" lang="en" selected' in client.get("/account").text
    assert accounts.by_name("bruno").language == ""
    api = mail_app.test_client()
    first = api_save(api, token, "guides/loyers", "# Loyers\n\nPremier jet.\n")
    for name in ("alice", "bruno"):
        assert api.put("/api/v1/watch/guides/loyers", headers=bearer(accounts.create_token(name, "t"))).status_code == 200
    api_save(api, token, "guides/loyers", "# Loyers\n\nLe loyer est de 300 €.\n", first, "Ajoute le montant")
    assert deliver(mail_app) == 2
    (english,) = inbox.to("alice@example.org")
    (french,) = inbox.to("bruno@example.org")
    assert english["Subject"] == "[Réseau des tiers-lieux] Camille Été changed « Loyers »"
    assert french["Subject"] == "[Réseau des tiers-lieux] Camille Été a modifié « Loyers »"
    assert "You receive this because you watch the page « Loyers »." in body(english)
    assert "Stop watching" in body(english, "html") and "Ajoute le montant" in body(english)
    assert "vous suivez la page « Loyers »" in body(french)


def test_a_digest_speaks_its_reader_s_language(mail_app, smtp):
    inbox, _port = smtp
    accounts, token = people(mail_app)
    choose_language(mail_app, "alice", "en")
    alice = accounts.by_name("alice")
    watches = mail_app.extensions["trousse.watches"]
    watches.add(alice.id, Watch("guides", "folder"))
    watches.set_preferences(alice.id, Preferences(digest=True, watch_edits=True))
    api_save(mail_app.test_client(), token, "guides/baux", "# Baux\n", message="Crée les baux")
    assert mail_app.extensions["trousse.notifier"].send_digests(time.time()) == 1
    assert deliver(mail_app) == 1
    (digest,) = inbox.to("alice@example.org")
    assert digest["Subject"] == "[Réseau des tiers-lieux] Daily digest of what you watch"
    text = body(digest)
    assert "Changes to what you watch on Réseau des tiers-lieux:" in text
    assert "Camille Été changed « Baux »: Crée les baux" in text


def test_account_mails_speak_the_account_s_language_but_invitations_the_site_s(mail_app, smtp):
    inbox, _port = smtp
    accounts, _token = people(mail_app)
    accounts.add_user("admin", role="admin", password=PASSWORD, email="admin@example.org")
    choose_language(mail_app, "alice", "en")
    # A password reset for Alice, asked by anyone.
    client = mail_app.test_client()
    form = client.get("/password-reset")
    client.post("/password-reset", data={"email": "alice@example.org", "csrf_token": csrf_token(form.text)})
    client.post("/password-reset", data={"email": "bruno@example.org", "csrf_token": csrf_token(form.text)})
    # Alice changes her address: the confirmation goes to the new one, in English.
    _client, saved = choose_language(mail_app, "alice", "en")
    assert saved.status_code == 302
    client = log_in(mail_app, "alice")
    page = client.get("/account")
    client.post(
        "/account",
        data={
            "action": "profile",
            "display_name": "Alice",
            "email": "alice@nouveau.example",
            "language": "en",
            "csrf_token": csrf_token(page.text),
        },
    )
    # An English-speaking administrator invites somebody who has no account: the site's language.
    admin = log_in(mail_app, "admin")
    assert (
        admin.post(
            "/account",
            data={
                "action": "profile",
                "display_name": "admin",
                "email": "admin@example.org",
                "language": "en",
                "csrf_token": csrf_token(admin.get("/account").text),
            },
        ).status_code
        == 302
    )
    page = admin.get("/admin")
    admin.post(
        "/admin", data={"action": "invite", "role": "editor", "email": "ines@example.org", "csrf_token": csrf_token(page.text)}
    )
    deliver(mail_app)
    (reset_en,) = inbox.to("alice@example.org")
    (reset_fr,) = inbox.to("bruno@example.org")
    (confirm,) = inbox.to("alice@nouveau.example")
    (invitation,) = inbox.to("ines@example.org")
    assert reset_en["Subject"].endswith("Choose a new password")
    assert "If you did not ask for it" in body(reset_en)
    assert reset_fr["Subject"].endswith("Choisir un nouveau mot de passe")
    assert confirm["Subject"].endswith("Confirm your e-mail address")
    assert invitation["Subject"] == "[Réseau des tiers-lieux] Vous êtes invité·e sur Réseau des tiers-lieux"
    assert re.search(r"/register/\S+", body(invitation))


def test_a_language_that_is_not_offered_is_refused_in_french(mail_app):
    people(mail_app)
    _client, refused = choose_language(mail_app, "alice", "de")
    assert refused.status_code == 400
    assert "La langue est le français ou l’anglais." in html.unescape(refused.text)
    assert mail_app.extensions["trousse.accounts"].by_name("alice").language == ""


def test_an_account_database_from_before_languages_gains_the_column(tmp_path):
    database = tmp_path / "trousse.sqlite"
    old = sqlite3.connect(database)
    old.executescript(
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE, display_name TEXT NOT NULL,
            email TEXT NOT NULL DEFAULT '', publish_email INTEGER NOT NULL DEFAULT 0,
            role TEXT NOT NULL CHECK (role IN ('reader', 'editor', 'admin')), password_hash TEXT,
            disabled INTEGER NOT NULL DEFAULT 0, session_version INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL
        );
        INSERT INTO users (name, display_name, role, created) VALUES ('alice', 'Alice', 'reader', '2026-01-01T00:00:00+00:00');
        """
    )
    old.close()
    accounts = Accounts(database)
    try:
        assert accounts.by_name("alice").language == ""
        assert accounts.set_language(accounts.by_name("alice").id, "en").language == "en"
    finally:
        accounts.close()
    again = Accounts(database)  # opening it twice adds nothing twice
    try:
        assert again.by_name("alice").language == "en"
    finally:
        again.close()
