"""The wiki's catalogue outside a request: for what is written in the site's language whoever acts.

Commit messages and the git hook's refusals are read by everybody, in the
history and in a contributor's terminal, so they speak the site's language
(``site.language``) rather than the visitor's. They take their sentences
from the same catalogue as the pages, loaded here with Babel alone: the hook
must start fast and has no Flask application around it.
"""

from __future__ import annotations

import functools
from pathlib import Path

from babel.support import Translations

from repo_store.errors import Gettext

TRANSLATIONS = Path(__file__).parent.parent / "translations"


@functools.lru_cache(maxsize=8)
def site_gettext(language: str) -> Gettext:
    """``gettext(text, **values)`` in ``language`` (the sentence itself where the catalogue lacks it)."""
    translations = Translations.load(str(TRANSLATIONS), [language])

    def gettext(text: str, **values: object) -> str:
        translated = translations.ugettext(text)
        return translated % values if values else translated

    return gettext
