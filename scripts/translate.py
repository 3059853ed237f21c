"""Fill the French catalogue from a JSON file of translations, then compile it.

    python scripts/translate.py new-strings.json

The JSON maps each English message to its French text, or to a list of the
three French plural forms for a message with a plural. The script extracts
the interface strings first (``make i18n``), fills the entries it is given,
leaves every other entry as it was, and extracts and compiles again. It holds
a lock on the catalogue meanwhile, so that people (or sessions) translating at
the same time do not overwrite each other's entries. It prints the messages
still untranslated, so the next file can be written from that list.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "wiki" / "translations" / "fr" / "LC_MESSAGES" / "messages.po"


def extract_and_compile() -> None:
    """Run the Makefile's ``i18n`` target with this interpreter."""
    subprocess.run(["make", "-s", "i18n", f"PY={sys.executable}"], cwd=ROOT, check=True, capture_output=True)


def fill(translations: dict[str, str | list[str]]) -> tuple[list[str], list[str]]:
    """Write ``translations`` into the catalogue; return (unknown messages, still untranslated)."""
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    unknown = []
    for message_id, french in translations.items():
        entry = catalogue.get(message_id)
        if entry is None:
            unknown.append(message_id)
            continue
        if isinstance(entry.id, (list, tuple)):
            forms = french if isinstance(french, list) else [french] * 3
            entry.string = tuple(forms)
        else:
            entry.string = french if isinstance(french, str) else french[0]
        entry.flags.discard("fuzzy")
    with CATALOGUE.open("wb") as handle:
        write_po(handle, catalogue, width=76)
    untranslated = [
        str(entry.id[0] if isinstance(entry.id, (list, tuple)) else entry.id)
        for entry in catalogue
        if entry.id and not (all(entry.string) if isinstance(entry.string, (list, tuple)) else entry.string)
    ]
    return unknown, untranslated


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("translations", type=Path, help="JSON: English message → French text (or its 3 plural forms)")
    arguments = parser.parse_args()
    translations = json.loads(arguments.translations.read_text(encoding="utf-8"))
    (ROOT / "build").mkdir(exist_ok=True)
    with (ROOT / "build" / "translate.lock").open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        extract_and_compile()
        unknown, untranslated = fill(translations)
        extract_and_compile()
    for message_id in unknown:
        print(f"not in the sources (ignored): {message_id!r}")
    for message_id in untranslated:
        print(f"untranslated: {message_id!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
