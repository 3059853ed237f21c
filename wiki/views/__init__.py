"""The blueprints, and what several of them read from a request."""

from __future__ import annotations

from flask import request


def page_number(highest: int) -> int:
    """The ``?page=`` asked for, kept within 1..``highest``; anything unreadable is the first page."""
    try:
        return max(1, min(highest, int(request.args.get("page", "1"))))
    except ValueError:
        return 1
