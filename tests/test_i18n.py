"""Every interface string has a French translation, and the compiled catalogue is current."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "wiki" / "translations" / "fr" / "LC_MESSAGES"
METHODS = [("wiki/**.py", "python"), ("repo_store/**.py", "python"), ("templates/**.html", "jinja2")]


def used_messages() -> set[str]:
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT),
        METHODS,
        keywords={"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "N_": None},
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_message_is_translated_into_french():
    with open(CATALOG / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    missing = []
    for message_id in sorted(used_messages()):
        entry = catalog.get(message_id)
        translated = entry is not None and (all(entry.string) if isinstance(entry.string, (list, tuple)) else bool(entry.string))
        if not translated:
            missing.append(message_id)
    assert not missing, "untranslated (run pybabel extract/update, translate, compile):\n" + "\n".join(missing)


def _key(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def test_compiled_catalogue_matches_the_sources():
    with open(CATALOG / "messages.po", "rb") as handle:
        source = {_key(m.id): _key(m.string) for m in read_po(handle) if m.id}
    with open(CATALOG / "messages.mo", "rb") as handle:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(handle) if m.id}
    assert source == compiled, "run: pybabel compile -d wiki/translations"


def test_file_sizes_are_written_in_the_reader_s_language(app):
    from flask import render_template_string

    template = "{{ (21 * 1000 * 1000)|filesizeformat }} · {{ 1536|filesizeformat }} · {{ 12|filesizeformat }}"
    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        assert render_template_string(template) == "21,0 Mo · 1,5 ko · 12 octets"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert render_template_string(template) == "21.0 MB · 1.5 kB · 12 bytes"
