"""Languages: French by default, English on request (switch, cookie or Accept-Language)."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_babel import get_locale

from .extensions import babel

LANGUAGE_COOKIE = "trousse_lang"
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}


def select_locale() -> str:
    languages = current_app.config["TROUSSE_LANGUAGES"]
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in languages:
        return chosen
    default = current_app.config["TROUSSE_SETTINGS"]["site"]["language"]
    if not request.headers.get("Accept-Language"):
        return default
    return request.accept_languages.best_match(languages, default=default)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)

    @app.context_processor
    def _languages() -> dict:
        return {
            "current_language": str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"]),
            "language_names": LANGUAGE_NAMES,
        }
