"""The language the ``trousse`` command speaks: the site's, French unless told otherwise.

The people who run a wiki for a network of tiers-lieux read French first, so
the command line answers in the site's language (``site.language``, French by
default) from the same catalogue as the pages. ``trousse --lang en …`` (or
``TROUSSE_LANG=en``) asks for English, for one command or a whole shell. The
system's ``LANG`` is not followed: servers are often set to English or to
``C`` by whoever installed them, not by the people who use the wiki.

Messages are written as English sentences marked with ``_()`` or
``ngettext()``, so ``make i18n`` extracts them with the others.
"""

from __future__ import annotations

import functools

from babel.support import NullTranslations, Translations

from ..app.config import LANGUAGES
from ..app.translations import TRANSLATIONS

DEFAULT = "fr"
_chosen = {"language": DEFAULT}


def choose(language: str) -> None:
    """Speak ``language`` from now on (one of ``LANGUAGES``; anything else means the default)."""
    _chosen["language"] = language if language in LANGUAGES else DEFAULT


def current() -> str:
    return _chosen["language"]


@functools.lru_cache(maxsize=4)
def _catalogue(language: str) -> NullTranslations:
    return Translations.load(str(TRANSLATIONS), [language])


def _(text: str, **values: object) -> str:
    """``text`` in the chosen language, its ``%(name)s`` filled from ``values``."""
    translated = _catalogue(current()).ugettext(text)
    return translated % values if values else translated


def ngettext(singular: str, plural: str, num: int, **values: object) -> str:
    """The singular or plural form for ``num`` (French says "1 lien", "0 lien", "2 liens"), ``%(num)d`` filled."""
    translated = _catalogue(current()).ungettext(singular, plural, num)
    return translated % {"num": num, **values}


def gettext(text: str, **values: object) -> str:
    """The same as ``_``, under the name ``DomainError.describe`` expects."""
    return _(text, **values)


def role_label(role: str) -> str:
    """A role as people say it: "éditeur" rather than "editor"."""
    labels = {"reader": _("reader"), "editor": _("editor"), "admin": _("administrator")}
    return labels.get(role, role)
