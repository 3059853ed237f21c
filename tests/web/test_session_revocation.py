"""Sessions live on the server: logging out ends them, wherever their cookies were copied (issue 12, point 7)."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner
from conftest import PASSWORD, bearer, csrf_token

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture
def private_app(app_factory):
    return app_factory({"access": {"read": "accounts"}, "storage": {"fsync": False}})


def log_in(client, name: str = "camille", remember: bool = False):
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"name": name, "password": PASSWORD, "csrf_token": csrf_token(page.text), **({"remember": "1"} if remember else {})},
        headers={"User-Agent": FIREFOX},
    )
    assert response.status_code == 302
    return response


def log_out(client):
    assert client.post("/logout", data={"csrf_token": csrf_token(client.get("/logout").text)}).status_code == 302


def replay(app, **cookies):
    """A fresh browser holding only copies of these cookies."""
    browser = app.test_client()
    for name, value in cookies.items():
        browser.set_cookie(name, value)
    return browser


def is_anonymous(browser) -> bool:
    """The account page sends anonymous visitors to the login page; a session cookie's API write gets a 401."""
    account = browser.get("/account")
    if account.status_code == 200:
        return False
    assert account.status_code == 302 and "/login" in account.headers["Location"]
    write = browser.put("/api/v1/pages/notes/essai", json={"markdown": "# Essai\n"}, headers={"X-CSRFToken": "x"})
    assert write.status_code == 401 and write.json["error"] == "unauthorized"
    return True


@pytest.fixture
def camille(private_app):
    accounts = private_app.extensions["trousse.accounts"]
    accounts.add_user("camille", role="editor", password=PASSWORD, display_name="Camille Été")
    return accounts


def test_a_session_cookie_copied_before_logout_is_anonymous_after_it(private_app, camille):
    browser = private_app.test_client()
    log_in(browser)
    copied = browser.get_cookie("trousse_session").value
    assert not is_anonymous(replay(private_app, trousse_session=copied))  # the copy works while the session lives
    log_out(browser)
    thief = replay(private_app, trousse_session=copied)
    assert is_anonymous(thief)
    assert thief.get("/wiki/home").status_code == 302  # a private wiki: to the login page


def test_a_remember_me_cookie_copied_before_logout_is_anonymous_after_it(private_app, camille):
    browser = private_app.test_client()
    log_in(browser, remember=True)
    remembered = browser.get_cookie("remember_token").value
    assert not is_anonymous(replay(private_app, remember_token=remembered))
    log_out(browser)
    assert is_anonymous(replay(private_app, remember_token=remembered))


def test_the_session_cookie_carries_a_random_id_and_the_remember_me_token_is_stored_hashed(private_app, camille):
    browser = private_app.test_client()
    log_in(browser, remember=True)
    remembered = browser.get_cookie("remember_token").value
    database = sqlite3.connect(private_app.extensions["trousse.accounts"].path)
    dump = "\n".join(database.iterdump())
    database.close()
    assert remembered not in dump
    assert "camille" not in remembered and ":" not in remembered


def test_log_out_everywhere_ends_every_browser(private_app, camille):
    laptop, phone = private_app.test_client(), private_app.test_client()
    log_in(laptop)
    log_in(phone, remember=True)
    copies = {
        "trousse_session": phone.get_cookie("trousse_session").value,
        "remember_token": phone.get_cookie("remember_token").value,
    }
    token = camille.create_token("camille", "script")
    page = laptop.get("/account")
    assert "Se déconnecter partout" in page.text and "Firefox" in page.text
    response = laptop.post("/account", data={"csrf_token": csrf_token(page.text), "action": "logout_everywhere"})
    assert response.status_code == 302
    assert is_anonymous(laptop) and is_anonymous(phone) and is_anonymous(replay(private_app, **copies))
    assert camille.sessions(camille.by_name("camille").id) == []
    # API tokens have their own revocation: they still work.
    assert private_app.test_client().get("/api/v1/pages/home", headers=bearer(token)).status_code == 200


def test_log_out_everywhere_needs_the_form_token(private_app, camille):
    laptop, phone = private_app.test_client(), private_app.test_client()
    log_in(laptop)
    log_in(phone)
    assert laptop.post("/account", data={"action": "logout_everywhere"}).status_code == 400
    assert not is_anonymous(phone)


def test_a_password_change_on_the_account_page_ends_the_other_sessions(private_app, camille):
    laptop, phone = private_app.test_client(), private_app.test_client()
    log_in(laptop, remember=True)
    log_in(phone, remember=True)
    copies = {"remember_token": phone.get_cookie("remember_token").value}
    page = laptop.get("/account")
    changed = laptop.post(
        "/account",
        data={
            "csrf_token": csrf_token(page.text),
            "action": "password",
            "current_password": PASSWORD,
            "new_password": "a brand new secret",
        },
    )
    assert changed.status_code == 302
    assert not is_anonymous(laptop)  # the browser that changed it stays in
    assert is_anonymous(phone) and is_anonymous(replay(private_app, **copies))
    assert len(camille.sessions(camille.by_name("camille").id)) == 1


def test_disabling_an_account_from_the_admin_page_ends_its_sessions(private_app, camille):
    camille.add_user("alix", role="admin", password=PASSWORD)
    phone = private_app.test_client()
    log_in(phone, remember=True)
    copies = {"remember_token": phone.get_cookie("remember_token").value}
    admin = private_app.test_client()
    log_in(admin, "alix")
    page = admin.get("/admin")
    assert (
        admin.post("/admin", data={"csrf_token": csrf_token(page.text), "action": "disable", "name": "camille"}).status_code
        == 302
    )
    camille.set_disabled("camille", False)  # enabled again: the old sessions stay ended
    assert is_anonymous(phone) and is_anonymous(replay(private_app, **copies))


@pytest.mark.parametrize("command", [["user", "passwd", "camille", "--password-stdin"], ["user", "disable", "camille"]])
def test_the_command_line_ends_the_sessions_too(private_app, camille, data_dir, command):
    from wiki.cli.commands import main

    phone = private_app.test_client()
    log_in(phone, remember=True)
    copies = {"remember_token": phone.get_cookie("remember_token").value}
    result = CliRunner().invoke(main, ["--data", str(data_dir), *command], input="another secret\n")
    assert result.exit_code == 0, result.output
    assert is_anonymous(phone) and is_anonymous(replay(private_app, **copies))
    assert camille.sessions(camille.by_name("camille").id) == []


def test_remember_me_still_renews_a_closed_browser_session(private_app, camille):
    browser = private_app.test_client()
    log_in(browser, remember=True)
    browser.delete_cookie("trousse_session")  # the browser was closed
    assert browser.get("/account").status_code == 200
    renewed = browser.get_cookie("trousse_session").value
    log_out(browser)
    assert is_anonymous(replay(private_app, trousse_session=renewed))


def test_logging_in_again_ends_the_browser_s_previous_session(private_app, camille):
    camille.add_user("alix", role="editor", password=PASSWORD)
    browser = private_app.test_client()
    log_in(browser)
    before = browser.get_cookie("trousse_session").value
    log_in(browser, "alix")
    assert is_anonymous(replay(private_app, trousse_session=before))


def test_an_older_database_gains_the_session_table(data_dir):
    from wiki.accounts.store import Accounts

    path = data_dir / "trousse.sqlite"
    database = sqlite3.connect(path)
    database.execute("DROP TABLE IF EXISTS sessions")
    database.commit()
    database.close()
    accounts = Accounts(path)
    try:
        user = accounts.add_user("camille", role="editor", password=PASSWORD)
        opened = accounts.open_session(user.id, user_agent="Firefox · Linux")
        assert accounts.session_user(opened.key)[0].name == "camille"
        assert [s.user_agent for s in accounts.sessions(user.id)] == ["Firefox · Linux"]
    finally:
        accounts.close()
