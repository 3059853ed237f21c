"""Cloning and pushing with the real git client over HTTP."""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.request
from pathlib import Path

import pytest
from conftest import git, run_cli

from repo_store.gitcmd import git_environment

# Every test here runs git against a served wiki: seconds each.
pytestmark = pytest.mark.slow


AUTHOR = {
    "GIT_AUTHOR_NAME": "Inès Simon",
    "GIT_AUTHOR_EMAIL": "ines@example.org",
    "GIT_COMMITTER_NAME": "Inès Simon",
    "GIT_COMMITTER_EMAIL": "ines@example.org",
}


def client_git(cwd: Path | None, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = git_environment({**AUTHOR, "GIT_TERMINAL_PROMPT": "0"})
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def token_for(data: Path, name: str = "camille") -> str:
    return run_cli(data, "token", "create", name).strip().splitlines()[-1]


def with_credentials(base: str, name: str, token: str) -> str:
    return base.replace("http://", f"http://{name}:{token}@") + "/wiki.git"


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def commit_file(work: Path, path: str, content: str | bytes, message: str) -> None:
    target = work / path
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")
    client_git(work, "add", "--", path)
    client_git(work, "commit", "-q", "-m", message)


def test_clone_shallow_clone_and_protocol_v2(live_server, tmp_path):
    base, data = live_server
    clone = tmp_path / "clone"
    client_git(None, "clone", "-q", f"{base}/wiki.git", str(clone))
    assert (clone / "home.md").read_text(encoding="utf-8").startswith("---\ntitle: Accueil")
    assert client_git(clone, "rev-parse", "HEAD").stdout.strip() == git(data / "wiki.git", "rev-parse", "main").strip()
    shallow = tmp_path / "shallow"
    client_git(None, "clone", "-q", "--depth", "1", f"{base}/wiki.git", str(shallow))
    assert client_git(shallow, "rev-list", "--count", "HEAD").stdout.strip() == "1"
    v2 = client_git(None, "-c", "protocol.version=2", "ls-remote", f"{base}/wiki.git")
    assert "refs/heads/main" in v2.stdout


def test_push_is_visible_on_the_web_in_the_api_and_in_search(live_server, tmp_path):
    base, data = live_server
    clone = tmp_path / "clone"
    client_git(None, "clone", "-q", f"{base}/wiki.git", str(clone))
    commit_file(
        clone, "guides/poussee-par-git.md", "# Poussée par git\n\nLe quokka arrive par git.\n", "Ajoute une page depuis git"
    )
    client_git(clone, "push", "-q", with_credentials(base, "camille", token_for(data)), "main")
    with urllib.request.urlopen(base + "/wiki/guides/poussee-par-git") as response:
        assert "Le quokka arrive par git." in response.read().decode()
    page = get_json(base + "/api/v1/pages/guides/poussee-par-git")
    assert page["authors"] == ["Inès Simon"]
    assert get_json(base + "/api/v1/search?q=quokka")["results"][0]["path"] == "guides/poussee-par-git"
    assert git(data / "wiki.git", "log", "-1", "--format=%an <%ae>").strip() == "Inès Simon <ines@example.org>"


def push_refusal(
    base: str, data: Path, tmp_path: Path, path: str, content, name: str = "camille", token: str | None = None
) -> str:
    clone = tmp_path / ("clone-" + path.replace("/", "_").replace(" ", "_"))
    client_git(None, "clone", "-q", f"{base}/wiki.git", str(clone))
    commit_file(clone, path, content, "contribution")
    before = git(data / "wiki.git", "rev-parse", "main")
    result = client_git(clone, "push", with_credentials(base, name, token or token_for(data, name)), "main", check=False)
    assert result.returncode != 0
    assert git(data / "wiki.git", "rev-parse", "main") == before
    return result.stderr


def test_push_refused_for_a_reader(live_server, tmp_path):
    base, data = live_server
    run_cli(data, "user", "add", "lecteur", "--role", "reader", "--password-stdin", input="un mot de passe\n")
    stderr = push_refusal(base, data, tmp_path, "guides/x.md", "# X\n", name="lecteur")
    assert "403" in stderr or "not push" in stderr or "pas" in stderr


def test_push_refused_with_a_wrong_token(live_server, tmp_path):
    base, data = live_server
    stderr = push_refusal(base, data, tmp_path, "guides/x.md", "# X\n", token="trousse_wrong")
    assert "Authentication failed" in stderr


@pytest.mark.parametrize(
    ("path", "content", "reason"),
    [
        ("guides/Pas Un Slug.md", "# X\n", "minuscules"),
        ("guides/-option.md", "# X\n", "tiret"),
        ("guides/front.md", "---\ntitle: [non fermé\n---\n", "en-tête"),
        ("guides/licence.md", "---\nlicence: Proprietary-1.0\n---\n", "Proprietary-1.0"),
        ("guides/binaire.md", b"\xff\xfe\x00binary", "UTF-8"),
        ("orpheline/fichier.pdf", b"%PDF-1.4 test", "page existante"),
    ],
)
def test_push_refused_for_bad_content_with_a_message(live_server, tmp_path, path, content, reason):
    base, data = live_server
    stderr = push_refusal(base, data, tmp_path, path, content)
    assert "remote:" in stderr and reason in stderr, stderr
    assert "pre-receive hook declined" in stderr


def test_push_refused_for_an_oversized_file(serve_wiki, tmp_path):
    base, data = serve_wiki("[limits]\nmax_file_bytes = 1000\nmax_page_bytes = 2000")
    stderr = push_refusal(base, data, tmp_path, "home/gros.pdf", b"%PDF" + b"x" * 5000)
    assert "1000" in stderr
    stderr = push_refusal(base, data, tmp_path, "guides/longue.md", "# Longue\n\n" + "mot " * 1000)
    assert "2000" in stderr


def test_push_refused_when_not_a_fast_forward_or_not_main(live_server, tmp_path):
    base, data = live_server
    token = token_for(data)
    clone = tmp_path / "clone"
    client_git(None, "clone", "-q", f"{base}/wiki.git", str(clone))
    client_git(clone, "reset", "-q", "--hard", "HEAD")
    commit_file(clone, "guides/a.md", "# A\n", "a")
    client_git(clone, "push", "-q", with_credentials(base, "camille", token), "main")
    client_git(clone, "reset", "-q", "--hard", "HEAD~1")
    commit_file(clone, "guides/b.md", "# B\n", "b")
    forced = client_git(clone, "push", "--force", with_credentials(base, "camille", token), "main", check=False)
    assert forced.returncode != 0
    assert "fast-forward" in forced.stderr or "non-fast-forward" in forced.stderr or "declined" in forced.stderr
    other = client_git(clone, "push", with_credentials(base, "camille", token), "HEAD:refs/heads/autre", check=False)
    assert other.returncode != 0 and "main" in other.stderr


def test_web_edits_and_pushes_interleave_without_loss(live_server, tmp_path):
    base, data = live_server
    token = token_for(data)
    clone = tmp_path / "clone"
    client_git(None, "clone", "-q", f"{base}/wiki.git", str(clone))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    stop = threading.Event()
    saved: list[str] = []

    def web_editor() -> None:
        n = 0
        while not stop.is_set() and n < 15:
            body = json.dumps({"markdown": f"# Web {n}\n\nédition web {n}\n"}).encode()
            request = urllib.request.Request(f"{base}/api/v1/pages/web/page-{n}", data=body, headers=headers, method="PUT")
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 201
            saved.append(f"web/page-{n}")
            n += 1

    editor = threading.Thread(target=web_editor)
    editor.start()
    pushed = []
    for n in range(5):
        commit_file(clone, f"git/page-{n}.md", f"# Git {n}\n\npoussé {n}\n", f"git {n}")
        for _attempt in range(20):
            result = client_git(clone, "push", "-q", with_credentials(base, "camille", token), "main", check=False)
            if result.returncode == 0:
                break
            client_git(clone, "pull", "-q", "--no-rebase", "--no-edit", f"{base}/wiki.git", "main")
        else:
            pytest.fail("the push never went through")
        pushed.append(f"git/page-{n}")
    stop.set()
    editor.join()
    paths = {page["path"] for page in get_json(base + "/api/v1/pages")["pages"]}
    assert set(saved) <= paths and set(pushed) <= paths
    git(data / "wiki.git", "fsck", "--full", "--strict")


def test_private_wiki_refuses_anonymous_clones(serve_wiki, tmp_path):
    base, data = serve_wiki('[access]\nread = "accounts"')
    anonymous = client_git(None, "clone", "-q", f"{base}/wiki.git", str(tmp_path / "anon"), check=False)
    assert anonymous.returncode != 0
    wrong = client_git(
        None, "clone", "-q", with_credentials(base, "camille", "trousse_revoked"), str(tmp_path / "wrong"), check=False
    )
    assert wrong.returncode != 0 and "trousse_revoked" not in wrong.stderr.replace(base, "")
    client_git(None, "clone", "-q", with_credentials(base, "camille", token_for(data)), str(tmp_path / "ok"))
    assert (tmp_path / "ok" / "home.md").exists()


def test_unauthenticated_requests_get_a_basic_challenge(serve_wiki):
    base, _data = serve_wiki('[access]\nread = "accounts"')
    try:
        urllib.request.urlopen(base + "/wiki.git/info/refs?service=git-upload-pack", timeout=10)
    except urllib.error.HTTPError as error:
        assert error.code == 401 and error.headers["WWW-Authenticate"].startswith("Basic")
    else:
        pytest.fail("a private wiki answered an anonymous clone")


def test_push_refused_for_links_submodules_and_fake_documents(live_server, tmp_path):
    base, data = live_server
    token = token_for(data)
    clone = tmp_path / "clone"
    client_git(None, "clone", "-q", f"{base}/wiki.git", str(clone))
    (clone / "guides" / "lien.md").symlink_to("/etc/passwd")
    client_git(clone, "add", "guides/lien.md")
    head = client_git(clone, "rev-parse", "HEAD").stdout.strip()
    client_git(clone, "update-index", "--add", "--cacheinfo", f"160000,{head},guides/module.md")
    (clone / "home").mkdir()
    (clone / "home" / "faux.pdf").write_bytes(b"<!doctype html><script>alert(1)</script>")
    client_git(clone, "add", "home/faux.pdf")
    client_git(clone, "commit", "-q", "-m", "liens")
    before = git(data / "wiki.git", "rev-parse", "main")
    result = client_git(clone, "push", with_credentials(base, "camille", token), "main", check=False)
    assert result.returncode != 0
    for path in ("guides/lien.md", "guides/module.md", "home/faux.pdf"):
        assert path in result.stderr, result.stderr
    assert git(data / "wiki.git", "rev-parse", "main") == before


def test_push_refused_for_a_bad_name_brought_by_a_merge(live_server, tmp_path):
    base, data = live_server
    clone = tmp_path / "clone"
    client_git(None, "clone", "-q", f"{base}/wiki.git", str(clone))
    client_git(clone, "checkout", "-q", "-b", "cote")
    commit_file(clone, "guides/Nom Interdit.md", "# X\n", "côté")
    client_git(clone, "checkout", "-q", "main")
    commit_file(clone, "guides/ok.md", "# OK\n", "principal")
    client_git(clone, "merge", "-q", "--no-ff", "--no-edit", "cote")
    result = client_git(clone, "push", with_credentials(base, "camille", token_for(data)), "main", check=False)
    assert result.returncode != 0 and "guides/Nom Interdit.md" in result.stderr


def test_pushes_are_rate_limited_with_a_message_git_shows(serve_wiki, tmp_path):
    base, data = serve_wiki("[limits]\npushes_per_minute = 1")
    clone = tmp_path / "clone"
    client_git(None, "clone", "-q", f"{base}/wiki.git", str(clone))
    remote = with_credentials(base, "camille", token_for(data))
    # Larger than http.postBuffer: git first sends a credentials probe, which is not a push.
    commit_file(clone, "guides/grande-page.md", "# Grande page\n\n" + "Une ligne de texte.\n" * 200, "Grande page")
    client_git(clone, "-c", "http.postBuffer=1024", "push", "-q", remote, "main")
    commit_file(clone, "guides/seconde-page.md", "# Seconde page\n", "Seconde page")
    refused = client_git(clone, "push", remote, "main", check=False)
    assert refused.returncode != 0
    assert "remote: Trop de push" in refused.stderr or "remote: Too many pushes" in refused.stderr
    assert git(data / "wiki.git", "log", "-1", "--format=%s", "main").strip() == "Grande page"
