"""Logging in and out, throttling, redirects, the account page, invitations."""

from __future__ import annotations

import re
import sqlite3

import pytest
from conftest import PASSWORD, csrf_token


def test_login_and_logout(client, auth):
    auth.create("camille", "editor", "Camille Été")
    response = auth.login(next="/wiki/home")
    assert response.status_code == 302 and response.headers["Location"] == "/wiki/home"
    assert "Camille Été" in client.get("/wiki/home").text
    assert auth.logout().status_code == 302
    assert "Camille Été" not in client.get("/wiki/home").text


def test_passwords_are_stored_with_werkzeugs_full_scrypt_cost(tmp_path):
    """The tests' apps hash cheaply (conftest's cheap_password_hashing); the wiki itself must not."""
    from wiki.accounts.store import Accounts

    accounts = Accounts(tmp_path / "trousse.sqlite")
    try:
        accounts.add_user("camille", role="editor", password=PASSWORD)
        assert accounts.authenticate("camille", PASSWORD) is not None
    finally:
        accounts.close()
    with sqlite3.connect(tmp_path / "trousse.sqlite") as database:
        (stored,) = database.execute("SELECT password_hash FROM users").fetchone()
    method, cost, block_size, parallelism = stored.split("$")[0].split(":")
    assert method == "scrypt" and int(cost) >= 2**15 and (int(block_size), int(parallelism)) == (8, 1)


def test_session_cookie_flags(client, auth):
    auth.create()
    response = auth.login()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_wrong_password(client, auth):
    auth.create()
    response = auth.login(password="wrong password")
    assert response.status_code == 401
    assert 'role="alert"' in response.text


def test_unknown_user(client, auth):
    assert auth.login(name="nobody").status_code == 401


def test_login_is_rate_limited(client, auth):
    auth.create()
    for _ in range(5):
        assert auth.login(password="nope nope").status_code == 401
    blocked = auth.login()  # even the right password waits now
    assert blocked.status_code == 429


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "http:evil.example",
        "javascript:alert(1)",
        "\\\\evil.example",
        "/%0d%0aSet-Cookie:x",
        "//evil.example/%2e%2e",
        " //evil.example",
        "\t//evil.example",
    ],
)
def test_next_never_leaves_the_site(client, auth, target):
    auth.create()
    response = auth.login(next=target)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//") and "evil" not in location


def test_next_keeps_local_paths(client, auth):
    auth.create()
    assert auth.login(next="/edit/home?x=1").headers["Location"] == "/edit/home?x=1"


def test_logout_needs_a_post_with_csrf(client, auth):
    auth.create()
    auth.login()
    assert client.get("/logout").status_code == 200  # a confirmation form, not a logout
    assert client.post("/logout").status_code == 400
    assert "camille" in client.get("/account").text


def test_disabled_account_cannot_log_in(client, auth):
    auth.create()
    auth.accounts.set_disabled("camille")
    assert auth.login().status_code == 401


def test_disabling_ends_open_sessions(client, auth):
    auth.create()
    auth.login()
    auth.accounts.set_disabled("camille")
    assert client.get("/account").status_code == 302


def test_password_change_ends_other_sessions(app, client, auth):
    auth.create()
    auth.login()
    other = app.test_client()
    auth.client = other
    auth.login()
    auth.client = client
    page = client.get("/account")
    response = client.post(
        "/account",
        data={
            "csrf_token": csrf_token(page.text),
            "action": "password",
            "current_password": PASSWORD,
            "new_password": "a brand new secret",
        },
    )
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302


def test_tokens_on_the_account_page(client, auth):
    auth.create()
    auth.login()
    page = client.get("/account")
    created = client.post("/account", data={"csrf_token": csrf_token(page.text), "action": "create_token", "label": "portable"})
    token = re.search(r'<code class="token">(trousse_[^<]+)</code>', created.text).group(1)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.put("/api/v1/pages/essai", json={"markdown": "# Essai\n"}, headers=headers).status_code == 201
    listing = client.get("/account").text
    assert "portable" in listing and token not in listing
    token_id = re.search(r'name="token_id" value="(\d+)"', listing).group(1)
    client.post("/account", data={"csrf_token": csrf_token(listing), "action": "revoke_token", "token_id": token_id})
    assert client.put("/api/v1/pages/essai2", json={"markdown": "# X\n"}, headers=headers).status_code == 401


def test_clone_url_uses_the_configured_base_url(app_factory, auth):
    app = app_factory(
        {"site": {"base_url": "https://wiki.tiers-lieux.example"}, "storage": {"fsync": False}}, SESSION_COOKIE_SECURE=False
    )
    client = app.test_client()
    auth.app, auth.client = app, client
    auth.create()
    auth.login()
    session = client.get_cookie("trousse_session").value
    client.set_cookie("trousse_session", session, domain="evil.example")
    page = client.get("/account", base_url="http://evil.example")
    assert page.status_code == 200
    assert "https://wiki.tiers-lieux.example/wiki.git" in page.text
    assert "evil.example" not in page.text


def test_profile_choice_of_published_email(client, auth, data_dir):
    from conftest import git

    auth.create()
    auth.login()
    page = client.get("/account")
    client.post(
        "/account",
        data={
            "csrf_token": csrf_token(page.text),
            "action": "profile",
            "display_name": "Camille M.",
            "email": "camille@example.org",
            "publish_email": "1",
        },
    )
    edit = client.get("/edit/home")
    client.post(
        "/edit/home",
        data={
            "csrf_token": csrf_token(edit.text),
            "action": "save",
            "base_revision": re.search(r'name="base_revision" value="([^"]*)"', edit.text).group(1),
            "markdown": "# Accueil\n\nmodifié\n",
        },
    )
    assert git(data_dir / "wiki.git", "log", "-1", "--format=%an <%ae>").strip() == "Camille M. <camille@example.org>"


def test_invitation_registers_once(app, client):
    accounts = app.extensions["trousse.accounts"]
    code = accounts.create_invitation("editor")
    page = client.get(f"/register/{code}")
    assert page.status_code == 200
    response = client.post(
        f"/register/{code}",
        data={
            "csrf_token": csrf_token(page.text),
            "name": "zoe",
            "display_name": "Zoé Lefèbvre",
            "email": "",
            "password": "un mot de passe",
        },
    )
    assert response.status_code == 302
    assert accounts.by_name("zoe").role == "editor"
    assert client.get(f"/register/{code}").status_code == 404
    assert client.get("/register/forged-code").status_code == 404
