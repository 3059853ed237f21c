"""git hooks of the wiki's repository: a push is checked like a web edit before it lands.

``git receive-pack`` runs ``pre-receive`` with the pushed objects still in
quarantine; this module reads them with git (keeping the environment git set
up), checks every pushed commit with the rules the editor uses, and explains
each refusal on stderr, which the contributor's git prints as ``remote:``
lines. Run as ``python -m wiki.app.hooks pre-receive``.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
import sys
from pathlib import Path
from typing import Any

from repo_store.changes import Change
from repo_store.errors import DomainError, Gettext
from repo_store.paths import TEMPLATES_FOLDER, page_path_of
from repo_store.rawlog import LOG_FORMAT, parse_raw_entries, parse_raw_log

from .config import load_settings
from .discussions import discussion_page_of
from .translations import site_gettext
from .write_rules import WriteRules

ZERO = "0" * 40
BRANCH = "refs/heads/main"
REGULAR_FILES = ("100644", "100755")


def install(repository: Path) -> None:
    """Write the hook scripts of a bare repository, pointing at this Python (atomically: other processes may be pushing)."""
    hooks = repository / "hooks"
    hooks.mkdir(exist_ok=True)
    package_root = Path(__file__).resolve().parent.parent.parent
    script = (
        f'#!/bin/sh\nPYTHONPATH="{package_root}${{PYTHONPATH:+:$PYTHONPATH}}" exec "{sys.executable}" -m {__name__} pre-receive\n'
    )
    target = hooks / "pre-receive"
    if target.exists() and target.read_text(encoding="utf-8") == script:
        return
    temporary = hooks / f".pre-receive.{os.getpid()}"
    temporary.write_text(script, encoding="utf-8")
    temporary.chmod(0o755)
    os.replace(temporary, target)


def _git(*args: str, input: bytes | None = None) -> bytes:
    """git in the hook's environment: GIT_DIR and the quarantine directories are kept."""
    result = subprocess.run(["git", "-c", "core.quotepath=false", *args], input=input, capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.decode("utf-8", "replace").strip())
    return result.stdout


def _is_ancestor(old: str, new: str) -> bool:
    return subprocess.run(["git", "merge-base", "--is-ancestor", old, new], capture_output=True).returncode == 0


def _objects(names: list[str]) -> dict[str, tuple[str, bytes]]:
    """``git cat-file --batch`` for many names at once: name → (type, content)."""
    if not names:
        return {}
    output = _git("cat-file", "--batch", input="\n".join(names).encode("utf-8") + b"\n")
    found: dict[str, tuple[str, bytes]] = {}
    position = 0
    for name in names:
        end = output.index(b"\n", position)
        line = output[position:end].decode("utf-8", "replace")
        position = end + 1
        if line.endswith(" missing") or line.endswith(" ambiguous"):
            continue
        header = line.split()
        size = int(header[2])
        found[name] = (header[1], output[position : position + size])
        position += size + 1
    return found


def _tree_blob(tree: bytes, name: str) -> str | None:
    """The blob id of the plain file ``name`` in a raw tree object (``mode name\\0`` then a 20-byte id per entry)."""
    target = name.encode("utf-8")
    position = 0
    while position < len(tree):
        space = tree.index(b" ", position)
        end = tree.index(b"\0", space)
        if tree[space + 1 : end] == target:
            return tree[end + 1 : end + 21].hex() if tree[position:space] in (b"100644", b"100755") else None
        position = end + 21
    return None


class Checker:
    """The rules of every write (``WriteRules``), applied to pushed commits; collects sentences for the pusher."""

    def __init__(self, limits: dict[str, Any], gettext: Gettext) -> None:
        self.rules = WriteRules(limits)
        self._ = gettext
        self.problems: list[str] = []
        self._templates: dict[str, str | None] = {}  # by blob id, or by ``commit:path`` for a nested name
        self._template_trees: dict[str, bytes] = {}  # each checked commit's ``_templates`` folder

    def template_text(self, commit: str, name: str) -> str | None:
        """The text of template ``name`` as the pushed commit has it (a fiche is checked against its own tree).

        The ``_templates`` folders of all pushed commits come in the one batch
        of ``check_commits``; a template's text is then read once per version,
        however many commits share it.
        """
        tree = self._template_trees.get(commit)
        if tree is not None and "/" not in name:
            key = _tree_blob(tree, f"{name}.md")
            if key is None:
                return None
        else:
            key = f"{commit}:{TEMPLATES_FOLDER}/{name}.md"
        if key not in self._templates:
            blob = _objects([key]).get(key)
            self._templates[key] = blob[1].decode("utf-8", "replace") if blob and blob[0] == "blob" else None
        return self._templates[key]

    def refuse(self, commit: str, path: str, reason: str) -> None:
        self.problems.append(f"{commit[:7]} {path}: {reason}" if path else f"{commit[:7]}: {reason}")

    def check_update(self, old: str, new: str, ref: str) -> None:
        if ref != BRANCH:
            self.problems.append(self._("Only the branch main can be pushed (not %(ref)s).", ref=ref))
        elif new == ZERO:
            self.problems.append(self._("The branch main cannot be deleted."))
        elif old == ZERO or not _is_ancestor(old, new):
            self.problems.append(
                self._("This push would replace history (not a fast-forward): pull, merge or rebase, then push again.")
            )
        else:
            self.check_commits(old, new)

    def check_commits(self, old: str, new: str) -> None:
        """Every pushed commit, and the pushed result as a whole.

        Merge commits only list the files that differ from all their parents,
        so the overall ``old..new`` difference is checked too: nothing reaches
        ``main`` that a web edit could not have written.
        """
        output = _git(
            "log",
            "--reverse",
            "--topo-order",
            "-c",
            "--raw",
            "--no-renames",
            "--no-abbrev",
            "-z",
            "--date=iso-strict",
            f"--format={LOG_FORMAT}",
            f"{old}..{new}",
            "--",
        )
        commits = [(record.sha, list(record.changes)) for record in parse_raw_log(output)]
        overall, _end = parse_raw_entries(_git("diff-tree", "-r", "--raw", "-z", "--no-renames", "--no-abbrev", old, new))
        checks = commits + [(new, overall)]
        wanted: list[str] = []
        for commit, changes in checks:
            for change in changes:
                if change.blob:
                    wanted.append(change.blob)
                    if page_path_of(change.path) is None:
                        wanted.append(f"{commit}:{posixpath.dirname(change.path)}.md")
                    else:
                        wanted.append(f"{commit}:{TEMPLATES_FOLDER}")
        objects = _objects(list(dict.fromkeys(wanted)))
        for commit, _changes in checks:
            kind, data = objects.get(f"{commit}:{TEMPLATES_FOLDER}", ("", b""))
            if kind == "tree":
                self._template_trees[commit] = data
        for commit, changes in checks:
            for change in changes:
                if change.blob is not None:
                    self.check_file(commit, change, objects)
        self.problems = list(dict.fromkeys(self.problems))

    def check_file(self, commit: str, change: Change, objects: dict[str, tuple[str, bytes]]) -> None:
        path = change.path
        if change.mode not in REGULAR_FILES:
            self.refuse(commit, path, self._("only plain files can be pushed (no links, submodules or folders)."))
            return
        blob = objects.get(change.blob or "")
        data = blob[1] if blob else b""
        page = page_path_of(path)
        try:
            if page is not None:
                self.rules.page_name(page, new=change.status == "A")
                try:
                    markdown = data.decode("utf-8")
                except UnicodeDecodeError:
                    self.refuse(commit, path, self._("a page must be UTF-8 text."))
                    return
                problems = self.rules.page_problems(markdown)
                for problem in problems:
                    self.refuse(commit, path, problem.describe(self._))
                if not problems:
                    self.rules.fiche_fields(page, markdown, lambda name: self.template_text(commit, name))
                return
            if discussion_page_of(path) is not None:
                self.rules.discussion(data)
            else:
                self.rules.attachment(path, data)
        except DomainError as refused:
            self.refuse(commit, path, refused.describe(self._))
            return
        if f"{commit}:{posixpath.dirname(path)}.md" not in objects:
            self.refuse(commit, path, self._("an attached file must sit in the folder of an existing page."))


def pre_receive(lines: list[str], environ: dict[str, str]) -> int:
    """Check every ref update; print the reasons and return 1 to refuse the whole push."""
    root = Path(environ.get("TROUSSE_DATA") or Path(environ.get("GIT_DIR", ".")).resolve().parent)
    settings = load_settings(root)
    gettext = site_gettext(environ.get("TROUSSE_LANGUAGE") or settings["site"]["language"])
    checker = Checker(settings["limits"], gettext)
    for line in lines:
        parts = line.split()
        if len(parts) == 3:
            checker.check_update(*parts)
    if not checker.problems:
        return 0
    print(gettext("Push refused by the wiki:"), file=sys.stderr)
    for problem in checker.problems[:50]:
        print("  " + problem, file=sys.stderr)
    if len(checker.problems) > 50:
        print(gettext("  … and %(count)d more.", count=len(checker.problems) - 50), file=sys.stderr)
    print(gettext("Nothing was changed. Fix these commits and push again."), file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] != "pre-receive":
        print("usage: python -m wiki.app.hooks pre-receive", file=sys.stderr)
        return 2
    try:
        return pre_receive(sys.stdin.read().splitlines(), dict(os.environ))
    except Exception as error:  # noqa: BLE001 - refuse rather than let an unchecked push through
        print(f"Push refused: the wiki could not check it ({type(error).__name__}: {error}).", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
