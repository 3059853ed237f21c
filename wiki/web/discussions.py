"""A page's discussion in the browser (``/discussion/<path>``) and the API (``/api/v1/discussions/<path>``).

Messages are kept in the repository beside the page (``wiki.app.discussions``)
and written through ``Writes.post_message`` and ``Writes.hide_message``; this
module reads them, renders each with the page renderer and its sanitiser,
and arranges replies under what they answer.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from datetime import datetime

import cachetools
from flask import Blueprint, Flask, current_app, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..app.discussions import MAX_MESSAGE_CHARS, Message, MessageNotFound, MessageRejected, discussion_file, parse
from ..app.errors import DomainError
from ..app.page_names import check_path
from ..app.service import relative_url_rewriter
from ..render.rendering import RenderBudget, preformatted, render_fragment
from . import rate_limits
from .api import InvalidJSON, json_body
from .auth import Unauthorized, require_editor, user, wiki

blueprint = Blueprint("discussions", __name__)

# Replies deeper than this are shown at this depth (each still says what it answers).
MAX_SHOWN_DEPTH = 5
# CPU seconds one view may spend rendering messages; the rest are shown as written.
RENDER_SECONDS = 2.0


@dataclass
class Shown:
    """A message as a page shows it: its sanitised HTML and the replies shown under it."""

    message: Message
    html: str
    when: datetime | None
    replies: list[Shown] = field(default_factory=list)


def _cache() -> cachetools.LRUCache:
    found: cachetools.LRUCache = current_app.extensions["trousse.discussions"]
    return found


def messages_of(path: str) -> tuple[list[Message], str | None]:
    """The messages of a page's discussion on ``main`` and the file's blob (None when there is none yet)."""
    found = wiki().catalog.file(discussion_file(path))
    if found is None:
        return [], None
    blob = found[0]
    key = ("parsed", blob)
    messages = _cache().get(key)
    if messages is None:
        messages = parse(wiki().store.blob(blob).decode("utf-8", "replace"))
        _cache()[key] = messages
    return messages, blob


def rendered(path: str) -> tuple[list[Message], dict[int, str]]:
    """Each message's HTML, rendered once per version of the file and of the wiki's titles."""
    messages, blob = messages_of(path)
    if blob is None:
        return [], {}
    key = ("html", blob, path, wiki().generation)
    html = _cache().get(key)
    if html is None:
        html = {}
        limits = wiki().settings["limits"]
        budget = RenderBudget(MAX_MESSAGE_CHARS * 4, int(limits["max_nesting"]), int(limits["max_table_cells"]), 0.5)
        resolve = functools.partial(wiki().resolve_link, from_page=path)
        rewrite = relative_url_rewriter(path)
        deadline = time.thread_time() + RENDER_SECONDS
        for message in messages:
            if time.thread_time() > deadline:
                text = preformatted(message.markdown)
            else:
                text = render_fragment(message.markdown, resolve_link=resolve, rewrite_url=rewrite, budget=budget).html
            # Each message's anchors are its own: two messages may well have the same heading.
            prefix = f"message-{message.id}-"
            html[message.id] = text.replace(' id="', f' id="{prefix}').replace(' href="#', f' href="#{prefix}')
        _cache()[key] = html
    return messages, html


def thread(messages: list[Message], html: dict[int, str]) -> list[Shown]:
    """Messages as a tree: replies under what they answer, oldest first, at most ``MAX_SHOWN_DEPTH`` deep."""
    shown: dict[int, Shown] = {}
    depth: dict[int, int] = {}
    parent_of: dict[int, int | None] = {}
    roots: list[Shown] = []
    for message in messages:
        item = Shown(message, html.get(message.id, ""), message.when)
        parent = message.reply_to if message.reply_to in shown else None
        while parent is not None and depth[parent] >= MAX_SHOWN_DEPTH - 1:
            parent = parent_of[parent]
        shown[message.id], parent_of[message.id] = item, parent
        depth[message.id] = 0 if parent is None else depth[parent] + 1
        (roots if parent is None else shown[parent].replies).append(item)
    return roots


def message_json(message: Message, html: str, *, editor: bool) -> dict:
    visible = editor or not message.hidden
    return {
        "id": message.id,
        "author": message.author,
        "date": message.date,
        "markdown": message.markdown if visible else "",
        "html": html if visible else "",
        "reply_to": message.reply_to,
        "hidden": message.hidden,
    }


@blueprint.app_template_global("discussion_count")
def discussion_count(path: str) -> int:
    """How many messages a page's discussion holds (for its tab), counted without parsing."""
    found = wiki().catalog.file(discussion_file(path))
    if found is None:
        return 0
    key = ("count", found[0])
    count = _cache().get(key)
    if count is None:
        data = wiki().store.blob(found[0])
        count = data.startswith(b"%% message ") + data.count(b"\n%% message ")
        _cache()[key] = count
    return int(count)


def _reply_to(raw: object) -> int | None:
    """The number of the message answered: a whole number, or nothing."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise InvalidJSON()
    text = str(raw).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise MessageRejected("no_reply", text[:20])
    return int(text)


# -- the browser -----------------------------------------------------------------


@blueprint.route("/discussion/<path:path>", methods=["GET", "POST"])
def view(path: str) -> ResponseReturnValue:
    path = check_path(path)
    if wiki().catalog.page(path) is None:
        moved = wiki().history.renamed_page(path)
        if moved is not None and request.method == "GET":
            return redirect(url_for("discussions.view", path=moved), 301)
    record = wiki().existing_page(path)
    error, text, status = None, "", 200
    reply_to = request.values.get("reply_to", "")
    if request.method == "POST":
        who = user()
        if who is None:
            raise Unauthorized()
        action = request.form.get("action")
        if action in ("hide", "show"):
            editor = require_editor()
            number = _reply_to(request.form.get("message"))
            if number is None:
                raise MessageNotFound("")
            wiki().writes.hide_message(path, number, user=editor, hidden=action == "hide")
            return redirect(url_for("discussions.view", path=path) + f"#message-{number}")
        text = request.form.get("markdown", "")
        try:
            rate_limits.count("api_write", who.name)
            posted = wiki().writes.post_message(path, text, user=who, reply_to=_reply_to(reply_to))
        except DomainError as refused:  # the text is kept in the form, with the reason above it
            error, status = refused.describe(_), refused.status
        else:
            return redirect(url_for("discussions.view", path=path) + f"#message-{posted.message.id}")
    messages, html = rendered(path)
    answered = next((message for message in messages if str(message.id) == reply_to), None)
    return (
        render_template(
            "discussion.html",
            record=record,
            path=path,
            thread=thread(messages, html),
            count=len(messages),
            answered=answered,
            error=error,
            text=text,
            max_chars=MAX_MESSAGE_CHARS,
        ),
        status,
    )


# -- the API ----------------------------------------------------------------------


@blueprint.route("/api/v1/discussions/<path:path>", methods=["GET"])
def api_messages(path: str) -> ResponseReturnValue:
    path = check_path(path)
    wiki().existing_page(path)
    messages, html = rendered(path)
    who = user()
    editor = bool(who and who.can_edit)
    return jsonify({"path": path, "messages": [message_json(m, html.get(m.id, ""), editor=editor) for m in messages]})


@blueprint.route("/api/v1/discussions/<path:path>", methods=["POST"])
def api_post(path: str) -> ResponseReturnValue:
    who = user()
    if who is None:
        raise Unauthorized()
    path = check_path(path)
    body = json_body()
    markdown = body.get("markdown")
    if not isinstance(markdown, str):
        raise InvalidJSON()
    reply_to = _reply_to(body.get("reply_to"))
    rate_limits.count("api_write", who.name)
    posted = wiki().writes.post_message(path, markdown, user=who, reply_to=reply_to)
    return jsonify({"id": posted.message.id, "revision": posted.revision}), 201


def init_app(app: Flask) -> None:
    app.extensions["trousse.discussions"] = cachetools.LRUCache(maxsize=256)
    app.register_blueprint(blueprint)
