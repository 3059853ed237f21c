"""Failed logins slow the guesser, never the owner: per address and account, with backoff (issue 12, point 6)."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, csrf_token

GUESSER, OWNER, THIRD = "203.0.113.7", "198.51.100.9", "192.0.2.44"


def attempt(client, address: str, password: str, name: str = "alix"):
    """One login form, fetched and posted from ``address``."""
    environ = {"REMOTE_ADDR": address}
    page = client.get("/login", environ_base=environ)
    return client.post(
        "/login", data={"name": name, "password": password, "csrf_token": csrf_token(page.text)}, environ_base=environ
    )


@pytest.fixture
def clock(monkeypatch):
    """The login limits' time source, moved by hand instead of sleeping."""
    from wiki.web import rate_limits

    class Clock:
        now = 1_900_000_000.0

        def advance(self, seconds: float) -> None:
            self.now += seconds

    moved = Clock()
    monkeypatch.setattr(rate_limits, "clock", lambda: moved.now)
    return moved


@pytest.fixture
def owner(auth):
    auth.create("alix", "admin", "Alix Admin")
    return auth


def test_a_guesser_elsewhere_does_not_lock_the_owner_out(app, owner):
    guesser = app.test_client()
    for _ in range(5):
        assert attempt(guesser, GUESSER, "wrong password").status_code == 401
    assert attempt(guesser, GUESSER, "wrong password").status_code == 429
    mine = app.test_client()
    assert attempt(mine, OWNER, PASSWORD).status_code == 302  # at once, from an address that has not been failing
    assert mine.get("/account").status_code == 200
    assert attempt(guesser, GUESSER, PASSWORD).status_code == 429  # the guesser is still held back


def test_each_failure_doubles_the_wait_and_the_right_password_works_after_it(app, owner, clock):
    guesser = app.test_client()
    for _ in range(5):
        assert attempt(guesser, GUESSER, "wrong password").status_code == 401
    waits = []
    for _ in range(4):
        held = attempt(guesser, GUESSER, "wrong password")
        assert held.status_code == 429
        assert 'role="alert"' in held.text and "patientez" in held.text
        waits.append(int(held.headers["Retry-After"]))
        clock.advance(waits[-1] - 0.5)
        assert attempt(guesser, GUESSER, PASSWORD).status_code == 429  # not yet, even with the right password
        clock.advance(0.5)
        assert attempt(guesser, GUESSER, "wrong password").status_code == 401
    assert waits == [1, 2, 4, 8]
    clock.advance(16)
    assert attempt(guesser, GUESSER, PASSWORD).status_code == 302
    # A success wipes this address's slate for this account (the address's own count fades in an hour).
    clock.advance(3600 + 1)
    for _ in range(5):
        assert attempt(app.test_client(), GUESSER, "wrong password").status_code == 401


def test_the_wait_never_exceeds_fifteen_minutes(app, owner, clock):
    guesser = app.test_client()
    longest = 0
    for _ in range(30):
        response = attempt(guesser, GUESSER, "wrong password")
        if response.status_code == 429:
            longest = int(response.headers["Retry-After"])
            assert longest <= 15 * 60
            if longest == 15 * 60:
                break
            clock.advance(longest)
    assert longest == 15 * 60
    assert "minutes" in response.text


def test_the_answer_does_not_tell_whether_the_account_exists(app, owner):
    answers = []
    for name, address in (("alix", GUESSER), ("personne", THIRD)):
        client = app.test_client()
        for _ in range(5):
            assert attempt(client, address, "wrong password", name).status_code == 401
        held = attempt(client, address, "wrong password", name)
        text = re.sub(r'name="csrf_token" value="[^"]+"', "", held.text).replace(name, "NAME")
        answers.append((held.status_code, held.headers["Retry-After"], text))
    assert answers[0] == answers[1]


def test_one_address_trying_many_names_is_slowed_too(app, owner):
    client = app.test_client()
    for number in range(5):
        assert attempt(client, GUESSER, "wrong password", f"nom{number}").status_code == 401
    assert attempt(client, GUESSER, "wrong password", "alix").status_code == 429
    assert attempt(app.test_client(), OWNER, PASSWORD).status_code == 302


def test_an_attack_from_many_addresses_delays_new_devices_only(app_factory, clock):
    """Past the account's ceiling (20 × login_attempts an hour), only a browser that logged in before gets in."""
    app = app_factory({"limits": {"login_attempts": 1}, "storage": {"fsync": False}})
    app.extensions["trousse.accounts"].add_user("alix", role="admin", password=PASSWORD)
    known = app.test_client()
    assert attempt(known, OWNER, PASSWORD).status_code == 302
    known.post("/logout", data={"csrf_token": csrf_token(known.get("/logout").text)})
    for number in range(20):  # a botnet: one guess per address
        assert attempt(app.test_client(), f"10.1.0.{number}", "wrong password").status_code == 401
    stranger = attempt(app.test_client(), "10.2.0.1", PASSWORD)
    assert stranger.status_code == 429 and 0 < int(stranger.headers["Retry-After"]) <= 3600
    assert attempt(known, "10.3.0.1", PASSWORD).status_code == 302  # the device cookie lets its owner in
    clock.advance(3600)
    assert attempt(app.test_client(), "10.2.0.1", PASSWORD).status_code == 302  # the ceiling only delays
