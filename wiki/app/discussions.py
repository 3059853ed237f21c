"""A page's discussion: messages kept in a plain-text file beside the page's documents.

The discussion of ``guides/loyers`` is ``guides/loyers/_discussion.text``, in
the page's folder, so it is cloned, moved, deleted and restored with the page
and its documents. Its name cannot be an attachment's (those start with a
letter or digit) nor a page's (not ``.md``), and ``.text`` is not a type the
search index reads. The file is a list of records, oldest first; a post
appends one, hiding a message adds one header line, so each diff is small::

    %% message 1
    author: Camille Été
    date: 2026-12-05T10:12:00+00:00

    Le texte, en **Markdown**.

    %% message 2
    author: Alice
    date: 2026-12-05T11:40:00+00:00
    reply-to: 1
    hidden: yes

    Une réponse.

A body line that would start with ``%%`` is written with one more leading
backslash (``\\%%``), and read back with one less, as mbox quotes ``From ``.
Every write checks the whole file with ``check_discussion``: the web, the API
and a ``git push`` (``wiki.app.hooks``) all refuse what it refuses.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from repo_store.errors import N_, ContentTooLarge, DomainError, Gettext, InvalidContent

from ..render.markdown_shape import measure
from .conflicts import has_conflict_markers

DISCUSSION_NAME = "_discussion.text"
RECORD_START = "%% message "
MAX_MESSAGE_CHARS = 10_000
MAX_MESSAGES = 5_000
MAX_AUTHOR_CHARS = 200
FIELDS = ("author", "date", "reply-to", "hidden")

_ESCAPED = re.compile(r"\\*%%")
_NUMBER = re.compile(r"[1-9][0-9]{0,8}\Z")


def discussion_file(page: str) -> str:
    """The repository file of a page's discussion."""
    return f"{page}/{DISCUSSION_NAME}"


def discussion_page_of(file_path: str) -> str | None:
    """The page whose discussion ``file_path`` is, or None for any other file."""
    folder, name = posixpath.split(file_path)
    return folder if name == DISCUSSION_NAME and folder else None


@dataclass(frozen=True)
class Message:
    id: int
    author: str
    date: str  # ISO 8601 with a time zone, as written
    markdown: str
    reply_to: int | None = None
    hidden: bool = False

    @property
    def when(self) -> datetime | None:
        return _parse_date(self.date)


@dataclass(frozen=True)
class Posted:
    """A message just posted (or hidden), and the commit that did it."""

    message: Message
    revision: str


# -- refusals ------------------------------------------------------------------


class MessageRejected(InvalidContent):
    """A message the discussion does not take: empty, too long, or replying to nothing."""

    _KEYS = {
        "empty": N_("A message cannot be empty."),
        "not_text": N_("A message must be text, without binary data."),
        "too_long": N_("A message may hold at most %(limit)s characters."),
        "too_deep": N_("The message nests lists or quotes too deep."),
        "conflict_markers": N_("The message still holds conflict marks (lines “<<<<<<<”, “=======”, “>>>>>>>”)."),
        "no_reply": N_("There is no message %(number)s in this discussion to reply to."),
    }

    def __init__(self, reason: str, number: object = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.number = number

    def key(self) -> str:
        return self._KEYS[self.reason]

    def message_values(self) -> Mapping[str, object]:
        return {"limit": MAX_MESSAGE_CHARS, "number": self.number}


class MessageNotFound(DomainError):
    code = "not_found"
    status = 404
    message_key = N_("There is no message %(number)s in this discussion.")

    def __init__(self, number: object) -> None:
        super().__init__(str(number))
        self.number = number

    def message_values(self) -> Mapping[str, object]:
        return {"number": self.number}


class DiscussionFull(ContentTooLarge):
    message_key = N_("This discussion has reached its size limit of %(limit)s bytes; continue it on another page.")


class DiscussionRejected(InvalidContent):
    """A discussion file that breaks the format (a push, or an imported repository); says where."""

    _KEYS = {
        "not_text": N_("The discussion file is not UTF-8 text."),
        "too_many": N_("A discussion holds at most %(limit)s messages."),
        "before_first": N_("Line %(line)s: text before the first message (a message starts with “%%%% message NUMBER”)."),
        "bad_start": N_("Line %(line)s: a line starting with “%%%%” must be “%%%% message NUMBER”."),
        "bad_field": N_("Line %(line)s: “%(field)s” is not a field of a message (author, date, reply-to, hidden)."),
        "twice": N_("Message %(number)s: the number is used twice."),
        "author": N_("Message %(number)s: the author is missing or too long."),
        "date": N_("Message %(number)s: the date is missing or not like 2026-12-05T10:12:00+00:00."),
        "reply_to": N_("Message %(number)s: it replies to message %(reply)s, which does not come before it."),
        "hidden": N_("Message %(number)s: the only value of “hidden” is “yes”."),
        "message": N_("Message %(number)s: %(problem)s"),
    }

    def __init__(self, reason: str, *, line: int = 0, number: object = None, **values: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = {"line": line, "number": number, "limit": MAX_MESSAGES, **values}

    def key(self) -> str:
        return self._KEYS[self.reason]

    def message_values(self) -> Mapping[str, object]:
        return self.values

    def describe(self, gettext: Gettext) -> str:
        values = dict(self.values)
        problem = values.get("problem")
        if isinstance(problem, MessageRejected):
            values["problem"] = problem.describe(gettext)
        return gettext(self.key(), **values)


# -- reading -------------------------------------------------------------------


def _parse_date(text: str) -> datetime | None:
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        return None
    return found if found.tzinfo is not None else None


def _unescape(line: str) -> str:
    return line[1:] if line.startswith("\\") and _ESCAPED.match(line, 1) else line


def _escape(line: str) -> str:
    return "\\" + line if _ESCAPED.match(line) else line


def parse(text: str, *, limits: Mapping[str, Any] | None = None) -> list[Message]:
    """The messages of a discussion file, oldest first.

    Leniently, what does not fit the format is skipped (a repository imported
    as it is stays readable); with the site's ``limits`` it is checked, and
    ``DiscussionRejected`` raised at the first problem. A linear scan of the lines.
    """
    strict = limits is not None
    messages: list[Message] = []
    current: dict[str, Any] | None = None
    body: list[str] = []
    in_header = False

    def finish() -> None:
        if current is None:
            return
        reply = current.get("reply-to")
        message = Message(
            current["id"],
            current.get("author", ""),
            current.get("date", ""),
            "\n".join(body).strip("\n"),
            int(reply) if reply is not None and _NUMBER.match(reply) else None,
            current.get("hidden") == "yes",
        )
        if limits is not None:
            _check_record(message, current, messages, limits)
        messages.append(message)

    def refuse(reason: str, line: int, field: str = "") -> None:
        if strict:
            raise DiscussionRejected(reason, line=line, field=field)

    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if line.startswith("%%"):
            finish()
            current, body, in_header = None, [], False
            identifier = line[len(RECORD_START) :] if line.startswith(RECORD_START) else ""
            if not _NUMBER.match(identifier):
                refuse("bad_start", line=number)
                continue
            current, in_header = {"id": int(identifier), "line": number}, True
        elif current is None:
            if line.strip():
                refuse("before_first", line=number)
        elif in_header:
            if not line.strip():
                in_header = False
                continue
            field, colon, value = line.partition(":")
            if not colon or field not in FIELDS or field in current:
                refuse("bad_field", line=number, field=field[:40])
                continue
            current[field] = value.strip()
        else:
            body.append(_unescape(line))
    finish()
    if strict and len(messages) > MAX_MESSAGES:
        raise DiscussionRejected("too_many")
    return messages


def _check_record(message: Message, fields: dict[str, Any], before: list[Message], limits: Mapping[str, Any]) -> None:
    number = message.id
    if any(earlier.id == number for earlier in before):
        raise DiscussionRejected("twice", number=number)
    author = fields.get("author", "")
    if not author or len(author) > MAX_AUTHOR_CHARS:
        raise DiscussionRejected("author", number=number)
    if message.when is None:
        raise DiscussionRejected("date", number=number)
    reply = fields.get("reply-to")
    if reply is not None and (message.reply_to is None or not any(earlier.id == message.reply_to for earlier in before)):
        raise DiscussionRejected("reply_to", number=number, reply=reply[:20])
    if fields.get("hidden", "yes") != "yes":
        raise DiscussionRejected("hidden", number=number)
    try:
        message_text(message.markdown, limits)
    except MessageRejected as problem:
        raise DiscussionRejected("message", number=number, problem=problem) from None


def check_discussion(data: bytes, limits: Mapping[str, Any]) -> list[Message]:
    """A discussion file as a push or a write would leave it: its messages, or ``DiscussionRejected``."""
    limit = int(limits["max_page_bytes"])
    if len(data) > limit:
        raise DiscussionFull(DISCUSSION_NAME, limit)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DiscussionRejected("not_text") from None
    if "\0" in text:
        raise DiscussionRejected("not_text")
    return parse(text, limits=limits)


def message_text(markdown: str, limits: Mapping[str, Any]) -> str:
    """A message's Markdown as it will be kept (Unix line ends, no blank lines around), or ``MessageRejected``."""
    text = markdown.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if not text.strip():
        raise MessageRejected("empty")
    if len(text) > MAX_MESSAGE_CHARS:
        raise MessageRejected("too_long")
    if "\0" in text or any(0xD800 <= ord(char) <= 0xDFFF for char in text):
        raise MessageRejected("not_text")
    if has_conflict_markers(text):
        raise MessageRejected("conflict_markers")
    nesting = int(limits.get("max_nesting", 24))
    if measure(text, stop_depth=nesting, stop_cells=10**9).depth > nesting:
        raise MessageRejected("too_deep")
    return text


# -- writing -------------------------------------------------------------------


def _record(message: Message) -> str:
    lines = [f"{RECORD_START}{message.id}", f"author: {message.author}", f"date: {message.date}"]
    if message.reply_to is not None:
        lines.append(f"reply-to: {message.reply_to}")
    if message.hidden:
        lines.append("hidden: yes")
    lines.append("")
    lines += [_escape(line) for line in message.markdown.split("\n")]
    return "\n".join(lines)


def author_name(display_name: str) -> str:
    """A display name as one header line: no control characters, bounded."""
    kept = "".join(char if char.isprintable() else " " for char in display_name)
    return " ".join(kept.split())[:MAX_AUTHOR_CHARS] or "?"


def append(
    text: str, *, author: str, markdown: str, reply_to: int | None, limits: Mapping[str, Any], now: datetime | None = None
) -> tuple[str, Message]:
    """The file with one more message at its end (numbered after the highest), and that message."""
    messages = parse(text)
    if reply_to is not None and not any(message.id == reply_to for message in messages):
        raise MessageRejected("no_reply", reply_to)
    if len(messages) >= MAX_MESSAGES:
        raise DiscussionRejected("too_many")
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    message = Message(
        max((message.id for message in messages), default=0) + 1,
        author_name(author),
        moment.isoformat(),
        message_text(markdown, limits),
        reply_to,
    )
    kept = text.rstrip("\n")
    new_text = (kept + "\n\n" if kept else "") + _record(message) + "\n"
    # The messages already there were checked when they came (or came with an imported repository).
    limit = int(limits["max_page_bytes"])
    if len(new_text.encode("utf-8")) > limit:
        raise DiscussionFull(DISCUSSION_NAME, limit)
    return new_text, message


def set_hidden(text: str, number: int, hidden: bool) -> tuple[str, Message]:
    """The file with message ``number`` hidden (a ``hidden: yes`` line in its header) or shown again.

    Only that header changes, so the commit's diff is one line.
    """
    shown = next((message for message in parse(text) if message.id == number), None)
    if shown is None:
        raise MessageNotFound(number)
    lines = text.replace("\r\n", "\n").split("\n")
    index = lines.index(f"{RECORD_START}{number}")
    end = index + 1
    while end < len(lines) and lines[end].strip() and not lines[end].startswith("%%"):
        end += 1
    header = [line for line in lines[index + 1 : end] if not line.startswith("hidden:")]
    if hidden:
        header.append("hidden: yes")
    lines[index + 1 : end] = header
    return "\n".join(lines), replace(shown, hidden=hidden)
