"""The access log as one JSON object per line, for tools rather than eyes.

Apache's combined format needs a parser that guesses at quoting; a JSON line
is read by ``jq``, journald or any log shipper as it is. The client's address
is personal data, so it is written only when the operator asks for it; query
strings (search terms) never are.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import MutableMapping
from typing import Any

from gunicorn import glogging

USER_KEY = "trousse.user"
_INVITATION = re.compile(r"^(/register/)[^/]+")


def _without_secrets(path: str) -> str:
    """An invitation's code is as good as the account it creates: it never goes into a log."""
    return _INVITATION.sub(r"\1…", path)


def access_record(status: str, environ: MutableMapping[str, Any], sent: int | None, seconds: float, *, addresses: bool) -> dict:
    """What one access line says about a finished request."""
    record: dict[str, Any] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "method": environ.get("REQUEST_METHOD", ""),
        "path": _without_secrets(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")),
        "status": int(status.split(None, 1)[0]) if status[:3].isdigit() else status,
        "bytes": sent or 0,
        "ms": round(seconds * 1000, 2),
        "pid": os.getpid(),
    }
    if environ.get(USER_KEY):
        record["user"] = environ[USER_KEY]
    if addresses:
        record["client"] = environ.get("REMOTE_ADDR", "")
    agent = environ.get("HTTP_USER_AGENT")
    if agent:
        record["agent"] = agent[:200]
    return record


class JsonAccessLogger(glogging.Logger):
    """gunicorn's logger with the access line replaced; error lines are unchanged."""

    log_addresses = False

    def access(self, resp: Any, req: Any, environ: MutableMapping[str, Any], request_time: Any) -> None:
        if not self.cfg.accesslog:
            return
        record = access_record(
            str(resp.status), environ, getattr(resp, "sent", None), request_time.total_seconds(), addresses=self.log_addresses
        )
        self.access_log.info(json.dumps(record, ensure_ascii=False))


def logger_class(addresses: bool) -> type[JsonAccessLogger]:
    return type("TrousseAccessLogger", (JsonAccessLogger,), {"log_addresses": addresses})
