"""Absolute links follow the address the wiki is reached at, unless ``site.base_url`` says otherwise."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from conftest import PASSWORD, csrf_token

from wiki.app.config import ConfigError, load_settings
from wiki.cli.commands import main

NO_FSYNC = {"storage": {"fsync": False}}


def log_in_admin(app, client, base_url="http://localhost"):
    app.extensions["trousse.accounts"].add_user("camille", role="admin", password=PASSWORD, display_name="Camille")
    page = client.get("/login", base_url=base_url)
    response = client.post(
        "/login",
        data={"name": "camille", "password": PASSWORD, "csrf_token": csrf_token(page.text)},
        base_url=base_url,
    )
    assert response.status_code == 302


def invitation_link(client, base_url, **headers):
    page = client.get("/admin", base_url=base_url, headers=headers)
    answer = client.post(
        "/admin",
        data={"csrf_token": csrf_token(page.text), "action": "invite", "role": "editor"},
        base_url=base_url,
        headers=headers,
    )
    found = re.search(r"(https?://[^\s<\"]+/register/[\w-]+)", answer.text)
    assert found, answer.text
    return found.group(1)


def test_the_default_is_to_follow_the_request(tmp_path):
    assert load_settings(tmp_path)["site"]["base_url"] == ""
    with pytest.raises(ConfigError):
        load_settings(tmp_path, {"site": {"base_url": "wiki.example.org"}})
    assert load_settings(tmp_path, {"site": {"base_url": "https://wiki.example.org/"}})["site"]["base_url"] == (
        "https://wiki.example.org"
    )


def test_links_follow_the_host_the_wiki_is_reached_at(app_factory):
    app = app_factory(NO_FSYNC)
    client = app.test_client()
    page = client.get("/wiki/home", base_url="http://wiki.lan:8081").text
    assert "http://wiki.lan:8081/wiki/home" in page  # the attribution and the linked data
    assert "127.0.0.1:8080" not in page
    feed = client.get("/changes.atom", base_url="http://wiki.lan:8081").text
    assert 'href="http://wiki.lan:8081/changes.atom"' in feed
    assert "git clone http://wiki.lan:8081/wiki.git" in client.get("/pages", base_url="http://wiki.lan:8081").text
    export = client.get("/export/home.html", base_url="http://wiki.lan:8081").text
    assert "http://wiki.lan:8081/wiki/home" in export
    log_in_admin(app, client, "http://wiki.lan:8081")
    assert invitation_link(client, "http://wiki.lan:8081").startswith("http://wiki.lan:8081/register/")
    assert "http://wiki.lan:8081/wiki.git" in client.get("/account", base_url="http://wiki.lan:8081").text


def test_one_visitors_host_never_reaches_another_through_the_page_cache(app_factory):
    client = app_factory(NO_FSYNC).test_client()
    assert "http://premier.example/wiki/home" in client.get("/wiki/home", base_url="http://premier.example").text
    second = client.get("/wiki/home", base_url="http://second.example").text
    assert "http://second.example/wiki/home" in second and "premier.example" not in second


def test_a_configured_base_url_wins(app_factory):
    app = app_factory({"site": {"base_url": "https://wiki.tiers-lieux.example"}, **NO_FSYNC}, SESSION_COOKIE_SECURE=False)
    client = app.test_client()
    page = client.get("/wiki/home", base_url="http://autre.example").text
    assert "https://wiki.tiers-lieux.example/wiki/home" in page and "autre.example" not in page
    feed = client.get("/changes.atom", base_url="http://autre.example").text
    assert "https://wiki.tiers-lieux.example/changes" in feed and "autre.example" not in feed
    log_in_admin(app, client, "http://autre.example")
    assert invitation_link(client, "http://autre.example").startswith("https://wiki.tiers-lieux.example/register/")


FORWARDED = {"X-Forwarded-Host": "wiki.example.org", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


def test_forwarded_host_is_ignored_without_a_trusted_proxy(app_factory):
    client = app_factory(NO_FSYNC).test_client()
    page = client.get("/wiki/home", headers=FORWARDED)
    assert "http://localhost/wiki/home" in page.text and "wiki.example.org" not in page.text
    assert "Strict-Transport-Security" not in page.headers


def test_forwarded_host_and_scheme_are_believed_from_a_trusted_proxy(app_factory):
    app = app_factory({"server": {"trusted_proxies": 1}, **NO_FSYNC})
    client = app.test_client()
    page = client.get("/wiki/home", headers=FORWARDED)
    assert "https://wiki.example.org/wiki/home" in page.text
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    app.extensions["trousse.accounts"].add_user("camille", role="editor", password=PASSWORD)
    login = client.get("/login", headers=FORWARDED)
    answer = client.post(
        "/login", data={"name": "camille", "password": PASSWORD, "csrf_token": csrf_token(login.text)}, headers=FORWARDED
    )
    cookies = answer.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in cookie for cookie in cookies)


def test_plain_http_without_base_url_sends_no_hsts_and_no_secure_cookie(app_factory):
    app = app_factory(NO_FSYNC)
    client = app.test_client()
    app.extensions["trousse.accounts"].add_user("camille", role="editor", password=PASSWORD)
    login = client.get("/login")
    assert "Strict-Transport-Security" not in login.headers
    answer = client.post("/login", data={"name": "camille", "password": PASSWORD, "csrf_token": csrf_token(login.text)})
    cookies = answer.headers.getlist("Set-Cookie")
    assert cookies and not any("Secure" in cookie for cookie in cookies)


def test_https_without_base_url_gets_hsts_and_secure_cookies(app_factory):
    app = app_factory(NO_FSYNC)
    client = app.test_client()
    app.extensions["trousse.accounts"].add_user("camille", role="editor", password=PASSWORD)
    login = client.get("/login", base_url="https://wiki.example.org")
    assert login.headers["Strict-Transport-Security"].startswith("max-age=")
    answer = client.post(
        "/login",
        data={"name": "camille", "password": PASSWORD, "csrf_token": csrf_token(login.text)},
        base_url="https://wiki.example.org",
    )
    session = [cookie for cookie in answer.headers.getlist("Set-Cookie") if cookie.startswith("trousse_session=")]
    assert session and all("Secure" in cookie for cookie in session)


def test_commit_email_does_not_depend_on_the_request(app_factory, data_dir):
    from conftest import git

    app = app_factory(NO_FSYNC)
    client = app.test_client()
    app.extensions["trousse.accounts"].add_user("camille", role="editor", password=PASSWORD)
    token = app.extensions["trousse.accounts"].create_token("camille", "test")
    answer = client.put(
        "/api/v1/pages/essai",
        json={"markdown": "# Essai\n"},
        headers={"Authorization": f"Bearer {token}"},
        base_url="http://nimporte.example",
    )
    assert answer.status_code == 201, answer.text
    assert git(data_dir / "wiki.git", "log", "-1", "--format=%ae", "main").strip() == "camille@noreply.localhost"


# -- the command line ------------------------------------------------------


def cli(data_dir, *args, **kwargs):
    return CliRunner().invoke(main, ["--data", str(data_dir), *args], **kwargs)


def test_serve_prints_the_address_to_open(data_dir, monkeypatch):
    started = {}
    monkeypatch.setattr("wiki.cli.server.serve", lambda data, **options: started.update(options))
    result = cli(data_dir, "serve", "--port", "8081")
    assert result.exit_code == 0, result.output
    assert "Trousse est servi sur http://127.0.0.1:8081/" in result.output
    assert started["port"] == 8081
    result = cli(data_dir, "--lang", "en", "serve", "--host", "0.0.0.0", "--port", "9000")
    assert "Trousse is served at http://127.0.0.1:9000/" in result.output


def test_invite_without_base_url_says_which_address_it_used(data_dir):
    result = cli(data_dir, "invite")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1].startswith("http://127.0.0.1:8080/register/")
    assert "site.base_url" in result.stderr


def test_invite_uses_the_configured_base_url(data_dir, monkeypatch):
    monkeypatch.setenv("TROUSSE_SITE_BASE_URL", "https://wiki.example.org")
    result = cli(data_dir, "invite", "--role", "lecteur")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1].startswith("https://wiki.example.org/register/")
    assert "(lecteur," in result.stdout and not result.stderr


def test_export_site_says_which_address_its_credits_name(data_dir, tmp_path):
    result = cli(data_dir, "export-site", str(tmp_path / "local"))
    assert result.exit_code == 0, result.output
    assert "site.base_url" in result.stderr and "--base-url" in result.stderr
    assert "http://127.0.0.1:8080/wiki/home" in (tmp_path / "local" / "home.html").read_text(encoding="utf-8")
    result = cli(data_dir, "export-site", "--base-url", "https://wiki.example.org", str(tmp_path / "site"))
    assert result.exit_code == 0, result.output
    assert "https://wiki.example.org/wiki/home" in (tmp_path / "site" / "home.html").read_text(encoding="utf-8")
