"""``trousse serve``: gunicorn with threaded workers, started from Python.

Threaded (gthread) workers keep answering heartbeats while a long request
runs, so a big ``git clone`` is never killed at the worker timeout as it is
with sync workers. Before any worker starts, the master clears lock files that
a killed process may have left in the repository and brings the derived
indexes up to date, so the workers start in step.

SIGTERM (what ``docker stop`` and systemd send) is a graceful stop: workers
take no new connection, finish the requests they hold — a save, a push — for
up to ``graceful_timeout`` seconds, then close their databases and exit.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from repo_store.refs import remove_stale_locks

from ..app import hooks
from ..app.datadir import DataDir
from ..app.derived import build_derived
from ..web.access_log import logger_class


class _Server(BaseApplication):
    def __init__(self, data: DataDir, options: dict[str, Any]) -> None:
        self.data = data
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:  # the Flask app, which gunicorn's stubs and Flask's type as different WSGI callables
        from ..web import create_app

        self.flask_app = create_app({"DATA_DIR": str(self.data.root), "TROUSSE_MAINTENANCE": True})
        return self.flask_app


def _bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def serve(
    data: DataDir, *, host: str, port: int, workers: int, threads: int, access_log: bool, log_addresses: bool = False
) -> None:
    def on_starting(_arbiter: Any) -> None:
        remove_stale_locks(data.repository)
        hooks.install(data.repository)
        build_derived(data)

    def worker_exit(_arbiter: Any, _worker: Any) -> None:
        # In-flight requests have finished (or the graceful timeout ran out):
        # stop the maintenance thread and close the databases cleanly.
        flask_app = getattr(server, "flask_app", None)
        if flask_app is not None:
            from ..web import close_app

            close_app(flask_app)

    options = {
        "bind": _bind_address(host, port),
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 120,
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": "-" if access_log else None,
        "logger_class": logger_class(log_addresses),
        "errorlog": "-",
        "on_starting": on_starting,
        "worker_exit": worker_exit,
        "proc_name": "trousse",
        # One control socket per user would be shared by every wiki served on the machine.
        "control_socket_disable": True,
        # Forwarded headers are believed only as `server.trusted_proxies` says (in the app, by ProxyFix).
        "forwarded_allow_ips": "",
    }
    server = _Server(data, options)
    server.run()
