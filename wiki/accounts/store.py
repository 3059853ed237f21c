"""Accounts, roles, browser sessions, API tokens, invitations and rate-limit counts in ``trousse.sqlite``.

Passwords are stored with Werkzeug's scrypt hash (deliberately slow); tokens,
session keys, "remember me" tokens and invitation codes are long random
strings, so a fast SHA-256 of them is enough to make a stolen database useless
for logging in.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import hashlib
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar, Protocol

from werkzeug.security import check_password_hash, generate_password_hash

from repo_store.errors import N_, DomainError, is_storage_full
from repo_store.sqlite_files import ThreadConnections

ROLES = ("reader", "editor", "admin")
TOKEN_PREFIX = "trousse_"
MIN_PASSWORD_LENGTH = 8
INVITATION_DAYS = 14
RESET_SECONDS = 3600
# Languages an account may choose for the mail the wiki sends it ("" until chosen: the site's language).
LANGUAGES = ("fr", "en")
EMAIL_CONFIRM_SECONDS = 2 * 86400
# A browser session nobody used for this long is over (a "remember me" token may start a new one).
SESSION_IDLE_SECONDS = 30 * 86400
# The last-seen time of a session is written at most this often: not one write per request.
SESSION_TOUCH_SECONDS = 300
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    publish_email INTEGER NOT NULL DEFAULT 0,
    role TEXT NOT NULL CHECK (role IN ('reader', 'editor', 'admin')),
    password_hash TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    session_version INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    label TEXT NOT NULL DEFAULT '',
    token_hash TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    last_used TEXT,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS invitations (
    id INTEGER PRIMARY KEY,
    code_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    created TEXT NOT NULL,
    expires REAL NOT NULL,
    used_by INTEGER REFERENCES users (id)
);
-- One row per logged-in browser; the cookies carry secrets whose hashes are here,
-- so deleting the row ends the session and its "remember me" token on the server.
-- CREATE ... IF NOT EXISTS is also the migration of databases made before it.
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_hash TEXT NOT NULL UNIQUE,
    remember_hash TEXT UNIQUE,
    remember_until REAL,
    created TEXT NOT NULL,
    last_seen REAL NOT NULL,
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_id);
-- One-time links sent by e-mail: a password reset, the confirmation of a new address.
-- Only the hash of the code is kept; a link is spent once, or expires.
CREATE TABLE IF NOT EXISTS mail_links (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('reset', 'email')),
    code_hash TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    expires REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS rate_events (bucket TEXT NOT NULL, key TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS rate_events_by_key ON rate_events (bucket, key, at);
"""


class AccountError(DomainError, ValueError):
    """A request about accounts that cannot be honoured; ``reason`` says why, ``describe`` says it to a person."""

    code = "invalid"
    status = 400
    message_key = N_("This account change is not possible.")
    MESSAGES: ClassVar[dict[str, str]] = {
        "bad_name": N_("User names are 1 to 64 letters, digits, dots, dashes or underscores."),
        "bad_role": N_("The role is reader, editor or admin."),
        "weak_password": N_("Passwords have at least 8 characters."),
        "exists": N_("An account with this name already exists."),
        "unknown": N_("There is no account with this name."),
        "bad_display_name": N_("The display name is empty."),
        "bad_email": N_("This e-mail address is not valid."),
        "bad_invitation": N_("This invitation is not valid any more."),
        "own_account": N_("You cannot take away your own administrator role or disable your own account."),
        "wrong_password": N_("The current password is wrong."),
        "last_admin": N_("The wiki must keep at least one active administrator."),
        "bad_link": N_("This link is not valid any more: it was used already, or it expired. Ask for a new one."),
        "bad_language": N_("The language is French or English."),
    }

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    def key(self) -> str:
        return self.MESSAGES.get(self.reason, self.message_key)


@dataclass(frozen=True)
class User:
    id: int
    name: str
    display_name: str
    email: str
    publish_email: bool
    role: str
    disabled: bool
    session_version: int
    created: str
    # The language of the mail sent to the account: "fr", "en", or "" for the site's language.
    language: str = ""

    # flask-login's protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return not self.disabled

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # The account and the generation of its credentials (pages' validators mix it in). A browser's
        # session is not this: its cookie carries the key of a server-side session (Accounts.open_session).
        return f"{self.id}:{self.session_version}"

    def has_role(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)

    @property
    def can_edit(self) -> bool:
        return self.is_active and self.has_role("editor")

    @property
    def is_admin(self) -> bool:
        return self.is_active and self.has_role("admin")


@dataclass(frozen=True)
class Token:
    id: int
    label: str
    created: str
    last_used: str | None
    revoked: bool


@dataclass(frozen=True)
class Session:
    """A logged-in browser, as its owner sees it on the account page."""

    id: int
    created: str
    last_seen: str
    user_agent: str
    remembered: bool


@dataclass(frozen=True)
class OpenedSession:
    """A new session: ``key`` goes into the session cookie, ``remember_token`` (if asked) into its own cookie.

    Only their hashes are stored, so they are known now or never.
    """

    id: int
    key: str
    remember_token: str | None


class RatePolicy(Protocol):
    """How long the next event of ``key`` in ``bucket`` must wait, given the times of the recent ones."""

    bucket: str
    key: str

    def since(self, now: float) -> float:
        """Events at or before this time no longer matter (and may be deleted)."""
        ...

    def wait(self, times: list[float], now: float) -> float:
        """Seconds to wait before the next event (0: now), from the times of events after ``since``, oldest first."""
        ...


@dataclass(frozen=True)
class Invitation:
    id: int
    role: str
    created: str
    expires: float


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise AccountError("bad_name", "user names are 1 to 64 letters, digits, dots, dashes or underscores")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError("bad_role", "the role is reader, editor or admin")
    return role


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("weak_password", f"passwords have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise AccountError("weak_password", "the password is too long")
    return password


def _clean_text(text: str, limit: int) -> str:
    return " ".join("".join(ch for ch in text if ch.isprintable()).split())[:limit]


def _prepare_connection(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA foreign_keys=ON")
    connection.row_factory = sqlite3.Row


class Accounts:
    """The account database; safe to share between threads and processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._connections = ThreadConnections(self.path, prepare=_prepare_connection)
        db = self._db()
        db.executescript(_SCHEMA)
        # Databases made before accounts chose a language gain the column (CREATE TABLE IF NOT EXISTS leaves them).
        if "language" not in {row["name"] for row in db.execute("PRAGMA table_info(users)")}:
            with contextlib.suppress(sqlite3.OperationalError):  # another process added it meanwhile
                db.execute("ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT ''")

    def _db(self) -> sqlite3.Connection:
        return self._connections.get()

    def close(self) -> None:
        self._connections.close()

    # -- users -------------------------------------------------------------

    @staticmethod
    def _user(row: sqlite3.Row | None) -> User | None:
        return Accounts._user_of(row) if row is not None else None

    @staticmethod
    def _user_of(row: sqlite3.Row) -> User:
        return User(
            row["id"],
            row["name"],
            row["display_name"],
            row["email"],
            bool(row["publish_email"]),
            row["role"],
            bool(row["disabled"]),
            row["session_version"],
            row["created"],
            row["language"],
        )

    def add_user(
        self,
        name: str,
        *,
        role: str,
        password: str | None = None,
        display_name: str | None = None,
        email: str = "",
    ) -> User:
        check_name(name)
        check_role(role)
        password_hash = generate_password_hash(check_password(password)) if password is not None else None
        display = _clean_text(display_name or name, 100) or name
        try:
            cursor = self._db().execute(
                "INSERT INTO users (name, display_name, email, role, password_hash, created) VALUES (?, ?, ?, ?, ?, ?)",
                (name, display, _clean_text(email, 200), role, password_hash, _now()),
            )
        except sqlite3.IntegrityError:
            raise AccountError("exists", f"an account named {name!r} already exists") from None
        user = self.get(cursor.lastrowid or 0)
        assert user is not None
        return user

    def get(self, user_id: int) -> User | None:
        return self._user(self._db().execute("SELECT * FROM users WHERE id=?", (user_id,)).fetchone())

    def by_name(self, name: str) -> User | None:
        return self._user(self._db().execute("SELECT * FROM users WHERE name=?", (name,)).fetchone())

    def _changed(self, user_id: int) -> User:
        """The account as a change just left it (gone only if deleted meanwhile: then, as for an unknown name)."""
        user = self.get(user_id)
        if user is None:
            raise AccountError("unknown", f"no account with id {user_id}")
        return user

    def require(self, name: str) -> User:
        user = self.by_name(name)
        if user is None:
            raise AccountError("unknown", f"no account named {name!r}")
        return user

    def list(self) -> list[User]:
        return [self._user_of(row) for row in self._db().execute("SELECT * FROM users ORDER BY name")]

    def set_role(self, name: str, role: str) -> User:
        check_role(role)
        user = self.require(name)
        with self._keeping_an_administrator(user, demoted=role != "admin"):
            self._db().execute("UPDATE users SET role=? WHERE id=?", (role, user.id))
        return self._changed(user.id)

    @contextlib.contextmanager
    def _keeping_an_administrator(self, user: User, *, demoted: bool) -> Iterator[None]:
        """One transaction for a change that may take an administrator away; refused if it takes the last.

        Two administrators demoting each other at the same moment must not
        leave a wiki nobody can administer.
        """
        with self._immediate() as db:
            if demoted and user.role == "admin":
                (others,) = db.execute(
                    "SELECT COUNT(*) FROM users WHERE role='admin' AND disabled=0 AND id<>?", (user.id,)
                ).fetchone()
                if others == 0:
                    raise AccountError("last_admin", "the wiki must keep at least one active administrator")
            yield

    @contextlib.contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken at once, so that a check and the write it allows are one step."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def set_password(self, name: str, password: str) -> User:
        """Change the password and end every session of the account, in one transaction.

        A new password is what one sets after fearing the old one known: the
        browsers logged in with it, and their "remember me" tokens, must not
        outlive it (whoever changed it from the account page gets a new session).
        """
        user = self.require(name)
        password_hash = generate_password_hash(check_password(password))
        with self._immediate() as db:
            db.execute("UPDATE users SET password_hash=?, session_version=session_version+1 WHERE id=?", (password_hash, user.id))
            db.execute("DELETE FROM sessions WHERE user_id=?", (user.id,))
        return self._changed(user.id)

    def set_disabled(self, name: str, disabled: bool = True) -> User:
        """Disable (or enable again) an account; disabling ends all its sessions, so enabling does not revive them."""
        user = self.require(name)
        with self._keeping_an_administrator(user, demoted=disabled):
            db = self._db()
            db.execute("UPDATE users SET disabled=?, session_version=session_version+1 WHERE id=?", (int(disabled), user.id))
            if disabled:
                db.execute("DELETE FROM sessions WHERE user_id=?", (user.id,))
        return self._changed(user.id)

    def update_profile(self, user_id: int, *, display_name: str, email: str, publish_email: bool) -> User:
        display = _clean_text(display_name, 100)
        if not display:
            raise AccountError("bad_display_name", "the display name is empty")
        email = _clean_text(email, 200).replace(" ", "")
        if email and not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", email):
            raise AccountError("bad_email", "this e-mail address is not valid")
        self._db().execute(
            "UPDATE users SET display_name=?, email=?, publish_email=? WHERE id=?",
            (display, email, int(publish_email and bool(email)), user_id),
        )
        return self._changed(user_id)

    def set_language(self, user_id: int, language: str) -> User:
        """The language of the mail sent to the account: one of ``LANGUAGES``, or "" for the site's."""
        if language not in ("", *LANGUAGES):
            raise AccountError("bad_language", "the language is French or English")
        self._db().execute("UPDATE users SET language=? WHERE id=?", (language, user_id))
        return self._changed(user_id)

    def authenticate(self, name: str, password: str) -> User | None:
        """The active user with this name and password, or None (same work either way)."""
        row = self._db().execute("SELECT * FROM users WHERE name=?", (name,)).fetchone()
        stored = row["password_hash"] if row is not None else None
        if not stored:
            check_password_hash(_dummy_hash(), password)
            return None
        if not check_password_hash(stored, password):
            return None
        user = self._user(row)
        return user if user and user.is_active else None

    # -- browser sessions ----------------------------------------------------

    def open_session(self, user_id: int, *, user_agent: str = "", remember_seconds: float | None = None) -> OpenedSession:
        """Record a new logged-in browser; with ``remember_seconds``, also a "remember me" token valid that long.

        The session cookie then carries only the random key, and the server
        decides at every request whether that key still means someone: a
        logout deletes the row, and every copy of the cookies is worthless.
        Sessions long over are cleared out here, where rows are added.
        """
        now = time.time()
        key = secrets.token_urlsafe(32)
        remember = secrets.token_urlsafe(32) if remember_seconds else None
        with self._immediate() as db:
            db.execute(
                "DELETE FROM sessions WHERE last_seen < ? AND (remember_until IS NULL OR remember_until < ?)",
                (now - SESSION_IDLE_SECONDS, now),
            )
            cursor = db.execute(
                "INSERT INTO sessions (user_id, key_hash, remember_hash, remember_until, created, last_seen, user_agent)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    user_id,
                    _digest(key),
                    _digest(remember) if remember else None,
                    now + remember_seconds if remember_seconds else None,
                    _now(),
                    now,
                    _clean_text(user_agent, 100),
                ),
            )
        return OpenedSession(cursor.lastrowid or 0, key, remember)

    def session_user(self, key: str) -> tuple[User, int] | None:
        """The active account of the live session with this key, and the session's id; or None."""
        if not isinstance(key, str) or not 20 <= len(key) <= 100:
            return None  # cookies from before server-side sessions held "id:version": they mean nobody now
        now = time.time()
        row = (
            self._db()
            .execute(
                "SELECT s.id AS session_id, s.last_seen, u.* FROM sessions s JOIN users u ON u.id = s.user_id"
                " WHERE s.key_hash=? AND s.last_seen > ?",
                (_digest(key), now - SESSION_IDLE_SECONDS),
            )
            .fetchone()
        )
        user = self._user(row)
        if user is None or not user.is_active:
            return None
        if row["last_seen"] < now - SESSION_TOUCH_SECONDS:
            self._touch_session(row["session_id"], now)
        return user, row["session_id"]

    def resume_session(self, remember_token: str, *, user_agent: str = "") -> tuple[User, int, str] | None:
        """A new session key for the browser whose "remember me" token this is: (account, session id, key), or None.

        The key is replaced, not shown again (only its hash was kept), so a
        session cookie from before stops working once the token has been used.
        """
        if not isinstance(remember_token, str) or not 20 <= len(remember_token) <= 100:
            return None
        now = time.time()
        key = secrets.token_urlsafe(32)
        with self._immediate() as db:
            row = db.execute(
                "SELECT s.id AS session_id, u.* FROM sessions s JOIN users u ON u.id = s.user_id"
                " WHERE s.remember_hash=? AND s.remember_until > ?",
                (_digest(remember_token), now),
            ).fetchone()
            user = self._user(row)
            if user is None or not user.is_active:
                return None
            db.execute(
                "UPDATE sessions SET key_hash=?, last_seen=?, user_agent=? WHERE id=?",
                (_digest(key), now, _clean_text(user_agent, 100), row["session_id"]),
            )
        return user, row["session_id"], key

    def _touch_session(self, session_id: int, now: float) -> None:
        try:
            self._db().execute("UPDATE sessions SET last_seen=? WHERE id=?", (now, session_id))
        except sqlite3.OperationalError as error:
            if not is_storage_full(error):
                raise
            # A full disk must not log anyone out; the time is only kept to let idle sessions end.

    def end_session(self, session_id: int | None = None, *, remember_token: str | None = None) -> None:
        """End one browser's session: the one with this id, and the one this "remember me" token belongs to."""
        db = self._db()
        if session_id is not None:
            db.execute("DELETE FROM sessions WHERE id=?", (session_id,))
        if remember_token:
            db.execute("DELETE FROM sessions WHERE remember_hash=?", (_digest(remember_token),))

    def end_sessions(self, user_id: int) -> int:
        """End every session of an account ("log out everywhere"); API tokens are separate and stay."""
        return self._db().execute("DELETE FROM sessions WHERE user_id=?", (user_id,)).rowcount

    def sessions(self, user_id: int) -> builtins.list[Session]:
        """The live sessions of an account, most recently used first."""
        now = time.time()
        rows = self._db().execute(
            "SELECT id, created, last_seen, user_agent, remember_until FROM sessions WHERE user_id=?"
            " AND (last_seen > ? OR remember_until > ?) ORDER BY last_seen DESC, id DESC",
            (user_id, now - SESSION_IDLE_SECONDS, now),
        )
        return [
            Session(
                row["id"],
                row["created"],
                datetime.fromtimestamp(row["last_seen"], UTC).isoformat(timespec="minutes"),
                row["user_agent"],
                bool(row["remember_until"] and row["remember_until"] > now),
            )
            for row in rows
        ]

    # -- tokens ------------------------------------------------------------

    def create_token(self, name: str, label: str = "") -> str:
        """A new token for ``name``; only its hash is kept, so show it now or never."""
        user = self.require(name)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self._db().execute(
            "INSERT INTO tokens (user_id, label, token_hash, created) VALUES (?, ?, ?, ?)",
            (user.id, _clean_text(label, 100), _digest(secret), _now()),
        )
        return secret

    def tokens(self, user_id: int) -> builtins.list[Token]:
        rows = self._db().execute(
            "SELECT id, label, created, last_used, revoked FROM tokens WHERE user_id=? ORDER BY id",
            (user_id,),
        )
        return [Token(r["id"], r["label"], r["created"], r["last_used"], bool(r["revoked"])) for r in rows]

    def revoke_token(self, user_id: int, token_id: int) -> bool:
        cursor = self._db().execute("UPDATE tokens SET revoked=1 WHERE id=? AND user_id=?", (token_id, user_id))
        return cursor.rowcount == 1

    def user_for_token(self, secret: str) -> User | None:
        """The active owner of a valid, unrevoked token (and note that it was used)."""
        if not isinstance(secret, str) or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        db = self._db()
        row = db.execute(
            "SELECT t.id AS token_id, t.last_used, u.* FROM tokens t JOIN users u ON u.id = t.user_id"
            " WHERE t.token_hash=? AND t.revoked=0",
            (_digest(secret),),
        ).fetchone()
        if row is None:
            return None
        user = self._user(row)
        if user is None or not user.is_active:
            return None
        today = _now()[:16]
        if (row["last_used"] or "")[:16] != today:
            try:
                db.execute("UPDATE tokens SET last_used=? WHERE id=?", (_now(), row["token_id"]))
            except sqlite3.OperationalError as error:
                if not is_storage_full(error):
                    raise
                # A full disk must not stop a token from reading the wiki; the date is only informative.
        return user

    # -- links sent by e-mail -----------------------------------------------

    def create_password_resets(self, email: str) -> builtins.list[tuple[User, str]]:
        """A one-time reset code for each active account with this address (often none: nothing says so)."""
        address = _clean_text(email, 200).replace(" ", "").casefold()
        if not address:
            return []
        rows = (
            self._db()
            .execute("SELECT * FROM users WHERE lower(email) = ? AND disabled = 0 AND email != ''", (address,))
            .fetchall()
        )
        found = []
        for row in rows:
            user = self._user_of(row)
            found.append((user, self._mail_link(user.id, "reset", user.email, RESET_SECONDS)))
        return found

    def reset_password(self, code: str, password: str) -> User:
        """Set a new password from a reset link, once; every session of the account ends (``bad_link`` otherwise)."""
        check_password(password)
        with self._immediate() as db:
            link = self._spend_link(db, code, "reset")
        user = self.get(link["user_id"])
        if user is None or user.disabled:
            raise AccountError("bad_link", "the account is gone or disabled")
        return self.set_password(user.name, password)

    def request_email_change(self, user_id: int, email: str) -> str:
        """A code that, sent to the new address, confirms it belongs to the account holder."""
        address = _clean_text(email, 200).replace(" ", "")
        if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", address):
            raise AccountError("bad_email", "this e-mail address is not valid")
        return self._mail_link(user_id, "email", address, EMAIL_CONFIRM_SECONDS)

    def confirm_email(self, code: str) -> User:
        """Make the address a confirmation link was sent to the account's, once."""
        with self._immediate() as db:
            link = self._spend_link(db, code, "email")
            db.execute("UPDATE users SET email = ? WHERE id = ?", (link["email"], link["user_id"]))
        return self._changed(link["user_id"])

    def mail_link_is_valid(self, code: str, purpose: str) -> bool:
        row = (
            self._db()
            .execute(
                "SELECT 1 FROM mail_links WHERE code_hash = ? AND purpose = ? AND used = 0 AND expires > ?",
                (_digest(code or ""), purpose, time.time()),
            )
            .fetchone()
        )
        return row is not None

    def _mail_link(self, user_id: int, purpose: str, email: str, lifetime: float) -> str:
        code = secrets.token_urlsafe(24)
        self._db().execute(
            "INSERT INTO mail_links (user_id, purpose, code_hash, email, expires) VALUES (?, ?, ?, ?, ?)",
            (user_id, purpose, _digest(code), email, time.time() + lifetime),
        )
        return code

    @staticmethod
    def _spend_link(db: sqlite3.Connection, code: str, purpose: str) -> sqlite3.Row:
        row: sqlite3.Row | None = db.execute(
            "SELECT * FROM mail_links WHERE code_hash = ? AND purpose = ? AND used = 0 AND expires > ?",
            (_digest(code or ""), purpose, time.time()),
        ).fetchone()
        if row is None:
            raise AccountError("bad_link", "this link is not valid any more")
        db.execute("UPDATE mail_links SET used = 1 WHERE id = ?", (row["id"],))
        return row

    # -- invitations -------------------------------------------------------

    def create_invitation(self, role: str = "editor") -> str:
        check_role(role)
        code = secrets.token_urlsafe(24)
        self._db().execute(
            "INSERT INTO invitations (code_hash, role, created, expires) VALUES (?, ?, ?, ?)",
            (_digest(code), role, _now(), time.time() + INVITATION_DAYS * 86400),
        )
        return code

    def invitation_role(self, code: str) -> str | None:
        row = (
            self._db()
            .execute(
                "SELECT role FROM invitations WHERE code_hash=? AND used_by IS NULL AND expires > ?",
                (_digest(code or ""), time.time()),
            )
            .fetchone()
        )
        return row["role"] if row else None

    def pending_invitations(self) -> builtins.list[Invitation]:
        """Invitations not used yet and not expired, newest first (their codes are never stored)."""
        rows = self._db().execute(
            "SELECT id, role, created, expires FROM invitations WHERE used_by IS NULL AND expires > ? ORDER BY id DESC",
            (time.time(),),
        )
        return [Invitation(row["id"], row["role"], row["created"], row["expires"]) for row in rows]

    def revoke_invitation(self, invitation_id: int) -> bool:
        """Make an unused invitation unusable: it expires now."""
        cursor = self._db().execute(
            "UPDATE invitations SET expires=0 WHERE id=? AND used_by IS NULL AND expires > ?", (invitation_id, time.time())
        )
        return cursor.rowcount == 1

    def register(self, code: str, name: str, password: str, display_name: str = "", email: str = "") -> User:
        """Create the account an invitation allows, and spend the invitation."""
        with self._immediate() as db:
            row = db.execute(
                "SELECT id, role FROM invitations WHERE code_hash=? AND used_by IS NULL AND expires > ?",
                (_digest(code or ""), time.time()),
            ).fetchone()
            if row is None:
                raise AccountError("bad_invitation", "this invitation is not valid any more")
        user = self.add_user(name, role=row["role"], password=password, display_name=display_name, email=email)
        cursor = db.execute("UPDATE invitations SET used_by=? WHERE id=? AND used_by IS NULL", (user.id, row["id"]))
        if cursor.rowcount != 1:
            db.execute("DELETE FROM users WHERE id=?", (user.id,))
            raise AccountError("bad_invitation", "this invitation is not valid any more")
        return user

    # -- rate limits --------------------------------------------------------

    def take(self, bucket: str, key: str, limit: int, window: float) -> float:
        """Count one more event of ``key`` in ``bucket`` if fewer than ``limit`` happened in ``window`` seconds.

        Returns 0 when the event is allowed (and counted), else the seconds to
        wait. The count lives in the database so that every server process
        sees the same one, and the check and the count are one transaction so
        that parallel requests cannot all slip under the limit.
        """
        now = time.time()
        with self._immediate() as db:
            wait = self._wait(db, bucket, key, limit, window, now)
            if not wait:
                db.execute("INSERT INTO rate_events VALUES (?, ?, ?)", (bucket, key, now))
                db.execute("DELETE FROM rate_events WHERE bucket=? AND at < ?", (bucket, now - max(window, 3600)))
        return wait

    def waiting(self, bucket: str, key: str, limit: int, window: float) -> float:
        """Like ``take`` without counting: the seconds to wait before the next event, or 0."""
        return self._wait(self._db(), bucket, key, limit, window, time.time())

    @staticmethod
    def _wait(db: sqlite3.Connection, bucket: str, key: str, limit: int, window: float, now: float) -> float:
        rows = db.execute(
            "SELECT at FROM rate_events WHERE bucket=? AND key=? AND at > ? ORDER BY at LIMIT ?",
            (bucket, key, now - window, max(1, limit)),
        ).fetchall()
        return max(1.0, rows[0]["at"] + window - now) if len(rows) >= limit else 0.0

    def take_all(self, policies: Sequence[RatePolicy], now: float | None = None) -> tuple[float, builtins.list[int]]:
        """Count one event under every policy if none of them must wait: (0, the events' ids); else (the wait, []).

        One transaction checks every key and counts under all of them, so
        parallel requests cannot slip under a limit, and an event refused by
        one key is counted by none (waiting costs the waiting party nothing more).
        """
        now = time.time() if now is None else now
        with self._immediate() as db:
            wait = 0.0
            for policy in policies:
                rows = db.execute(
                    "SELECT at FROM rate_events WHERE bucket=? AND key=? AND at > ? ORDER BY at",
                    (policy.bucket, policy.key, policy.since(now)),
                ).fetchall()
                wait = max(wait, policy.wait([row["at"] for row in rows], now))
            if wait > 0:
                return wait, []
            ids = []
            for policy in policies:
                cursor = db.execute("INSERT INTO rate_events VALUES (?, ?, ?)", (policy.bucket, policy.key, now))
                ids.append(cursor.lastrowid or 0)
                db.execute("DELETE FROM rate_events WHERE bucket=? AND at <= ?", (policy.bucket, policy.since(now)))
        return 0.0, ids

    def restamp_events(self, ids: Sequence[int], at: float) -> None:
        """Move these events (from ``take_all``) to ``at``: a wait measured from them starts when the work ended."""
        self._db().executemany("UPDATE rate_events SET at=? WHERE rowid=?", [(at, ident) for ident in ids])

    def forget_events(self, ids: Sequence[int]) -> None:
        """Uncount these events (from ``take_all``): the attempts they stood for turned out fine."""
        self._db().executemany("DELETE FROM rate_events WHERE rowid=?", [(ident,) for ident in ids])

    def forgive(self, bucket: str, key: str, *, all_events: bool = False) -> None:
        """Uncount the newest event of ``key`` (or all of them): an attempt that turned out fine."""
        if all_events:
            self._db().execute("DELETE FROM rate_events WHERE bucket=? AND key=?", (bucket, key))
        else:
            self._db().execute(
                "DELETE FROM rate_events WHERE rowid = (SELECT rowid FROM rate_events WHERE bucket=? AND key=? "
                "ORDER BY at DESC LIMIT 1)",
                (bucket, key),
            )

    def integrity_problems(self) -> builtins.list[str]:
        rows = self._db().execute("PRAGMA integrity_check").fetchall()
        return [row[0] for row in rows if row[0] != "ok"]


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the account does not exist, so timing does not tell."""
    return generate_password_hash("not a real password, only here to spend the same time")
