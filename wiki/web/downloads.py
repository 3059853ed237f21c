"""Responses that a browser saves as a file, with a name that cannot break the header."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable

from flask import Response


def download(body: Iterable[bytes] | bytes | str, mimetype: str, filename: str) -> Response:
    """``Content-Disposition: attachment`` with the name percent-encoded (RFC 6266 and 5987).

    Quotes, semicolons, line breaks and non-Latin-1 letters of imported names
    can then neither end the header early nor add parameters to it.
    """
    response = Response(body, mimetype=mimetype)
    quoted = urllib.parse.quote(filename, safe="")
    response.headers["Content-Disposition"] = f"attachment; filename=\"{quoted}\"; filename*=UTF-8''{quoted}"
    return response
