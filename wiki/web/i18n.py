"""Languages: French by default, English on request (switch, cookie or Accept-Language)."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _

from .extensions import babel

LANGUAGE_COOKIE = "trousse_lang"
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}


def select_locale() -> str:
    languages = current_app.config["TROUSSE_LANGUAGES"]
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen is not None and chosen in languages:
        return chosen
    default = current_app.config["TROUSSE_SETTINGS"]["site"]["language"]
    if not request.headers.get("Accept-Language"):
        return default
    return request.accept_languages.best_match(languages, default=default)


def file_size(size: int) -> str:
    """A size as people read it in their language: "21,0 Mo" in French, "21.0 MB" in English."""
    for unit, text in ((1000**3, _("%(size)s GB")), (1000**2, _("%(size)s MB")), (1000, _("%(size)s kB"))):
        if size >= unit:
            return text % {"size": format_decimal(size / unit, format="#,##0.0")}
    return _("%(size)s bytes") % {"size": format_decimal(size)}


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    # Jinja's own filesizeformat speaks English only.
    app.jinja_env.filters["filesizeformat"] = file_size

    @app.context_processor
    def _languages() -> dict:
        return {
            "current_language": str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"]),
            "language_names": LANGUAGE_NAMES,
        }
