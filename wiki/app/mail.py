"""Outgoing mail: a queue in the account database, sent by a background thread, never inside a request.

A notification is written to the ``outbox`` table in the same breath as the
change that caused it and sent later by ``Outbox.deliver_due``: a save never
waits for an SMTP server, and mail queued before a restart still goes out
after it. Several server processes share the queue: each takes a message by
claiming it for a while (one ``UPDATE`` that only one of them can win), so
a message is sent once even with many workers. A failure is tried again with
a growing delay (one minute, then doubling, up to six hours), and given up
after ``MAX_ATTEMPTS`` with the reason kept.

Without ``mail.smtp_host`` nothing is queued: ``MailSettings.enabled`` is
false and the places that would send mail say so instead.
"""

from __future__ import annotations

import logging
import smtplib
import sqlite3
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from repo_store.sqlite_files import ThreadConnections

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
FIRST_RETRY_SECONDS = 60.0
LONGEST_RETRY_SECONDS = 6 * 3600.0
# How long a process may hold a message it is sending before another may take it.
CLAIM_SECONDS = 120.0
SMTP_TIMEOUT_SECONDS = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    text TEXT NOT NULL,
    html TEXT NOT NULL,
    headers TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    claimed_until REAL NOT NULL DEFAULT 0,
    sent REAL,
    failed TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (sent, next_attempt);
"""


@dataclass(frozen=True)
class MailSettings:
    """The ``[mail]`` section of the settings."""

    smtp_host: str
    smtp_port: int
    sender: str
    starttls: bool
    username: str
    password: str

    @classmethod
    def from_settings(cls, settings: Mapping[str, Mapping[str, Any]]) -> MailSettings:
        mail = settings.get("mail", {})
        return cls(
            smtp_host=str(mail.get("smtp_host", "") or ""),
            smtp_port=int(mail.get("smtp_port", 25) or 25),
            sender=str(mail.get("from", "") or ""),
            starttls=bool(mail.get("starttls", False)),
            username=str(mail.get("username", "") or ""),
            password=str(mail.get("password", "") or ""),
        )

    @property
    def enabled(self) -> bool:
        return bool(self.smtp_host)


@dataclass(frozen=True)
class Mail:
    """One message to one person: plain text and the same in HTML."""

    recipient: str
    subject: str
    text: str
    html: str
    headers: tuple[tuple[str, str], ...] = ()


def _retry_delay(attempts: int) -> float:
    return min(LONGEST_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** max(0, attempts - 1))


class Outbox:
    """The queue of mail to send, shared by every process of the wiki."""

    def __init__(self, database: Path, settings: MailSettings, clock: Callable[[], float] = time.time) -> None:
        self.path = database
        self.settings = settings
        self.clock = clock
        self._connections = ThreadConnections(database)
        self._db().executescript(_SCHEMA)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def _db(self) -> sqlite3.Connection:
        return self._connections.get()

    # -- queueing --------------------------------------------------------------

    def put(self, mail: Mail) -> bool:
        """Queue a message; False (nothing queued) when no SMTP server is configured."""
        if not self.settings.enabled or not mail.recipient:
            return False
        now = self.clock()
        headers = "\n".join(f"{name}: {value}" for name, value in mail.headers)
        self._db().execute(
            "INSERT INTO outbox (recipient, subject, text, html, headers, created, next_attempt) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (mail.recipient, mail.subject, mail.text, mail.html, headers, now, now),
        )
        self._wake.set()
        return True

    def waiting(self) -> int:
        """Messages not sent yet and not given up."""
        row = self._db().execute("SELECT count(*) FROM outbox WHERE sent IS NULL AND failed IS NULL").fetchone()
        return int(row[0])

    # -- sending ---------------------------------------------------------------

    def deliver_due(self, limit: int = 50) -> int:
        """Send the messages whose time has come; returns how many were sent."""
        sent = 0
        for _ in range(limit):
            claimed = self._claim()
            if claimed is None:
                break
            message_id, attempts, mail = claimed
            try:
                self._send(mail)
            except (OSError, smtplib.SMTPException) as error:
                self._failed(message_id, attempts + 1, f"{type(error).__name__}: {error}")
                continue
            self._db().execute("UPDATE outbox SET sent = ?, attempts = ? WHERE id = ?", (self.clock(), attempts + 1, message_id))
            sent += 1
        return sent

    def _claim(self) -> tuple[int, int, Mail] | None:
        """Take the next due message for this process, or None; another process cannot take it meanwhile."""
        db = self._db()
        now = self.clock()
        while True:
            row = db.execute(
                "SELECT id, attempts, recipient, subject, text, html, headers FROM outbox"
                " WHERE sent IS NULL AND failed IS NULL AND next_attempt <= ? AND claimed_until <= ?"
                " ORDER BY next_attempt, id LIMIT 1",
                (now, now),
            ).fetchone()
            if row is None:
                return None
            message_id, attempts, recipient, subject, text, html, headers = row
            won = db.execute(
                "UPDATE outbox SET claimed_until = ? WHERE id = ? AND claimed_until <= ? AND sent IS NULL",
                (now + CLAIM_SECONDS, message_id, now),
            ).rowcount
            if won:
                split = (line.partition(": ") for line in headers.splitlines())
                pairs = tuple((name, value) for name, found, value in split if found)
                return message_id, attempts, Mail(recipient, subject, text, html, pairs)

    def _failed(self, message_id: int, attempts: int, reason: str) -> None:
        if attempts >= MAX_ATTEMPTS:
            log.error("mail %d given up after %d attempts: %s", message_id, attempts, reason)
            self._db().execute(
                "UPDATE outbox SET attempts = ?, failed = ?, claimed_until = 0 WHERE id = ?", (attempts, reason, message_id)
            )
            return
        delay = _retry_delay(attempts)
        log.warning("mail %d not sent (%s); trying again in %d s", message_id, reason, delay)
        self._db().execute(
            "UPDATE outbox SET attempts = ?, next_attempt = ?, claimed_until = 0 WHERE id = ?",
            (attempts, self.clock() + delay, message_id),
        )

    def _send(self, mail: Mail) -> None:
        settings = self.settings
        message = EmailMessage()
        message["From"] = settings.sender or f"trousse@{settings.smtp_host}"
        message["To"] = mail.recipient
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=(settings.sender.rpartition("@")[2] or settings.smtp_host))
        for name, value in mail.headers:
            message[name] = value
        message.set_content(mail.text)
        message.add_alternative(mail.html, subtype="html")
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password)
            smtp.send_message(message)

    # -- the sending thread ------------------------------------------------------

    def start(self, interval: float = 30.0, tasks: tuple[Callable[[], object], ...] = ()) -> None:
        """Send in the background (server processes): as soon as mail is queued here, else every ``interval`` seconds.

        ``tasks`` run before each round (the daily digests queue their mail there).
        """
        if not self.settings.enabled or self._thread is not None:
            return

        def loop() -> None:
            while not self._stopping.is_set():
                try:
                    for task in tasks:
                        task()
                    self.deliver_due()
                except sqlite3.Error:
                    log.exception("the mail queue could not be read")
                self._wake.wait(interval)
                self._wake.clear()

        self._thread = threading.Thread(target=loop, name="trousse-mail", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=SMTP_TIMEOUT_SECONDS + 5)
        self._connections.close()
