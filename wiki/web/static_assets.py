"""Stylesheet and script served with a year-long cache, safely.

Every link to a static file carries a digest of its content (``?v=…``), so a
new release changes the address and browsers never keep an old file. A
request whose digest is the current one may then be cached for a year
without revalidation; any other request gets the file with ordinary
revalidation (an old page still finds the file, never a stale 404).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

ONE_YEAR = 365 * 24 * 3600


def init_app(app: Flask) -> None:
    folder = Path(app.static_folder or "")

    @lru_cache(maxsize=64)
    def digest(filename: str) -> str | None:
        target = (folder / filename).resolve()
        if not target.is_relative_to(folder.resolve()):
            return None
        try:
            content = target.read_bytes()
        except OSError:
            return None
        return hashlib.blake2b(content, digest_size=6).hexdigest()

    @app.url_defaults
    def _versioned(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = digest(values["filename"])
            if version is not None:
                values["v"] = version

    @app.after_request
    def _long_lived(response: Response) -> Response:
        if request.endpoint == "static" and response.status_code == 200:
            filename = (request.view_args or {}).get("filename", "")
            if request.args.get("v") and request.args.get("v") == digest(filename):
                response.cache_control.no_cache = None  # send_file's default: it would force a revalidation
                response.cache_control.public = True
                response.cache_control.max_age = ONE_YEAR
                response.cache_control.immutable = True
        return response
