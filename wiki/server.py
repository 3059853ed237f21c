"""``trousse serve``: gunicorn with threaded workers, started from Python.

Threaded (gthread) workers keep answering heartbeats while a long request
runs, so a big ``git clone`` is never killed at the worker timeout as it is
with sync workers. Before any worker starts, the master clears lock files that
a killed process may have left in the repository and brings the derived
indexes up to date, so the workers start in step.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from repo_store.refs import remove_stale_locks

from . import hooks
from .datadir import DataDir


class _Server(BaseApplication):
    def __init__(self, data: DataDir, options: dict[str, Any]) -> None:
        self.data = data
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # type: ignore[no-untyped-def]
        from . import create_app

        return create_app({"DATA_DIR": str(self.data.root), "TROUSSE_MAINTENANCE": True})


def _bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def serve(data: DataDir, *, host: str, port: int, workers: int, threads: int, access_log: bool) -> None:
    def on_starting(_arbiter: Any) -> None:
        remove_stale_locks(data.repository)
        hooks.install(data)
        from .cli import build_derived

        build_derived(data)

    options = {
        "bind": _bind_address(host, port),
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 120,
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "on_starting": on_starting,
        "proc_name": "trousse",
    }
    _Server(data, options).run()
