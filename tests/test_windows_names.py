"""Names a Windows clone cannot hold are refused on every write path, and old ones stay readable."""

from __future__ import annotations

import io

import pytest
from conftest import bearer, csrf_token, git
from test_git_http import client_git, commit_file, token_for, with_credentials

from repo_store import FileChange, Identity, InvalidPath
from repo_store.paths import check_attachment_name, check_new_page_path, check_path

DEVICES = ["con", "prn", "aux", "nul", *(f"com{digit}" for digit in range(1, 10)), *(f"lpt{digit}" for digit in range(1, 10))]
WINDOWS_MESSAGE = "Windows réserve ce nom"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.mark.parametrize("path", [*DEVICES, "CON", "Aux", "guides/nul/page", "guides/com1", "lpt9/x"])
def test_device_names_are_refused_for_new_pages(path):
    with pytest.raises(InvalidPath) as error:
        check_new_page_path(path)
    assert error.value.reason == "windows_reserved"


@pytest.mark.parametrize("path", ["guides/fin.", "guides/fin ", "dossier./page", "dossier /page"])
def test_parts_ending_in_a_dot_or_a_space_are_refused_for_new_pages(path):
    with pytest.raises(InvalidPath) as error:
        check_new_page_path(path)
    assert error.value.reason == "trailing_dot"


@pytest.mark.parametrize("name", ["con.pdf", "aux.tar.gz", "nul.txt", "com1.odt", "lpt9.png", "PRN.pdf", "con .pdf"])
def test_device_names_are_refused_for_attachments_whatever_the_extension(name):
    with pytest.raises(InvalidPath) as error:
        check_attachment_name(name)
    assert error.value.reason == "windows_reserved"


@pytest.mark.parametrize(
    "path", ["con-tribution", "console", "auxiliaire", "com10", "lpt", "guides/nulle-part", "conference/com-unique"]
)
def test_names_that_only_start_like_a_device_stay_allowed(path):
    assert check_new_page_path(path) == path
    assert check_attachment_name(path.replace("/", "-") + ".pdf")


@pytest.mark.parametrize("path", ["con", "guides/nul/page", "aux.tar", "fin."])
def test_existing_names_stay_readable(path):
    """``check_path`` guards every read: what the history already holds must still open."""
    assert check_path(path) == path


# -- web and API --------------------------------------------------------------


@pytest.mark.parametrize("name", DEVICES)
def test_web_form_refuses_device_names(client, editor, data_dir, name):
    before = git(data_dir / "wiki.git", "rev-parse", "main")
    form = client.get("/edit/home")
    response = client.post(
        f"/edit/guides/{name}",
        data={
            "csrf_token": csrf_token(form.text),
            "base_revision": "",
            "is_new": "1",
            "markdown": "# Essai\n",
            "message": "",
            "action": "save",
        },
    )
    assert response.status_code == 400 and WINDOWS_MESSAGE in response.text
    assert client.get(f"/edit/{name}").status_code == 400
    assert git(data_dir / "wiki.git", "rev-parse", "main") == before


def test_new_page_form_explains_a_device_title(client, editor):
    response = client.get("/new", query_string={"title": "Con"})
    assert response.status_code == 400 and WINDOWS_MESSAGE in response.text


def test_web_upload_refuses_a_device_file_name(client, editor, data_dir):
    before = git(data_dir / "wiki.git", "rev-parse", "main")
    page = client.get("/wiki/licence")
    response = client.post(
        "/attachments/licence",
        data={
            "csrf_token": csrf_token(page.text),
            "file": (io.BytesIO(PDF), "CON.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and WINDOWS_MESSAGE in response.text
    assert git(data_dir / "wiki.git", "rev-parse", "main") == before


@pytest.mark.parametrize("path", [*DEVICES, "guides/nul/page", "guides/con.md", "guides/fin."])
def test_api_put_refuses_windows_names(client, token, path):
    response = client.put(f"/api/v1/pages/{path}", json={"markdown": "# Essai\n"}, headers=bearer(token))
    assert response.status_code == 400, response.text
    assert response.json["error"] == "invalid" and "Windows" in response.json["message"]


@pytest.mark.parametrize("target", ["aux", "guides/com3", "prn/statuts"])
def test_api_move_refuses_a_device_target(client, token, target):
    response = client.post("/api/v1/pages/licence/move", json={"to": target}, headers=bearer(token))
    assert response.status_code == 400 and response.json["error"] == "invalid"
    assert WINDOWS_MESSAGE in response.json["message"]
    assert client.get("/api/v1/pages/licence").status_code == 200


@pytest.mark.parametrize("name", ["con.pdf", "aux.tar.gz", "lpt1.pdf"])
def test_api_file_upload_refuses_device_names(client, token, name):
    response = client.put(f"/api/v1/files/licence/{name}", data=PDF, headers=bearer(token))
    assert response.status_code == 400 and response.json["error"] == "invalid"
    assert WINDOWS_MESSAGE in response.json["message"]


def test_pages_already_in_the_history_under_such_names_stay_readable(app, client, token):
    app.extensions["trousse"].store.commit(
        [FileChange("con.md", b"# Console\n\nImporte.\n"), FileChange("guides/aux/page.md", b"# Aux\n\nVieux.\n")],
        author=Identity("import", "import@example.org"),
        message="imported from an old wiki",
    )
    assert "Importe." in client.get("/wiki/con").text
    assert client.get("/api/v1/pages/guides/aux/page").json["markdown"] == "# Aux\n\nVieux.\n"
    assert client.get("/raw/con").status_code == 200
    assert client.get("/history/con").status_code == 200
    # Saving it again keeps working, like any imported name; only new names are refused.
    revision = client.get("/api/v1/pages/con").json["revision"]
    saved = client.put(
        "/api/v1/pages/con", json={"markdown": "# Console\n\nCorrigé.\n", "base_revision": revision}, headers=bearer(token)
    )
    assert saved.status_code == 200, saved.text
    moved = client.post("/api/v1/pages/con/move", json={"to": "console"}, headers=bearer(token))
    assert moved.status_code == 200 and moved.json["path"] == "console"


def test_an_attachment_already_stored_under_a_device_name_can_be_removed_from_the_page(app, client, editor, data_dir):
    app.extensions["trousse"].store.commit(
        [FileChange("licence/con.pdf", PDF)], author=Identity("import", "import@example.org"), message="imported"
    )
    page = client.get("/wiki/licence")
    response = client.post("/attachments/licence/delete", data={"csrf_token": csrf_token(page.text), "name": "con.pdf"})
    assert response.status_code == 302
    assert "licence/con.pdf" not in git(data_dir / "wiki.git", "ls-tree", "-r", "--name-only", "main")


# -- git push -----------------------------------------------------------------


@pytest.mark.slow
def test_push_refuses_windows_names_with_a_message(live_server, tmp_path):
    base, data = live_server
    remote = with_credentials(base, "camille", token_for(data))
    clone = tmp_path / "clone"
    client_git(None, "clone", "-q", f"{base}/wiki.git", str(clone))
    before = git(data / "wiki.git", "rev-parse", "main").strip()
    pages = [f"guides/{name}.md" for name in DEVICES] + ["guides/nul/page.md", "Guides/CON.md"]
    for path in pages:
        commit_file(clone, path, "# Essai\n", f"ajoute {path}")
    refused = client_git(clone, "push", remote, "main", check=False)
    assert refused.returncode != 0
    for path in pages:
        assert f"{path}: {WINDOWS_MESSAGE}" in refused.stderr, (path, refused.stderr)
    assert "remote:" in refused.stderr
    assert git(data / "wiki.git", "rev-parse", "main") == before + "\n"

    # Attachments too, and names ending in a dot; the other names of the same push are not the problem.
    for case, (path, content) in enumerate(
        [("licence/aux.pdf", PDF), ("licence/com1.tar.gz", PDF), ("guides/fin..md", "# Fin\n")]
    ):
        client_git(clone, "reset", "-q", "--hard", before)
        commit_file(clone, path, content, f"essai {case}")
        refused = client_git(clone, "push", remote, "main", check=False)
        assert refused.returncode != 0 and "remote:" in refused.stderr
        assert "Windows" in refused.stderr and path in refused.stderr, refused.stderr
        assert git(data / "wiki.git", "rev-parse", "main").strip() == before

    # A name that only starts like a device goes through.
    client_git(clone, "reset", "-q", "--hard", before)
    commit_file(clone, "guides/console.md", "# Console\n", "ajoute console")
    client_git(clone, "push", "-q", remote, "main")
    assert git(data / "wiki.git", "rev-parse", "main").strip() != before
