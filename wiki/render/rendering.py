"""Markdown to safe HTML: a pure function, testable without an application.

markdown-it-py parses CommonMark with GitHub's extensions (tables,
strikethrough, task lists, footnotes, autolinks), wikilinks and heading
anchors; raw HTML is allowed through the parser and then everything goes
through nh3's allow-list, so no script, event handler or ``javascript:`` URL
survives however it was written.

Rendering has a budget (``RenderBudget``): the page limits, an estimate of
the work made from a linear scan before parsing, and a CPU-time deadline
checked while parsing. A page over it (imported, pushed before a limit was
lowered, or simply huge) comes back ``degraded``: its text as preformatted
HTML, cheap and faithful, instead of seconds of a worker's time.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.gfm import gfm_plugin
from mdit_py_plugins.gfm_autolink import index as gfm_autolinks

from repo_store.pages import page_title, parse_page
from repo_store.paths import slugify

from .markdown_shape import Shape, measure


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
    # Each wikilink target once, and where it led: what the HTML depends on besides the text.
    targets: dict[str, LinkTarget] = field(default_factory=dict)
    # Why the page was not rendered (too_large, too_deep, too_many_cells, too_costly); its text is then preformatted.
    degraded: str | None = None


@dataclass(frozen=True, slots=True)
class RenderBudget:
    """What rendering one page may cost: the page limits, and CPU seconds.

    ``seconds`` bounds both the estimate made before parsing and the deadline
    checked while parsing (thread CPU time, so a busy machine does not turn
    an ordinary page into a degraded one). A page at every limit at once (a
    megabyte table of 20,000 cells) takes 0.7–0.85 s of CPU to parse: the
    deadline leaves it twice that, once per revision (renders are cached).
    """

    max_bytes: int = 1_048_576
    max_nesting: int = 24
    max_table_cells: int = 20_000
    seconds: float = 1.5

    @classmethod
    def from_limits(cls, limits: Mapping[str, Any]) -> RenderBudget:
        """The budget for the ``[limits]`` of ``config.toml``."""
        return cls(int(limits["max_page_bytes"]), int(limits["max_nesting"]), int(limits["max_table_cells"]))


DEFAULT_BUDGET = RenderBudget()


class RenderTooCostly(Exception):
    """Raised from inside the parser when a render passes its deadline."""


LinkResolver = Callable[[str], LinkTarget]
UrlRewriter = Callable[[str, str], str]

_WIKILINK_MAX = 300
_ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "input",
    "ins",
    "kbd",
    "label",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "section",
    "small",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "u",
    "ul",
    "var",
    "wbr",
}
_ALLOWED_ATTRIBUTES = {
    "*": {"title", "lang", "dir"},
    "a": {"href", "id"},
    "abbr": set(),
    "img": {"src", "alt", "width", "height", "loading"},
    "h1": {"id"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
    "h5": {"id"},
    "h6": {"id"},
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
    "div": {
        "markdown-alert",
        "markdown-alert-note",
        "markdown-alert-tip",
        "markdown-alert-important",
        "markdown-alert-warning",
        "markdown-alert-caution",
    },
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


def _anchors(state: StateCore) -> None:
    """An ``id`` for every heading, unique in the page (``faq``, ``faq-1``, ``faq-2``…).

    mdit-py-plugins' anchors plugin tries ``faq-1``, ``faq-2``… from 1 for
    every repeated heading: quadratic, and 50 KB of ``# a`` took 20 s. Here
    each slug remembers the next number to try.
    """
    tokens = state.tokens
    taken: set[str] = set()
    following: dict[str, int] = {}
    for index, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        slug = _heading_slug(_inline_text(tokens[index + 1]))
        unique = slug
        if unique in taken:
            number = following.get(slug, 1)
            while f"{slug}-{number}" in taken:
                number += 1
            following[slug] = number + 1
            unique = f"{slug}-{number}"
        taken.add(unique)
        token.attrSet("id", unique)


# -- the budget, checked from inside the parser ---------------------------------

_CHECK_EVERY = 32  # rule calls between two looks at the clock (one costs about half a microsecond)


def _check_deadline(env: Any) -> None:
    deadline = env.get("deadline") if isinstance(env, dict) else None
    if deadline is None:
        return
    env["ticks"] = ticks = env.get("ticks", 0) + 1
    if ticks % _CHECK_EVERY == 0 and time.thread_time() > deadline:
        raise RenderTooCostly


def _deadline_block(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    """Never matches; called at every block, and at every line of paragraphs, lists, quotes and tables."""
    _check_deadline(state.env)
    return False


def _deadline_inline(state: StateInline, silent: bool) -> bool:
    """Never matches; called at every inline token and at every position markup could start."""
    _check_deadline(state.env)
    return False


def _deadline_core(state: StateCore) -> None:
    _check_deadline(state.env)


# -- bare URLs and addresses, in linear time -----------------------------------

_AUTOLINK_WINDOW = 2048  # the longest bare URL or address recognised (past it, the rest is text)
_PROTOCOLS = ("https", "http", "mailto", "xmpp")


def _within_window(rule: Callable[[StateInline, bool], bool]) -> Callable[[StateInline, bool], bool]:
    """mdit-py-plugins' autolink ``rule``, shown only the next ``_AUTOLINK_WINDOW`` characters.

    Its rules copy the rest of the paragraph at every ``www.``, ``:`` and ``@``
    they look at: quadratic in one long paragraph (200 KB of ``a: `` took
    150 s). They never match when ``silent``, so they are not even asked then.
    """

    def bounded(state: StateInline, silent: bool) -> bool:
        if silent or state.linkLevel > 0:
            return False
        end = state.posMax
        state.posMax = min(end, state.pos + _AUTOLINK_WINDOW)
        try:
            return rule(state, silent)
        finally:
            state.posMax = end

    return bounded


_protocol_in_window = _within_window(gfm_autolinks._protocol_rule)


def _protocol_autolink(state: StateInline, silent: bool) -> bool:
    """``https://…``, ``mailto:…`` after their scheme, which the text before the colon holds.

    The plugin's rule searches all that text at every colon; here only a colon
    right after a scheme is looked at, and long text is first set down as a
    token (each character once), so that search stays short.
    """
    if state.src[state.pos] != ":" or silent:
        return False
    pending = state.pending
    if not pending.endswith(_PROTOCOLS):
        return False
    if len(pending) > 64:
        state.pending = pending[:-8]
        state.pushPending()
        state.pending = pending[-8:]
    return _protocol_in_window(state, silent)


# -- nesting: deep enough for blocks, markdown-it's own for inline markup --------

_INLINE_NESTING = 20  # markdown-it's CommonMark default; each unclosed "[" costs time in proportion to it


def _block_nesting(max_nesting: int) -> int:
    """markdown-it's ``maxNesting`` while it reads the blocks of a page nested ``max_nesting`` deep.

    markdown-it counts a list as two levels (list, item) and the paragraph in
    it as one more, and silently drops deeper blocks: its default (20) lost
    everything past the ninth list level. This keeps every level the limit
    allows, and still stops a page that slipped past the limit's check.
    """
    return 2 * max_nesting + 8


def _nesting_rule(value: int) -> Callable[[StateCore], None]:
    """A core rule setting ``maxNesting``: one value for blocks, another for inline markup.

    markdown-it has a single option for both; each thread has its own
    parsers (``_parser``), so changing it between phases races with nobody.
    """

    def set_nesting(state: StateCore) -> None:
        state.md.options["maxNesting"] = value

    return set_nesting


_parsers = threading.local()


def _parser(max_nesting: int = DEFAULT_BUDGET.max_nesting) -> MarkdownIt:
    """This thread's parser for pages nested at most ``max_nesting`` deep."""
    made: dict[int, MarkdownIt] = _parsers.__dict__.setdefault("made", {})
    md = made.get(max_nesting)
    if md is None:
        md = made[max_nesting] = _new_parser(max_nesting)
    return md


def _new_parser(max_nesting: int) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    md.use(gfm_plugin)
    md.core.ruler.before("normalize", "block_nesting", _nesting_rule(_block_nesting(max_nesting)))
    md.core.ruler.before("inline", "inline_nesting", _nesting_rule(_INLINE_NESTING))
    md.inline.ruler.at("gfm_autolink_www", _within_window(gfm_autolinks._www_inline_rule))
    md.inline.ruler.at("gfm_autolink_protocol", _protocol_autolink)
    md.inline.ruler.at("gfm_autolink_email", _within_window(gfm_autolinks._email_rule))
    md.core.ruler.push("anchor", _anchors)
    md.block.ruler.before(
        md.block.ruler.get_all_rules()[0], "deadline", _deadline_block, {"alt": ["paragraph", "reference", "blockquote", "list"]}
    )
    md.inline.ruler.before(md.inline.ruler.get_all_rules()[0], "deadline", _deadline_inline)
    md.core.ruler.before("inline", "deadline", _deadline_core)
    md.inline.ruler.before("link", "wikilink", _wikilink_rule)
    md.add_render_rule("wikilink", _render_wikilink)
    md.add_render_rule("list_item_open", _render_list_item_open)
    md.add_render_rule("paragraph_open", _render_paragraph_open)
    md.add_render_rule("paragraph_close", _render_paragraph_close)
    return md


def body_tokens(body: str, title: str, env: dict[str, Any] | None = None, *, budget: RenderBudget | None = None) -> list[Token]:
    """The Markdown tokens of a page's body, for the web page and the exports alike.

    The page template shows the title; a first ``# heading`` saying the same is dropped.
    With a ``budget``, ``RenderTooCostly`` is raised once parsing has used its CPU
    seconds (callers ask ``obstacle`` first, so that is rare).
    """
    env = {} if env is None else env
    if budget is not None:
        env["deadline"] = time.thread_time() + budget.seconds
    tokens = _parser((budget or DEFAULT_BUDGET).max_nesting).parse(body, env)
    _drop_leading_title(tokens, title)
    _align_with_classes(tokens)
    return tokens


# Microseconds of work (parse, render, sanitise) per line, container, heading,
# table cell and piece of inline markup, measured on the costliest input of each
# kind (200 KB of ``- a``, of ``*a* ``, of ``[a](b)``, of ``www.a.fr``…): the
# estimate comes within a factor of two of the real cost on all of them, from a
# linear scan and a few ``str.count``, for about a hundredth of a render.
_COST_PER_LINE = 12
_COST_PER_CODE_LINE = 3  # in fenced code or raw HTML: no inline parsing
_COST_PER_CONTAINER = 28
_COST_PER_HEADING = 22
_COST_PER_CELL = 20
_COST_PER_MARK = {
    "[": 16,
    "](": 7,
    "[^": 8,
    "*": 11,
    "_": 11,
    "~": 5,
    "`": 3,
    "<": 10,
    "&": 8,
    "!": 2,
    ":": 4,
    "@": 45,
    "www.": 40,
    "://": 50,
}
_WIKILINK_SAVING = 23  # a wikilink costs less than the two link attempts its two "[" stand for


def estimate_microseconds(body: str, shape: Shape) -> int:
    """Roughly what rendering ``body`` costs, without rendering it."""
    cost = len(body) // 20 + _COST_PER_LINE * (shape.lines - shape.code_lines) + _COST_PER_CODE_LINE * shape.code_lines
    cost += _COST_PER_CONTAINER * shape.containers + _COST_PER_HEADING * shape.headings + _COST_PER_CELL * shape.cells
    cost -= _WIKILINK_SAVING * min(body.count("[["), body.count("]]"))
    return cost + sum(weight * body.count(mark) for mark, weight in _COST_PER_MARK.items())


def obstacle(markdown: str, body: str, budget: RenderBudget) -> str | None:
    """Why a page must not be rendered (a reason code), or None when it fits the budget.

    ``markdown`` is the whole page (its size is what the limit counts), ``body``
    the part after the front matter (what gets parsed).
    """
    if len(markdown) > budget.max_bytes or len(markdown.encode("utf-8", "surrogatepass")) > budget.max_bytes:
        return "too_large"
    shape = measure(body, stop_depth=budget.max_nesting, stop_cells=budget.max_table_cells)
    if shape.depth > budget.max_nesting:
        return "too_deep"
    if shape.cells > budget.max_table_cells:
        return "too_many_cells"
    if estimate_microseconds(body, shape) > budget.seconds * 1_000_000:
        return "too_costly"
    return None


def preformatted(body: str) -> str:
    """A page's text as it was written: the cheap, faithful stand-in for a render."""
    return f"<pre>{escape(body, quote=False)}</pre>"


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
    budget: RenderBudget | None = None,
) -> Rendered:
    """Render a page (front matter included) to sanitised HTML with its table of contents.

    Within ``budget`` (the default limits if none is given); past it the page
    comes back ``degraded``, its text preformatted.
    """
    budget = budget or DEFAULT_BUDGET
    parsed = parse_page(markdown)
    title = page_title(parsed.meta, parsed.body, path)
    reason = obstacle(markdown, parsed.body, budget)
    if reason is None:
        try:
            return _render_body(parsed.body, title, parsed.meta, parsed.error, budget, resolve_link, rewrite_url)
        except RenderTooCostly:
            reason = "too_costly"
    return Rendered(preformatted(parsed.body), title, [], parsed.meta, parsed.error, degraded=reason)


def render_fragment(
    markdown: str,
    *,
    resolve_link: LinkResolver,
    rewrite_url: UrlRewriter | None = None,
    budget: RenderBudget | None = None,
) -> Rendered:
    """Render Markdown that is not a page (a discussion message) with the page rules and sanitiser.

    No front matter is read and no first heading is taken for a title: the
    text is shown whole. Past the ``budget`` it comes back preformatted.
    """
    budget = budget or DEFAULT_BUDGET
    reason = obstacle(markdown, markdown, budget)
    if reason is None:
        try:
            return _render_body(markdown, "\0", {}, None, budget, resolve_link, rewrite_url)
        except RenderTooCostly:
            reason = "too_costly"
    return Rendered(preformatted(markdown), "", [], {}, None, degraded=reason)


def _render_body(
    body: str,
    title: str,
    meta: dict[str, Any],
    meta_error: str | None,
    budget: RenderBudget,
    resolve_link: LinkResolver,
    rewrite_url: UrlRewriter | None,
) -> Rendered:
    env: dict[str, Any] = {}
    tokens = body_tokens(body, title, env, budget=budget)
    links: dict[str, bool] = {}
    targets: dict[str, LinkTarget] = {}  # each target is resolved once, however often it is linked
    toc: list[TocEntry] = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag in ("h2", "h3", "h4"):
            text = _inline_text(tokens[index + 1])
            toc.append(TocEntry(int(token.tag[1]), str(token.attrGet("id") or ""), text))
        if token.type == "inline" and token.children:
            for child in token.children:
                if child.type == "wikilink":
                    name = child.meta["target"]
                    target = targets.get(name)
                    if target is None:
                        _check_deadline(env)  # resolving asks the catalog: it counts against the budget too
                        target = targets[name] = resolve_link(name)
                        links[target.path or name] = target.exists
                    child.meta["resolved"] = target
                elif rewrite_url and child.type == "link_open":
                    child.attrSet("href", rewrite_url(str(child.attrGet("href") or ""), "link"))
                elif rewrite_url and child.type == "image":
                    child.attrSet("src", rewrite_url(str(child.attrGet("src") or ""), "image"))
    md = _parser(budget.max_nesting)
    html = md.renderer.render(tokens, md.options, env)
    return Rendered(_sanitise(html), title, toc, meta, meta_error, links, targets)


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
