"""``/wiki.git``: the repository over git's smart HTTP protocol, served by ``git http-backend``.

git itself speaks the protocol (clone, fetch, shallow clones, protocol v2,
push), so this module only bridges WSGI and CGI: it streams the request body
into the backend from a thread and streams the backend's output back, never
holding a pack in memory. Measured traps it avoids: ``Content-Encoding`` must
reach the backend (gzip bodies), the ``Git-Protocol`` header must become
``GIT_PROTOCOL`` (v2), and the server's workers are threaded so a long clone
is not killed at a timeout.

Authentication is HTTP Basic with the account name and a token; reading
follows the wiki's read access, pushing needs an editor and passes the
``pre-receive`` checks of ``wiki.app.hooks``.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from typing import IO

from flask import Blueprint, Flask, Response, current_app, request
from flask_babel import gettext as _

from ..accounts.store import User
from ..app.errors import is_storage_full
from ..app.git_access import git_environment
from . import rate_limits
from .access_log import USER_KEY
from .auth import accounts, settings, wiki

blueprint = Blueprint("git_http", __name__)
log = logging.getLogger(__name__)

CHUNK = 64 * 1024
_SERVICES = {"git-upload-pack", "git-receive-pack"}


def _challenge(status: int, message: str) -> Response:
    response = Response(message + "\n", status=status, mimetype="text/plain")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Trousse", charset="UTF-8"'
    return response


def basic_user() -> tuple[User | None, bool]:
    """(the account, whether credentials were presented at all)."""
    header = request.headers.get("Authorization", "")
    scheme, _space, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None, False
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, True
    name, _colon, secret = decoded.partition(":")
    found = accounts().user_for_token(secret)
    if found is None or found.name.casefold() != name.casefold():
        return None, True
    return found, True


# Before a body larger than its http.postBuffer, git sends a flush packet alone
# ("0000") to test the credentials: that is not a push.
_PROBE_LENGTH = 4


def _wants_push(rest: str) -> bool:
    return rest == "git-receive-pack" or request.args.get("service") == "git-receive-pack"


@blueprint.route("/wiki.git", defaults={"rest": ""}, methods=["GET"])
@blueprint.route("/wiki.git/<path:rest>", methods=["GET", "POST"])
def backend(rest: str) -> Response:
    try:
        return _serve(rest)
    except (OSError, sqlite3.OperationalError) as error:
        if not is_storage_full(error):
            raise
        log.error("the disk of the data directory is full: pushes are refused until space is freed")
        return _challenge(
            507,
            _("The server's disk is full: nothing was changed. Push again once the wiki's administrators have freed some space."),
        )


def _serve(rest: str) -> Response:
    if rest in ("", "/"):
        return Response(status=301, headers={"Location": "/wiki.git/info/refs"})
    if ".." in rest.split("/") or any(ord(char) < 32 or ord(char) == 127 for char in rest):
        return _challenge(404, _("There is nothing at this address."))
    who, presented = basic_user()
    if presented and who is None:
        return _challenge(401, _("Wrong user name or token."))
    if who is not None:
        request.environ[USER_KEY] = who.name  # for the access log
    if _wants_push(rest):
        if who is None:
            return _challenge(401, _("Pushing needs your user name and a token (see your account page)."))
        if not who.can_edit:
            return _challenge(403, _("Your account may read the wiki but not push to it."))
        try:
            if request.method == "GET":
                # Every push starts here, and git shows this answer's text to the user.
                rate_limits.check("push", who.name)
            elif request.content_length != _PROBE_LENGTH:
                rate_limits.count("push", who.name)
        except rate_limits.RateLimited as limited:
            response = _challenge(429, _("Too many pushes; please wait a minute."))
            response.headers["Retry-After"] = str(limited.retry_after)
            return response
    elif settings()["access"]["read"] == "accounts" and who is None:
        return _challenge(401, _("This wiki is private: use your user name and a token."))
    service = rest if rest in _SERVICES else None
    if request.method == "POST" and service is None:
        return _challenge(404, _("There is nothing at this address."))
    if service == "git-receive-pack":
        request.max_content_length = settings()["limits"]["max_push_bytes"]
    else:
        request.max_content_length = None
    return _run_backend(rest, who)


def _backend_environment(rest: str, who: User | None) -> dict[str, str]:
    data = wiki().data
    env = git_environment(
        {
            "GIT_PROJECT_ROOT": str(data.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": "/wiki.git/" + rest,
            "QUERY_STRING": request.query_string.decode("latin-1"),
            "REQUEST_METHOD": request.method,
            "REMOTE_ADDR": request.remote_addr or "",
            "TROUSSE_DATA": str(data.root),
        }
    )
    if who is not None:
        env["REMOTE_USER"] = who.name
    for header, variable in (("Content-Type", "CONTENT_TYPE"), ("Content-Encoding", "HTTP_CONTENT_ENCODING")):
        if request.headers.get(header):
            env[variable] = request.headers[header]
    if request.content_length is not None:
        env["CONTENT_LENGTH"] = str(request.content_length)
    protocol = request.headers.get("Git-Protocol")
    if protocol:
        env["GIT_PROTOCOL"] = protocol
    # Pushes run the pre-receive checks in the site's language.
    env["TROUSSE_LANGUAGE"] = settings()["site"]["language"]
    return env


def _run_backend(rest: str, who: User | None) -> Response:
    process = subprocess.Popen(
        ["git", "-c", "http.receivepack=true", "-c", "core.quotepath=false", "http-backend"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_backend_environment(rest, who),
        cwd=str(wiki().data.root),
    )
    feeder = threading.Thread(target=_feed, args=(process, request.stream), daemon=True)
    feeder.start()
    errors: list[bytes] = []
    stderr = process.stderr
    assert stderr is not None
    threading.Thread(target=lambda: errors.append(stderr.read()), daemon=True).start()
    status, headers = _read_cgi_headers(process)
    is_push = rest == "git-receive-pack"
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's documented way to the app
    pusher = who if is_push else None
    return Response(_stream(process, feeder, errors, pusher, app), status=status, headers=headers, direct_passthrough=True)


def _feed(process: subprocess.Popen[bytes], stream: IO[bytes]) -> None:
    stdin = process.stdin
    assert stdin is not None
    try:
        while True:
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            stdin.write(chunk)
    except (BrokenPipeError, OSError, ValueError):
        pass
    except Exception:  # noqa: BLE001 - a body too large or cut: the backend sees the end
        log.info("git request body ended early", exc_info=True)
    finally:
        try:
            stdin.close()
        except OSError:
            pass


def _read_cgi_headers(process: subprocess.Popen) -> tuple[int, list[tuple[str, str]]]:
    status = 200
    headers: list[tuple[str, str]] = []
    stdout = process.stdout
    assert stdout is not None
    while True:
        line = stdout.readline()
        if not line or line in (b"\r\n", b"\n"):
            break
        name, _colon, value = line.decode("latin-1").rstrip("\r\n").partition(":")
        if name.lower() == "status":
            try:
                status = int(value.strip().split()[0])
            except (ValueError, IndexError):
                status = 500
        else:
            headers.append((name.strip(), value.strip()))
    return status, headers


def _stream(
    process: subprocess.Popen[bytes], feeder: threading.Thread, errors: list[bytes], pusher: User | None, app: Flask
) -> Iterator[bytes]:
    stdout = process.stdout
    assert isinstance(stdout, io.BufferedReader)  # unbuffered pipes are raw files, without read1
    finished = False
    try:
        while True:
            chunk = stdout.read1(CHUNK)
            if not chunk:
                break
            yield chunk
        process.wait()
        feeder.join(timeout=5)
        finished = True
        if pusher is not None:
            # The push returns only when this response ends: bring the catalog, the search
            # index and the render caches up to date first, so the push is visible at once.
            with app.app_context():
                app.extensions["trousse"].writes.pushed(pusher)
    finally:
        if not finished and process.poll() is None:
            process.kill()  # the client went away: stop the backend
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        stdout.close()
        if process.returncode not in (0, None) and errors and errors[0].strip():
            log.info("git http-backend: %s", errors[0].decode("utf-8", "replace").strip()[:500])
