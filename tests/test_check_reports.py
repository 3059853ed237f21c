"""``trousse check`` names what the wiki keeps but could not fully process: unreadable files, pages over the limits."""

from __future__ import annotations

import inspect

import pytest
from click.testing import CliRunner
from conftest import bearer

from repo_store import FileChange, Identity
from wiki.app.content_rules import page_problems
from wiki.app.search_sync import SearchUpdater
from wiki.cli.commands import main

# Starts like a PDF (so it is accepted as one) but holds no readable document.
DAMAGED_PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
IMPORTER = Identity("Import", "import@example.org")


def check(data_dir):
    return CliRunner().invoke(main, ["--data", str(data_dir), "--lang", "en", "check"])


def set_limit(data_dir, name: str, value: int) -> None:
    config = data_dir / "config.toml"
    text = config.read_text(encoding="utf-8")
    assert f"# {name} = " in text
    config.write_text(text.replace(f"# {name} = ", f"{name} = {value}\n# was: "), encoding="utf-8")


def test_a_fresh_wiki_has_nothing_to_report(data_dir):
    result = check(data_dir)
    assert result.exit_code == 0, result.output


@pytest.mark.skipif(not hasattr(SearchUpdater, "unreadable_files"), reason="attachment text extraction not there yet")
def test_check_lists_an_attachment_whose_text_could_not_be_read(app, client, token, data_dir):
    response = client.put("/api/v1/files/licence/scan-abime.pdf", data=DAMAGED_PDF, headers=bearer(token))
    assert response.status_code == 201, response.text
    result = check(data_dir)
    assert result.exit_code == 1
    assert "The text of licence/scan-abime.pdf could not be read (damaged)" in result.output


def test_check_lists_a_page_over_the_size_limit(app, data_dir):
    wiki = app.extensions["trousse"]
    wiki.store.commit(
        [FileChange("guides/enorme.md", b"# Enorme\n\n" + b"mot " * 10_000)],
        author=IMPORTER,
        message="imported before the limit was lowered",
    )
    wiki.sync()
    set_limit(data_dir, "max_page_bytes", 20_000)
    result = check(data_dir)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "guides/enorme" in line]
    assert len(lines) == 1 and "limits" in lines[0] and "20000" in lines[0], result.output
    assert "The page home" not in result.output


@pytest.mark.skipif(
    "max_nesting" not in inspect.signature(page_problems).parameters,
    reason="the nesting limit is not checked by the content rules yet",
)
def test_check_lists_a_page_nested_deeper_than_the_limit(app, data_dir):
    wiki = app.extensions["trousse"]
    deep = "".join("  " * level + "- niveau\n" for level in range(40))
    wiki.store.commit([FileChange("guides/profonde.md", ("# Profonde\n\n" + deep).encode())], author=IMPORTER, message="imported")
    wiki.sync()
    result = check(data_dir)
    assert result.exit_code == 1 and "The page guides/profonde breaks the configured limits" in result.output
