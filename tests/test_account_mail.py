"""Accounts by e-mail: password reset links, invitations and address changes, through a real loopback SMTP server."""

from __future__ import annotations

import html
import re

import pytest
from conftest import csrf_token, run_cli
from test_watch_and_mail import body

from wiki.accounts.store import RESET_SECONDS


@pytest.fixture
def mail_app(app_factory, smtp):
    _inbox, port = smtp
    return app_factory(SETTINGS={"mail": {"smtp_host": "127.0.0.1", "smtp_port": port, "from": "wiki@tiers-lieux.example"}})


def deliver(app) -> int:
    return app.extensions["trousse.outbox"].deliver_due()


def link_in(message, path: str) -> str:
    found = re.search(rf"https?://[^\s]+({re.escape(path)}[^\s]+)", body(message))
    assert found, body(message)
    return found.group(1)


def test_a_forgotten_password_is_reset_once_by_a_link(mail_app, smtp):
    inbox, _port = smtp
    accounts = mail_app.extensions["trousse.accounts"]
    accounts.add_user("alice", role="editor", password="ancien mot de passe", email="alice@example.org")
    client = mail_app.test_client()
    login = client.get("/login").text
    assert 'href="/password-reset"' in login
    form = client.get("/password-reset")
    known = client.post("/password-reset", data={"email": "Alice@Example.org", "csrf_token": csrf_token(form.text)})
    unknown = client.post("/password-reset", data={"email": "personne@example.org", "csrf_token": csrf_token(form.text)})
    assert known.status_code == unknown.status_code == 200
    sentence = "Si un compte utilise cette adresse"
    assert sentence in html.unescape(known.text) and sentence in html.unescape(unknown.text), "the same answer either way"
    assert deliver(mail_app) == 1
    (message,) = inbox.to("alice@example.org")
    address = link_in(message, "/password-reset/")
    page = client.get(address)
    assert page.status_code == 200 and 'type="password"' in page.text
    changed = client.post(address, data={"password": "nouveau mot de passe", "csrf_token": csrf_token(page.text)})
    assert changed.status_code == 302 and changed.headers["Location"] == "/login"
    assert accounts.authenticate("alice", "nouveau mot de passe") is not None
    assert accounts.authenticate("alice", "ancien mot de passe") is None
    again = client.post(address, data={"password": "un autre mot de passe", "csrf_token": csrf_token(page.text)})
    assert again.status_code == 400 and "n’est plus valable" in html.unescape(again.text)
    assert client.get(address).status_code == 400


def test_a_reset_link_expires(mail_app, smtp, monkeypatch):
    inbox, _port = smtp
    accounts = mail_app.extensions["trousse.accounts"]
    accounts.add_user("alice", role="editor", password="ancien mot de passe", email="alice@example.org")
    ((_user, code),) = accounts.create_password_resets("alice@example.org")
    import wiki.accounts.store as store

    later = store.time.time() + RESET_SECONDS + 1
    monkeypatch.setattr(store.time, "time", lambda: later)
    client = mail_app.test_client()
    assert client.get(f"/password-reset/{code}").status_code == 400


def test_reset_requests_are_limited_per_address(mail_app, smtp):
    accounts = mail_app.extensions["trousse.accounts"]
    accounts.add_user("alice", role="editor", password="ancien mot de passe", email="alice@example.org")
    client = mail_app.test_client()
    form = client.get("/password-reset")
    answers = [
        client.post("/password-reset", data={"email": "alice@example.org", "csrf_token": csrf_token(form.text)}).status_code
        for _ in range(4)
    ]
    assert answers == [200, 200, 200, 429]
    assert deliver(mail_app) == 3


def test_an_invitation_is_mailed_from_the_administration_page_and_registers(mail_app, smtp):
    inbox, _port = smtp
    accounts = mail_app.extensions["trousse.accounts"]
    accounts.add_user("admin", role="admin", password="un mot de passe")
    client = mail_app.test_client()
    login = client.get("/login")
    client.post("/login", data={"name": "admin", "password": "un mot de passe", "csrf_token": csrf_token(login.text)})
    page = client.get("/admin")
    assert 'name="email"' in page.text
    sent = client.post(
        "/admin", data={"action": "invite", "role": "editor", "email": "ines@example.org", "csrf_token": csrf_token(page.text)}
    )
    assert sent.status_code in (200, 302)
    assert deliver(mail_app) == 1
    (message,) = inbox.to("ines@example.org")
    address = link_in(message, "/register/")
    fresh = mail_app.test_client()
    form = fresh.get(address)
    registered = fresh.post(
        address,
        data={"name": "ines", "password": "son mot de passe", "display_name": "Inès", "csrf_token": csrf_token(form.text)},
    )
    assert registered.status_code == 302
    assert accounts.by_name("ines").role == "editor"


def test_the_command_line_mails_an_invitation(mail_app, smtp, data_dir):
    inbox, port = smtp
    config = data_dir / "config.toml"
    text = config.read_text(encoding="utf-8")
    text = text.replace('# smtp_host = ""', 'smtp_host = "127.0.0.1"').replace("# smtp_port = 25", f"smtp_port = {port}")
    config.write_text(text, encoding="utf-8")
    output = run_cli(data_dir, "invite", "--email", "ines@example.org")
    assert "ines@example.org" in output
    (message,) = inbox.to("ines@example.org")
    assert "/register/" in body(message)


def test_a_new_address_counts_once_confirmed_by_its_link(mail_app, smtp):
    inbox, _port = smtp
    accounts = mail_app.extensions["trousse.accounts"]
    accounts.add_user("alice", role="editor", password="un mot de passe", email="alice@example.org", display_name="Alice")
    client = mail_app.test_client()
    login = client.get("/login")
    client.post("/login", data={"name": "alice", "password": "un mot de passe", "csrf_token": csrf_token(login.text)})
    page = client.get("/account")
    client.post(
        "/account",
        data={
            "action": "profile",
            "display_name": "Alice",
            "email": "alice@nouveau.example",
            "csrf_token": csrf_token(page.text),
        },
    )
    assert accounts.by_name("alice").email == "alice@example.org", "unchanged until confirmed"
    assert deliver(mail_app) == 1
    (message,) = inbox.to("alice@nouveau.example")
    address = link_in(message, "/email-confirmation/")
    shown = client.get(address)
    assert shown.status_code == 200 and accounts.by_name("alice").email == "alice@example.org", "a visit confirms nothing"
    confirmed = client.post(address, data={"csrf_token": csrf_token(shown.text)})
    assert confirmed.status_code == 302
    assert accounts.by_name("alice").email == "alice@nouveau.example"


def test_without_mail_the_reset_page_says_whom_to_ask(client):
    page = html.unescape(client.get("/password-reset").text)
    assert "n’envoie pas d’e-mail" in page and "administrat" in page
