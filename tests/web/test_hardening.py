"""Production hardening seen from a client: headers, sessions, proxies, rate limits, revalidation."""

from __future__ import annotations

import re

from tests.conftest import PASSWORD, api_save, bearer, csrf_token


def test_html_answers_forbid_inline_script_and_framing(client):
    response = client.get("/wiki/home")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers  # plain http: HSTS would be a lie


def test_behind_https_cookies_are_secure_and_hsts_is_sent(app_factory):
    app = app_factory({"site": {"base_url": "https://wiki.example.org"}})
    client = app.test_client()
    app.extensions["trousse.accounts"].add_user("camille", role="editor", password=PASSWORD)
    page = client.get("/login")
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    response = client.post("/login", data={"name": "camille", "password": PASSWORD, "csrf_token": csrf_token(page.text)})
    cookies = response.headers.getlist("Set-Cookie")
    session = [c for c in cookies if c.startswith("trousse_session=")]
    assert session and all("Secure" in c and "HttpOnly" in c for c in session)


def test_login_starts_a_new_session(client, auth):
    auth.create("camille", "editor")
    page = client.get("/login")
    before = csrf_token(page.text)
    auth.login("camille")
    # A form secret planted before the login is worthless after it.
    response = client.post("/logout", data={"csrf_token": before})
    assert response.status_code == 400
    assert client.get("/account").status_code == 200  # still logged in


def test_logout_forgets_the_session_and_the_remembered_login(client, auth):
    auth.create("camille", "editor")
    page = client.get("/login")
    client.post("/login", data={"name": "camille", "password": PASSWORD, "remember": "1", "csrf_token": csrf_token(page.text)})
    assert client.get_cookie("remember_token") is not None
    auth.logout()
    assert client.get_cookie("remember_token") is None
    assert client.get("/account").status_code == 302


def test_a_token_opens_the_api_only_never_the_forms(app, client, auth):
    auth.create("alix", "admin")
    auth.create("camille", "editor")
    token = auth.token("alix")
    head = app.extensions["trousse"].store.head()
    # A valid form secret, so that only the missing login can refuse these: the token must not stand in for one.
    secret = csrf_token(client.get("/login").text)
    forged = client.post(
        "/edit/notes/par-jeton",
        data={"markdown": "# Par jeton\n", "action": "save", "is_new": "1", "csrf_token": secret},
        headers=bearer(token),
    )
    assert forged.status_code == 401
    promoted = client.post(
        "/admin", data={"action": "set_role", "name": "camille", "role": "admin", "csrf_token": secret}, headers=bearer(token)
    )
    assert promoted.status_code == 401 and auth.accounts.by_name("camille").role == "editor"
    assert app.extensions["trousse"].store.head() == head
    assert client.get("/account", headers=bearer(token)).status_code == 302  # not logged in by a token


def test_successful_logins_from_one_address_are_not_counted_against_it(app_factory):
    app = app_factory({"limits": {"login_attempts": 2}})
    accounts = app.extensions["trousse.accounts"]
    for number in range(4):
        accounts.add_user(f"personne{number}", role="editor", password=PASSWORD)
    for number in range(4):  # a workshop: everybody behind one address
        client = app.test_client()
        page = client.get("/login")
        response = client.post(
            "/login", data={"name": f"personne{number}", "password": PASSWORD, "csrf_token": csrf_token(page.text)}
        )
        assert response.status_code == 302


def _fail_login(client, name: str, address: str):
    page = client.get("/login", environ_base={"REMOTE_ADDR": "10.0.0.1"})
    return client.post(
        "/login",
        data={"name": name, "password": "wrong password", "csrf_token": csrf_token(page.text)},
        headers={"X-Forwarded-For": address},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )


def test_a_trusted_proxy_gives_the_client_address_to_the_login_limit(app_factory):
    client = app_factory({"limits": {"login_attempts": 2}, "server": {"trusted_proxies": 1}}).test_client()
    for name in ("a1", "a2"):
        assert _fail_login(client, name, "203.0.113.7").status_code == 401
    assert _fail_login(client, "a3", "203.0.113.7").status_code == 429
    # Another visitor behind the same proxy is not locked out.
    assert _fail_login(client, "b1", "198.51.100.9").status_code == 401


def test_forwarded_headers_are_ignored_without_a_trusted_proxy(app_factory):
    client = app_factory({"limits": {"login_attempts": 2}}).test_client()
    for name in ("a1", "a2"):
        assert _fail_login(client, name, "203.0.113.7").status_code == 401
    # A forged X-Forwarded-For does not escape the limit of the real address.
    assert _fail_login(client, "b1", "198.51.100.9").status_code == 429


def test_api_writes_are_rate_limited_per_account(app_factory):
    app = app_factory({"limits": {"api_writes_per_minute": 3}})
    client = app.test_client()
    accounts = app.extensions["trousse.accounts"]
    accounts.add_user("camille", role="editor", password=PASSWORD)
    token = accounts.create_token("camille")
    for number in range(3):
        api_save(client, token, f"notes/essai-{number}", f"# Essai {number}\n")
    limited = client.put("/api/v1/pages/notes/essai-9", json={"markdown": "# Trop\n"}, headers=bearer(token))
    assert limited.status_code == 429
    assert limited.json["error"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert client.get("/api/v1/pages/notes/essai-0", headers=bearer(token)).status_code == 200  # reads are not limited
    accounts.add_user("lea", role="reader", password=PASSWORD)
    reader = accounts.create_token("lea")
    for _attempt in range(4):  # a reader is told it may not write, never that it writes too often
        assert client.put("/api/v1/pages/notes/x", json={"markdown": "x"}, headers=bearer(reader)).status_code == 403
    accounts.add_user("dominique", role="editor", password=PASSWORD)
    other = accounts.create_token("dominique")
    api_save(client, other, "notes/autre", "# Autre\n")


def test_registrations_are_rate_limited_per_address(app_factory):
    app = app_factory({"limits": {"registrations_per_hour": 1}})
    accounts = app.extensions["trousse.accounts"]
    client = app.test_client()
    code = accounts.create_invitation("editor")
    form = client.get(f"/register/{code}")
    typo = client.post(
        f"/register/{code}",
        data={
            "csrf_token": csrf_token(form.text),
            "name": "personne1",
            "password": "court",
            "display_name": "",
            "email": "",
        },
    )
    assert typo.status_code == 400  # a refused attempt does not use up the address's allowance
    for number, expected in ((1, 302), (2, 429)):
        code = accounts.create_invitation("editor")
        form = client.get(f"/register/{code}")
        response = client.post(
            f"/register/{code}",
            data={
                "csrf_token": csrf_token(form.text),
                "name": f"personne{number}",
                "password": PASSWORD,
                "display_name": "",
                "email": "",
            },
        )
        assert response.status_code == expected
    assert "Retry-After" in response.headers
    assert accounts.by_name("personne2") is None


def test_a_page_is_revalidated_with_a_304_until_the_wiki_changes(client, token):
    first = client.get("/wiki/home")
    etag = first.headers["ETag"]
    assert first.headers["Last-Modified"]
    assert "no-cache" in first.headers["Cache-Control"]
    assert "Cookie" in first.headers["Vary"] and "Accept-Language" in first.headers["Vary"]
    again = client.get("/wiki/home", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    # A date alone never gives a 304: pushed commits may carry any date, and it says nothing of the reader.
    since = client.get("/wiki/home", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 200
    api_save(client, token, "notes/nouvelle", "# Nouvelle\n\nVoir [[home]].\n")
    changed = client.get("/wiki/home", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_readers_and_languages_get_their_own_validators(client, auth):
    anonymous = client.get("/wiki/home").headers["ETag"]
    english = client.get("/wiki/home", headers={"Accept-Language": "en"}).headers["ETag"]
    assert english != anonymous
    auth.create("camille", "editor")
    auth.login("camille")
    welcome = client.get("/wiki/home", headers={"If-None-Match": anonymous})
    assert welcome.status_code == 200 and "ETag" not in welcome.headers  # a flash message is shown once
    logged_in = client.get("/wiki/home", headers={"If-None-Match": anonymous})
    assert logged_in.status_code == 200  # the anonymous copy has no edit button
    assert logged_in.headers["ETag"] != anonymous
    assert "private" in logged_in.headers["Cache-Control"]
    auth.accounts.update_profile(auth.accounts.by_name("camille").id, display_name="Camille M.", email="", publish_email=False)
    renamed = client.get("/wiki/home", headers={"If-None-Match": logged_in.headers["ETag"]})
    assert renamed.status_code == 200 and "Camille M." in renamed.text


def test_a_304_never_brings_back_a_form_token_the_session_lost(client, auth):
    auth.create("camille", "editor")
    page = client.get("/login")
    client.post("/login", data={"name": "camille", "password": PASSWORD, "remember": "1", "csrf_token": csrf_token(page.text)})
    client.get("/wiki/home")  # the welcome message
    client.delete_cookie("trousse_session")  # the browser was closed: only "remember me" is left
    first = client.get("/wiki/home")
    client.delete_cookie("trousse_session")
    again = client.get("/wiki/home", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf_token(again.text)}).status_code == 302


def test_a_new_release_or_new_settings_are_never_answered_with_a_304(app_factory):
    etag = app_factory().test_client().get("/wiki/home").headers["ETag"]
    renamed = app_factory({"site": {"name": "Autre réseau"}}).test_client()
    assert renamed.get("/wiki/home", headers={"If-None-Match": etag}).status_code == 200


def test_static_files_are_versioned_and_cached_for_a_year(client):
    page = client.get("/wiki/home").text
    link = re.search(r'href="(/static/trousse\.css\?v=[0-9a-f]+)"', page)
    assert link, "the stylesheet link carries its version"
    with client.get(link.group(1)) as versioned:
        assert versioned.status_code == 200
        assert "max-age=31536000" in versioned.headers["Cache-Control"]
        assert "immutable" in versioned.headers["Cache-Control"]
        assert "no-cache" not in versioned.headers["Cache-Control"]
    with client.get("/static/trousse.css") as plain:
        assert "immutable" not in plain.headers.get("Cache-Control", "")
    with client.get("/static/trousse.css?v=000000000000") as stale:
        assert stale.status_code == 200 and "immutable" not in stale.headers.get("Cache-Control", "")


def test_the_access_log_never_holds_an_invitation_code():
    from wiki.web.access_log import access_record

    record = access_record("200 OK", {"REQUEST_METHOD": "GET", "PATH_INFO": "/register/SECRETcode123"}, 10, 0.01, addresses=False)
    assert "SECRETcode123" not in str(record) and record["path"].startswith("/register/")


def test_a_moved_page_redirect_is_not_kept_forever(client, token):
    api_save(client, token, "notes/avant", "# Avant\n")
    moved = client.post("/api/v1/pages/notes/avant/move", json={"to": "notes/apres"}, headers=bearer(token))
    assert moved.status_code == 200, moved.text
    redirect = client.get("/wiki/notes/avant")
    assert redirect.status_code == 301 and "no-cache" in redirect.headers["Cache-Control"]


def test_a_limit_of_zero_is_refused_clearly(data_dir):
    import pytest

    from wiki.app.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="api_writes_per_minute"):
        load_settings(data_dir, {"limits": {"api_writes_per_minute": 0}})
