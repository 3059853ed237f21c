"""The same rule refuses the same input on every way in: the browser's forms, the API and a git push.

Each case is sent three times — saved or attached in the browser, through
``/api/v1``, and pushed with the real git client to the repository, whose
pre-receive hook checks it — and must be refused three times with the same
French sentence, nothing committed.
"""

from __future__ import annotations

import html
import io
import subprocess
from pathlib import Path

import pytest
from conftest import bearer, csrf_token, git

from repo_store.gitcmd import git_environment

DEEP_LIST = "".join("  " * depth + "- niveau\n" for depth in range(40))
HTML_AS_PDF = b"<!doctype html><script>alert(1)</script>"

PAGE_CASES = {
    "not_slug": ("guides/Pas Un Slug", "# Pas un slug\n", "invalid"),
    "leading_dash": ("guides/-option", "# Option\n", "invalid"),
    "unknown_licence": ("guides/licence", "---\nlicence: Proprietary-1.0\n---\n# Licence\n", "invalid"),
    "front_matter": ("guides/en-tete", "---\ntitle: [non fermé\n---\n# En-tête\n", "invalid"),
    "too_deep": ("guides/profonde", "# Profonde\n\n" + DEEP_LIST, "invalid"),
    # A fiche whose fields do not fit its template's declaration (the starter's fiche-loyer).
    "invalid_fields": (
        "loyers/essai",
        "---\nmodele: fiche-loyer\ncommune: Pauillac\nsurface_m2: beaucoup\ndate_debut: demain\n---\n# Essai\n",
        "invalid_fields",
    ),
    # A conflict left unresolved: refused wherever it comes from (a lone "=======" is a heading's underline, and
    # markers shown in a code block are an example).
    "conflict_markers": (
        "guides/marques",
        "# Marques\n\nTitre\n=======\n\n```\n<<<<<<< HEAD\n```\n\n"
        "<<<<<<< version enregistrée entre-temps\nLoyer 120.\n=======\nLoyer 90.\n>>>>>>> votre version\n",
        "conflict_markers",
    ),
}
FILE_CASES = {
    "mismatch": ("home", "convention.pdf", HTML_AS_PDF),
    "type": ("home", "programme.exe", b"MZ\x90\x00binary"),
    "empty": ("home", "vide.txt", b""),
}


def words(text: str) -> str:
    """Text with its spaces evened out (git pads ``remote:`` lines; French puts no-break spaces before « ; »)."""
    return " ".join(text.split())


@pytest.fixture
def clone(data_dir: Path, tmp_path: Path) -> Path:
    """A contributor's clone of the wiki's repository, pushing to it directly (its hook runs as over HTTP)."""
    work = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(data_dir / "wiki.git"), str(work)], check=True, env=git_environment())
    return work


def push_refusal(clone: Path, data_dir: Path, path: str, content: bytes) -> str:
    """Commit ``content`` at ``path`` and push it; the push must be refused, ``main`` unmoved. Returns git's output."""
    env = git_environment(
        {
            "GIT_AUTHOR_NAME": "Inès Simon",
            "GIT_AUTHOR_EMAIL": "ines@example.org",
            "GIT_COMMITTER_NAME": "Inès Simon",
            "GIT_COMMITTER_EMAIL": "ines@example.org",
            "TROUSSE_LANGUAGE": "fr",
        }
    )
    target = clone / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    subprocess.run(["git", "add", "--", path], cwd=clone, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", "contribution"], cwd=clone, check=True, env=env)
    before = git(data_dir / "wiki.git", "rev-parse", "main")
    result = subprocess.run(["git", "push", "origin", "main"], cwd=clone, capture_output=True, text=True, env=env)
    assert result.returncode != 0, result.stderr
    assert git(data_dir / "wiki.git", "rev-parse", "main") == before
    subprocess.run(["git", "reset", "-q", "--hard", "origin/main"], cwd=clone, check=True, env=env)
    return result.stderr


@pytest.mark.parametrize("case", sorted(PAGE_CASES))
def test_a_page_is_refused_alike_by_the_editor_the_api_and_a_push(case, app, auth, clone, data_dir):
    path, markdown, code = PAGE_CASES[case]
    auth.create("camille", "editor", "Camille Été")
    token = auth.token()
    head = git(data_dir / "wiki.git", "rev-parse", "main")
    french = {"Accept-Language": "fr"}

    api = auth.client.put(f"/api/v1/pages/{path}", json={"markdown": markdown}, headers={**bearer(token), **french})
    assert api.status_code == 400, api.text
    assert api.json["error"] == code
    sentence = api.json["message"]
    assert sentence and "Traceback" not in sentence

    assert auth.login().status_code == 302
    form = auth.client.get("/edit/home", headers=french)
    web = auth.client.post(
        f"/edit/{path}",
        data={"markdown": markdown, "message": "", "base_revision": "", "is_new": "1", "csrf_token": csrf_token(form.text)},
        headers=french,
    )
    assert web.status_code == 400
    assert sentence in html.unescape(web.text)

    pushed = push_refusal(clone, data_dir, f"{path}.md", markdown.encode("utf-8"))
    assert "remote:" in pushed
    assert words(sentence) in words(pushed), pushed

    assert git(data_dir / "wiki.git", "rev-parse", "main") == head


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_a_file_is_refused_alike_by_the_upload_form_the_api_and_a_push(case, app, auth, clone, data_dir):
    page, name, data = FILE_CASES[case]
    auth.create("camille", "editor", "Camille Été")
    token = auth.token()
    head = git(data_dir / "wiki.git", "rev-parse", "main")
    french = {"Accept-Language": "fr"}

    api = auth.client.put(f"/api/v1/files/{page}/{name}", data=data, headers={**bearer(token), **french})
    assert api.status_code == 400, api.text
    assert api.json["error"] == "invalid"
    sentence = api.json["message"]

    assert auth.login().status_code == 302
    form = auth.client.get(f"/wiki/{page}", headers=french)
    web = auth.client.post(
        f"/attachments/{page}",
        data={"file": (io.BytesIO(data), name), "csrf_token": csrf_token(form.text)},
        headers=french,
        content_type="multipart/form-data",
    )
    assert web.status_code == 400
    assert sentence in html.unescape(web.text)

    pushed = push_refusal(clone, data_dir, f"{page}/{name}", data)
    assert words(sentence) in words(pushed), pushed

    assert git(data_dir / "wiki.git", "rev-parse", "main") == head


def test_a_push_checks_fiches_against_the_templates_it_pushes(app, clone, data_dir):
    """The hook reads a fiche's template from the pushed commit: a template and a page pushed together agree."""
    template = (
        "---\nmodele: Atelier\nchamps:\n  - nom: places\n    libelle: Places\n    type: nombre\n    requis: true\n---\n"
        "# Atelier\n"
    )
    (clone / "_templates").mkdir(exist_ok=True)
    (clone / "_templates" / "atelier.md").write_text(template, encoding="utf-8")
    subprocess.run(["git", "add", "--", "_templates/atelier.md"], cwd=clone, check=True, env=git_environment())
    pushed = push_refusal(clone, data_dir, "guides/atelier.md", b"---\nmodele: atelier\nplaces: dix\n---\n# Atelier\n")
    assert "Places : Indiquez un nombre, par exemple 12 ou 12,5." in words(pushed).replace("\u00a0", " "), pushed

    # The same template with a page that fits it goes through.
    person = {"NAME": "Inès Simon", "EMAIL": "ines@example.org"}
    env = git_environment({f"GIT_{role}_{key}": value for role in ("AUTHOR", "COMMITTER") for key, value in person.items()})
    (clone / "_templates" / "atelier.md").write_text(template, encoding="utf-8")
    (clone / "guides" / "atelier.md").write_text("---\nmodele: atelier\nplaces: 12\n---\n# Atelier\n", encoding="utf-8")
    subprocess.run(["git", "add", "--", "_templates/atelier.md", "guides/atelier.md"], cwd=clone, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", "atelier"], cwd=clone, check=True, env=env)
    accepted = subprocess.run(["git", "push", "origin", "main"], cwd=clone, capture_output=True, text=True, env=env)
    assert accepted.returncode == 0, accepted.stderr
