"""The administrator's page: roles, disabling, invitations, and who may use it."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD, csrf_token


@pytest.fixture
def admin(auth):
    auth.create("alix", "admin", "Alix Admin")
    auth.create("camille", "editor", "Camille Été")
    assert auth.login("alix").status_code == 302
    return auth


def post_admin(client, **form):
    page = client.get("/admin")
    return client.post("/admin", data={"csrf_token": csrf_token(page.text), **form})


def test_only_administrators_reach_the_page(client, auth):
    assert client.get("/admin").status_code == 302  # anonymous: to the login page
    auth.create("camille", "editor")
    auth.login("camille")
    assert client.get("/admin").status_code == 403
    page = client.get("/account")  # a genuine form token: only the role stands in the way
    refused = client.post(
        "/admin", data={"action": "set_role", "name": "camille", "role": "admin", "csrf_token": csrf_token(page.text)}
    )
    assert refused.status_code == 403
    assert auth.accounts.by_name("camille").role == "editor"


def test_the_page_lists_accounts_and_is_linked_for_admins_only(client, admin):
    page = client.get("/admin")
    assert page.status_code == 200
    assert "Camille Été" in page.text and "alix" in page.text
    assert 'href="/admin"' in client.get("/wiki/home").text


def test_an_administrator_changes_a_role_and_disables_an_account(client, admin):
    assert post_admin(client, action="set_role", name="camille", role="reader").status_code == 302
    assert admin.accounts.by_name("camille").role == "reader"
    assert post_admin(client, action="disable", name="camille").status_code == 302
    assert admin.accounts.by_name("camille").disabled
    assert admin.accounts.authenticate("camille", PASSWORD) is None
    assert post_admin(client, action="enable", name="camille").status_code == 302
    assert not admin.accounts.by_name("camille").disabled


def test_an_administrator_cannot_lock_themselves_out(client, admin):
    refused = post_admin(client, action="set_role", name="alix", role="editor")
    assert refused.status_code == 400
    assert "vous-même" in refused.text or "votre propre" in refused.text
    assert post_admin(client, action="disable", name="alix").status_code == 400
    assert admin.accounts.by_name("alix").role == "admin" and not admin.accounts.by_name("alix").disabled


def test_a_bad_role_is_refused_clearly(client, admin):
    refused = post_admin(client, action="set_role", name="camille", role="god")
    assert refused.status_code == 400
    assert admin.accounts.by_name("camille").role == "editor"


def test_a_forged_form_changes_nothing(client, admin):
    forged = client.post("/admin", data={"action": "set_role", "name": "camille", "role": "admin"})
    assert forged.status_code == 400
    assert admin.accounts.by_name("camille").role == "editor"


def test_an_invitation_from_the_page_registers_once_and_can_be_cancelled(app, client, admin):
    page = post_admin(client, action="invite", role="reader")
    assert page.status_code == 200
    link = re.search(r"/register/([A-Za-z0-9_-]+)", page.text)
    assert link, "the new link is shown"
    code = link.group(1)
    admin.logout()
    other = app.test_client()
    form = other.get(f"/register/{code}")
    assert form.status_code == 200
    created = other.post(
        f"/register/{code}",
        data={
            "csrf_token": csrf_token(form.text),
            "name": "dominique",
            "password": PASSWORD,
            "display_name": "Dominique",
            "email": "",
        },
    )
    assert created.status_code == 302
    assert admin.accounts.by_name("dominique").role == "reader"
    assert other.get(f"/register/{code}").status_code == 404

    admin.login("alix")
    post_admin(client, action="invite", role="editor")
    pending = admin.accounts.pending_invitations()
    assert len(pending) == 1
    assert post_admin(client, action="revoke_invitation", invitation_id=str(pending[0].id)).status_code == 302
    assert admin.accounts.pending_invitations() == []


def test_the_last_active_administrator_cannot_be_removed(admin):
    from wiki.accounts.store import AccountError

    accounts = admin.accounts
    accounts.add_user("sacha", role="admin", password=PASSWORD)
    accounts.set_role("sacha", "editor")  # another administrator remains
    with pytest.raises(AccountError) as demoted:
        accounts.set_role("alix", "reader")
    assert demoted.value.reason == "last_admin"
    with pytest.raises(AccountError):
        accounts.set_disabled("alix")
    assert accounts.by_name("alix").role == "admin" and not accounts.by_name("alix").disabled
