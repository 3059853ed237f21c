"""Addresses the command line prints: where ``trousse serve`` answers, what invitations and exports name.

Outside a request there is no Host to follow, so the command line uses
``site.base_url`` when it is set and otherwise the address ``trousse serve``
listens on (``server.host`` and ``server.port``), which is right for a wiki
tried on one's own computer and says so when it may not be enough.
"""

from __future__ import annotations

from typing import Any

# Listening on every address: a browser on the same machine reaches it on the loopback address.
_EVERYWHERE = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}


def served_address(host: str, port: int) -> str:
    """``http://host:port`` to open in a browser for a server bound to ``host``."""
    shown = _EVERYWHERE.get(host)
    if shown is None:
        shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def public_base(settings: dict[str, Any]) -> tuple[str, bool]:
    """The address links start with, and whether it is the configured one (``site.base_url``)."""
    configured = str(settings["site"]["base_url"])
    if configured:
        return configured, True
    return served_address(settings["server"]["host"], settings["server"]["port"]), False
