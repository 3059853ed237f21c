"""Markdown to safe HTML: a pure function, testable without an application.

markdown-it-py parses CommonMark with GitHub's extensions (tables,
strikethrough, task lists, footnotes, autolinks), wikilinks and heading
anchors; raw HTML is allowed through the parser and then everything goes
through nh3's allow-list, so no script, event handler or ``javascript:`` URL
survives however it was written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.gfm import gfm_plugin

from repo_store.pages import page_title, parse_page
from repo_store.paths import slugify


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """Where a wikilink leads, and whether that page exists."""

    href: str
    exists: bool
    path: str | None = None


@dataclass(frozen=True, slots=True)
class TocEntry:
    level: int
    anchor: str
    text: str


@dataclass(slots=True)
class Rendered:
    html: str
    title: str
    toc: list[TocEntry]
    meta: dict[str, Any]
    meta_error: str | None
    links: dict[str, bool] = field(default_factory=dict)


LinkResolver = Callable[[str], LinkTarget]
UrlRewriter = Callable[[str, str], str]

_WIKILINK_MAX = 300
_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd",
    "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "input", "ins", "kbd", "label", "li", "mark", "ol", "p", "pre",
    "q", "s", "samp", "section", "small", "span", "strong", "sub", "summary", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var", "wbr",
}
_ALLOWED_ATTRIBUTES = {
    "*": {"title", "lang", "dir"},
    "a": {"href", "id"},
    "abbr": set(),
    "img": {"src", "alt", "width", "height", "loading"},
    "h1": {"id"}, "h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "h5": {"id"}, "h6": {"id"},
    "li": {"id"},
    "ol": {"start", "reversed"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
    "details": {"open"},
    "input": {"checked"},
    "sup": {"id"},
}
_ALLOWED_CLASSES = {
    "a": {"wikilink", "missing", "footnote-ref", "footnote-backref"},
    "sup": {"footnote-ref"},
    "hr": {"footnotes-sep"},
    "section": {"footnotes"},
    "ol": {"footnotes-list"},
    "li": {"footnote-item", "task-list-item"},
    "ul": {"contains-task-list"},
    "input": {"task-list-item-checkbox"},
    "div": {"markdown-alert", "markdown-alert-note", "markdown-alert-tip",
            "markdown-alert-important", "markdown-alert-warning", "markdown-alert-caution"},
    "p": {"markdown-alert-title"},
    "td": {"align-left", "align-center", "align-right"},
    "th": {"align-left", "align-center", "align-right"},
}


def _sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        clean_content_tags={"script", "style", "noscript", "template"},
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        allowed_classes=_ALLOWED_CLASSES,
        tag_attribute_values={"input": {"type": {"checkbox"}}},
        set_tag_attribute_values={"input": {"disabled": "disabled"}},
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def _wikilink_rule(state: StateInline, silent: bool) -> bool:
    """``[[target]]`` or ``[[target|label]]`` on one line.

    The closing ``]]`` is looked for within ``_WIKILINK_MAX`` characters only:
    searching the whole rest of the text at every ``[[`` made ``"[[" * 300000``
    cost quadratic time.
    """
    start = state.pos
    if not state.src.startswith("[[", start):
        return False
    end = state.src.find("]]", start + 2, start + _WIKILINK_MAX + 2)
    if end == -1:
        return False
    inner = state.src[start + 2 : end]
    if not inner.strip() or "\n" in inner or "[" in inner:
        return False
    if not silent:
        target, _, label = inner.partition("|")
        token = state.push("wikilink", "", 0)
        token.meta = {"target": target.strip(), "label": (label or target).strip()}
    state.pos = end + 2
    return True


def _heading_slug(text: str) -> str:
    return slugify(text) or "section"


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    md.use(gfm_plugin)
    md.use(anchors_plugin, min_level=1, max_level=6, slug_func=_heading_slug)
    md.inline.ruler.before("link", "wikilink", _wikilink_rule)
    md.add_render_rule("wikilink", _render_wikilink)
    md.add_render_rule("list_item_open", _render_list_item_open)
    md.add_render_rule("paragraph_open", _render_paragraph_open)
    md.add_render_rule("paragraph_close", _render_paragraph_close)
    return md


def body_tokens(body: str, title: str, env: dict[str, Any] | None = None) -> list[Token]:
    """The Markdown tokens of a page's body, for the web page and the exports alike.

    The page template shows the title; a first ``# heading`` saying the same is dropped.
    """
    tokens = _parser().parse(body, {} if env is None else env)
    _drop_leading_title(tokens, title)
    _align_with_classes(tokens)
    return tokens


_ALIGNMENTS = {"text-align:left": "align-left", "text-align:center": "align-center", "text-align:right": "align-right"}


def _align_with_classes(tokens: list[Token]) -> None:
    """Column alignment as a class: the Content-Security-Policy forbids ``style`` attributes."""
    for token in tokens:
        if token.type in ("th_open", "td_open") and token.attrs.get("style") in _ALIGNMENTS:
            token.attrs["class"] = _ALIGNMENTS[str(token.attrs.pop("style"))]


def _inline_text(token: Token) -> str:
    return "".join(child.content for child in token.children or [] if child.type in ("text", "code_inline"))


def render(
    markdown: str,
    *,
    path: str = "",
    resolve_link: LinkResolver,
    rewrite_url: UrlRewriter | None = None,
) -> Rendered:
    """Render a page (front matter included) to sanitised HTML with its table of contents."""
    parsed = parse_page(markdown)
    title = page_title(parsed.meta, parsed.body, path)
    env: dict[str, Any] = {}
    tokens = body_tokens(parsed.body, title, env)
    links: dict[str, bool] = {}
    toc: list[TocEntry] = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag in ("h2", "h3", "h4"):
            text = _inline_text(tokens[index + 1])
            toc.append(TocEntry(int(token.tag[1]), str(token.attrGet("id") or ""), text))
        if token.type == "inline" and token.children:
            for child in token.children:
                if child.type == "wikilink":
                    target = resolve_link(child.meta["target"])
                    child.meta["resolved"] = target
                    links[target.path or child.meta["target"]] = target.exists
                elif rewrite_url and child.type == "link_open":
                    child.attrSet("href", rewrite_url(str(child.attrGet("href") or ""), "link"))
                elif rewrite_url and child.type == "image":
                    child.attrSet("src", rewrite_url(str(child.attrGet("src") or ""), "image"))
    md = _parser()
    html = md.renderer.render(tokens, md.options, env)
    return Rendered(_sanitise(html), title, toc, parsed.meta, parsed.error, links)


def _render_wikilink(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    target: LinkTarget = token.meta["resolved"]
    css = "wikilink" if target.exists else "wikilink missing"
    return f'<a class="{css}" href="{escape(target.href)}">{escape(token.meta["label"])}</a>'


# A task's checkbox is labelled by the task's text: ``<li><label><input type=checkbox> text</label></li>``
# (the label wraps the item's first paragraph, never a nested list).

def _task_item(tokens: list[Token], idx: int) -> bool:
    token = tokens[idx]
    return token.type == "list_item_open" and bool(token.meta) and "checked" in token.meta


def _labelled_task(tokens: list[Token], idx: int) -> bool:
    return _task_item(tokens, idx) and idx + 1 < len(tokens) and tokens[idx + 1].type == "paragraph_open"


def _render_list_item_open(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    if _labelled_task(tokens, idx):
        return self.renderToken(tokens, idx, options, env)
    return self.list_item_open(tokens, idx, options, env)


def _render_paragraph_open(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    html = self.renderToken(tokens, idx, options, env)
    if idx > 0 and _labelled_task(tokens, idx - 1):
        checked = " checked" if tokens[idx - 1].meta["checked"] else ""
        html += f'<label><input class="task-list-item-checkbox" disabled type="checkbox"{checked}> '
    return html


def _render_paragraph_close(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    html = self.renderToken(tokens, idx, options, env)
    if idx >= 3 and tokens[idx - 2].type == "paragraph_open" and _labelled_task(tokens, idx - 3):
        html = "</label>" + html
    return html


def _drop_leading_title(tokens: list[Token], title: str) -> None:
    if len(tokens) >= 3 and tokens[0].type == "heading_open" and tokens[0].tag == "h1":
        if " ".join(_inline_text(tokens[1]).split()) == title:
            del tokens[0:3]


_TAG_RE = re.compile(r"<[^>]+>")


def sanitise_fragment(html: str) -> str:
    """Sanitise HTML from elsewhere (previews, imported fragments) with the page rules."""
    return _sanitise(html)


def plain_text(html: str) -> str:
    """Text content of rendered HTML, for summaries."""
    return " ".join(_TAG_RE.sub(" ", html).split())
