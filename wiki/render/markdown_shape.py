"""How deep and how wide a Markdown text is, measured in one pass without parsing it.

A megabyte holds a thousand nested lists or a quarter of a million table
cells, and markdown-it (pure Python, microseconds per token) takes seconds
over either. Saving therefore checks a page's nesting and table cells
against the limits, and a view estimates what rendering would cost, with
this scanner rather than with the parser. It follows CommonMark's container
rules closely enough that ordinary pages measure what the renderer builds:
block quotes and list items (several on one line too), lazy continuation
lines, fenced and indented code and raw HTML blocks (whose indentation is
text, not structure: a YAML example in a fence never counts as nesting) and
GitHub tables (a row has as many cells as the header, whatever it holds).

It is linear by construction: each line is looked at once, with regular
expressions that match at one position without backtracking over the text,
and the stack of open containers a line walks never grows past the depth at
which the scan stops.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from markdown_it.rules_block.html_block import HTML_SEQUENCES

# These two match at every position (possibly nothing), so their match is never None.
_MatchAt = Callable[[str, int], re.Match[str]]
_spaces_at = cast(_MatchAt, re.compile(" *").match)
_ORDERED = re.compile(r"([0-9]{1,9})[.)](?= |$)")
_FENCE = re.compile(r"(`{3,}|~{3,})")
_HEADING = re.compile(r"#{1,6}(?: |$)")
_DELIMITER_CELL = re.compile(r":?-+:?")
_INDENTS = [" " * width for width in range(64)]


@dataclass(frozen=True, slots=True)
class Shape:
    """What a Markdown text would make: its deepest nesting, its table cells, its amount of structure."""

    depth: int  # deepest nesting of block quotes and list items
    cells: int  # table cells, all tables together, header rows included
    lines: int
    containers: int  # block quotes and list items opened
    headings: int
    code_lines: int = 0  # lines inside fenced code and raw HTML blocks
    complete: bool = True  # False when the scan stopped early, past a limit


def _cells(row: str) -> int:
    """Cells of a table row as markdown-it splits it: on unescaped pipes, outer empty cells dropped."""
    parts = row.strip().replace("\\\\", "").replace("\\|", "").split("|")
    count = len(parts)
    if count and not parts[0].strip():
        count -= 1
    if count and len(parts) > 1 and not parts[-1].strip():
        count -= 1
    return count


def _delimiter_columns(row: str) -> int:
    """Columns of a table's delimiter row (``|---|:--:|``), or 0 when the line is not one."""
    text = row.strip()
    if not text or text[0] not in "|-:" or text.strip("|-: \t") or "-" not in text:
        return 0
    if text[0] == "-" and len(text) > 1 and text[1] in " \t":
        return 0  # a list item, not a delimiter row
    parts = text.split("|")
    columns = 0
    for index, part in enumerate(parts):
        part = part.strip()
        if not part:
            if index in (0, len(parts) - 1):
                continue
            return 0
        if not _DELIMITER_CELL.fullmatch(part):
            return 0
        columns += 1
    return columns


def _thematic_break(line: str, start: int) -> bool:
    char = line[start]
    if char not in "-*_" or line.count(char, start) < 3:
        return False
    rest = line[start:].replace(" ", "")
    return len(rest) >= 3 and rest[0] in "-*_" and not rest.strip(rest[0])


# The state between two lines: (open containers, paragraph open, table header candidate's cells
# or -1, its depth, open fence, open raw HTML block, open table). Containers: 0 a block quote,
# w > 0 a list item whose content starts w columns in.
_State = tuple[tuple[int, ...], bool, int, int, "tuple[str, int, int] | None", "tuple[int, int] | None", "tuple[int, int] | None"]
_START: _State = ((), False, -1, -1, None, None, None)
# A line's structure (containers, code, HTML, headings, breaks, table rows) is all in its first
# characters when what follows them cannot start a fence, a heading, HTML, a break or a delimiter
# row (a letter, a bracket...): lines alike up to there are read once.
_prefix_at = cast(_MatchAt, re.compile(r"[ >*+\-0-9.)]*").match)
_NOT_PLAIN = "`~#<|:_"
_MEMO_ENTRIES = 4096
_DEEPEST = 1000  # past this, one line's markers ("> > > …") are not worth reading one by one


def measure(text: str, *, stop_depth: int, stop_cells: int) -> Shape:
    """The shape of a Markdown body (front matter removed).

    The scan ends as soon as the text is known to go past ``stop_depth`` or
    ``stop_cells`` (``complete`` is then False): a refusal needs no more, and
    as a line's work grows with the depth open at it, stopping keeps it linear.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    depth = cells = containers = headings = code_lines = 0
    state = _START
    memo: dict[tuple[object, ...], tuple[_State, int, int, int]] = {}
    lines = text.split("\n")
    for line in lines:
        stack, paragraph, _header, _level, fence, raw, table = state
        if not line and fence is None and raw is None:
            # A blank line ends paragraphs, tables and block quotes; list items stay open.
            state = (stack[: stack.index(0)] if 0 in stack else stack, False, -1, -1, None, None, None)
            continue
        if not stack and fence is None and raw is None and table is None and line[:1].isalpha():
            # Top-level paragraph text, by far the commonest line.
            state = ((), True, _cells(line) if "|" in line else -1, 0, None, None, None)
            continue
        if "\t" in line:
            line = line.expandtabs(4)
        key = None
        if fence is not None or raw is not None:
            code_lines += 1
        else:
            end = _prefix_at(line, 0).end()
            if end < len(line) and line[end] not in _NOT_PLAIN:
                key = (line[:end], _cells(line) if "|" in line else -1, state)
        found = memo.get(key) if key is not None else None
        if found is None:
            found = _step(line, state)
            if key is not None:
                if len(memo) >= _MEMO_ENTRIES:
                    memo.clear()
                memo[key] = found
        state, opened, heading, row = found
        containers += opened
        headings += heading
        cells += row
        if len(state[0]) > depth:
            depth = len(state[0])
            if depth > stop_depth:
                return Shape(depth, cells, len(lines), containers, headings, code_lines, complete=False)
        if cells > stop_cells:
            return Shape(depth, cells, len(lines), containers, headings, code_lines, complete=False)
    return Shape(depth, cells, len(lines), containers, headings, code_lines)


def _step(line: str, state: _State) -> tuple[_State, int, int, int]:
    """The state after ``line``, with the containers, headings and table cells it opened."""
    stack, paragraph, header, header_depth, fence, raw, table = state
    size = len(line)
    pos = matched = 0
    for width in stack:
        if width == 0:
            start = pos + min(_spaces_at(line, pos).end() - pos, 3)
            if start < size and line[start] == ">":
                pos = start + 1
                if pos < size and line[pos] == " ":
                    pos += 1
                matched += 1
                continue
            break
        if line.startswith(_INDENTS[width] if width < len(_INDENTS) else " " * width, pos):
            pos += width
        elif not line[pos:].strip(" "):
            pos = size  # a blank line keeps list items open
        else:
            break
        matched += 1
    inner = fence[2] if fence is not None else raw[1] if raw is not None else None
    if inner is not None:  # in a code or HTML block
        if matched >= inner:
            if fence is not None:
                start = _spaces_at(line, pos).end()
                run = _FENCE.match(line, start)
                if (
                    start - pos < 4
                    and run
                    and run.group(1)[0] == fence[0]
                    and len(run.group(1)) >= fence[1]
                    and not line[run.end() :].strip()
                ):
                    fence = None
            elif raw is not None and HTML_SEQUENCES[raw[0]][1].search(line[pos:].strip(" ")):
                raw = None
            return (stack, False, -1, -1, fence, raw, None), 0, 0, 0
        fence = raw = None  # its container ended, and the code or HTML block with it
    opened: list[int] = []
    while True:
        start = _spaces_at(line, pos).end()
        indent = start - pos
        if indent >= 4 or start >= size or matched + len(opened) > _DEEPEST:
            break
        char = line[start]
        if char == ">":
            opened.append(0)
            pos = start + 1
            if pos < size and line[pos] == " ":
                pos += 1
            continue
        marker_end = -1
        ordered = ""
        if char in "-+*":
            if (start + 1 == size or line[start + 1] == " ") and not _thematic_break(line, start):
                marker_end = start + 1
        elif "0" <= char <= "9":
            number = _ORDERED.match(line, start)
            if number:
                marker_end, ordered = number.end(), number.group(1)
        if marker_end < 0:
            break
        after = _spaces_at(line, marker_end).end() - marker_end
        empty = marker_end + after >= size
        if paragraph and not opened and (empty or ordered not in ("", "1")):
            break  # cannot interrupt a paragraph (even lazily): it is text
        if empty or after >= 5:
            opened.append(marker_end - pos + 1)
            pos = min(marker_end + 1, size)
        else:
            opened.append(marker_end + after - pos)
            pos = marker_end + after
    blank = start >= size
    if not opened and matched < len(stack) and paragraph and not blank:
        if indent >= 4 or not (
            _FENCE.match(line, start)
            or _HEADING.match(line, start)
            or _thematic_break(line, start)
            or (line[start] == "<" and _interrupting_html(line[start:]))
        ):
            # A lazy line continues the paragraph; it never starts a table.
            return (stack, True, -1, -1, None, None, None), 0, 0, 0
    if matched < len(stack) or opened:
        stack = stack[:matched] + tuple(opened)
    level = len(stack)
    if table is not None and (blank or opened or level != table[1] or indent >= 4):
        table = None
    if blank:
        return (stack, False, -1, -1, None, None, None), len(opened), 0, 0
    if indent >= 4 and not paragraph:
        return (stack, False, -1, -1, None, None, None), len(opened), 0, 0  # indented code
    if indent < 4:
        char = line[start]
        if char in "`~":
            run = _FENCE.match(line, start)
            if run and not (char == "`" and "`" in line[run.end() :]):
                return (stack, False, -1, -1, (char, len(run.group(1)), level), None, None), len(opened), 0, 0
        elif (char == "#" and _HEADING.match(line, start)) or _thematic_break(line, start):
            return (stack, False, -1, -1, None, None, None), len(opened), int(char == "#"), 0
        elif char == "<":
            text = line[start:]
            for index, (opening, closing, interrupts) in enumerate(HTML_SEQUENCES):
                if opening.search(text):
                    if paragraph and not interrupts:
                        break
                    raw = None if closing.search(text) else (index, level)
                    return (stack, False, -1, -1, None, raw, None), len(opened), 0, 0
    if table is not None:
        return (stack, False, -1, -1, None, None, table), len(opened), 0, table[0]
    if header >= 0 and header_depth == level and not opened and indent < 4:
        columns = _delimiter_columns(line[start:])
        if columns and header == columns:
            return (stack, False, -1, -1, None, None, (columns, level)), 0, 0, columns
    header = _cells(line[start:]) if indent < 4 and "|" in line else -1
    return (stack, True, header, level, None, None, None), len(opened), 0, 0


def _interrupting_html(text: str) -> bool:
    return any(opening.search(text) for opening, _closing, interrupts in HTML_SEQUENCES if interrupts)
