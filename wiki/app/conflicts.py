"""Conflicting edits cut into passages a person can choose between, and put back together.

When two people change the same lines, the store's three-way merge
(``git merge-file``) answers with the whole page: what both edits agree on,
already merged, and, for each place where they disagree, a block between
marker lines::

    <<<<<<< version saved meanwhile
    their lines
    ||||||| common base            (only in git's "diff3" style)
    the lines both started from
    =======
    your lines
    >>>>>>> your version

Nobody should have to edit those markers by hand: the conflict page shows
each block as two versions side by side with a choice (keep mine, keep
theirs, keep both, or edit), and the server rebuilds the page from the
choices. This module is that cutting and rebuilding, with no web and no git:
``split`` turns the merged text into segments in one pass over its lines
(each line is looked at once, whatever markers it holds, so a hostile text
costs time linear in its size), ``resolve`` turns the posted choices into the
final text, which has no markers left.

The first side of a block is the version saved meanwhile and the second is
the author's, because ``wiki.app.writes`` gives the store its labels in that
order (current, base, yours).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

OPEN = "<<<<<<<"
BASE = "|||||||"
SEPARATOR = "======="
CLOSE = ">>>>>>>"

YOURS, THEIRS, BOTH, EDIT = "yours", "theirs", "both", "edit"
CHOICES = (YOURS, THEIRS, BOTH, EDIT)
# Nothing is lost if the author saves without choosing: both versions stay, one after the other.
DEFAULT_CHOICE = BOTH
# Lines of agreed text shown above a passage, so that it can be found in the page.
CONTEXT_LINES = 3


@dataclass(frozen=True)
class Merged:
    """Text both edits agree on (or that only one of them changed): already merged."""

    text: str


@dataclass(frozen=True)
class Clash:
    """One passage both edits changed: the version saved meanwhile and the author's."""

    theirs: str
    yours: str
    base: str | None = None  # the lines both started from, when the merge wrote them (diff3 style)

    def text_for(self, choice: str) -> str:
        """The passage's text for one of the buttons; ``both`` puts the earlier save first."""
        if choice == THEIRS:
            return self.theirs
        if choice == BOTH:
            return _line_ended(self.theirs) + self.yours if self.theirs else self.yours
        return self.yours


Segment = Merged | Clash


def split(text: str, labels: tuple[str, str, str] | None = None) -> list[Segment]:
    """The merged text as segments: agreed text and clashes, in order, with no marker left.

    With ``labels`` (the ones the merge was given), only marker lines naming
    them count, so a page that shows conflict markers in an example is not
    cut at its example. A block that is never closed, or that another opening
    marker interrupts, stays text as it is.
    """
    parts = text.split("\n")  # git's lines: not str.splitlines, which also cuts at form feeds and the like
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return split_lines(lines, labels)


def split_lines(lines: Iterable[str], labels: tuple[str, str, str] | None = None) -> list[Segment]:
    """``split`` over lines (with their line ends): each line is taken once and kept at most twice."""
    opener = f"{OPEN} {labels[0]}" if labels else None
    closer = f"{CLOSE} {labels[2]}" if labels else None
    segments: list[Segment] = []
    merged: list[str] = []  # agreed lines since the last clash
    held: list[str] = []  # every line of the open block, markers included, in case it never closes
    sides: list[list[str]] = [[], [], []]  # theirs, base, yours of the open block
    side = -1  # -1: outside a block; else the index in ``sides`` being filled
    has_base = False
    for line in lines:
        bare = line.rstrip("\r\n")
        if _is_marker(bare, OPEN, opener):
            merged.extend(held)  # an earlier block that never closed is text after all
            held, sides, side, has_base = [line], [[], [], []], 0, False
            continue
        if side < 0:
            merged.append(line)
            continue
        held.append(line)
        if side < 2 and bare == SEPARATOR:
            side = 2
        elif side == 0 and _is_marker(bare, BASE, None):
            side, has_base = 1, True
        elif side == 2 and _is_marker(bare, CLOSE, closer):
            if merged:
                segments.append(Merged("".join(merged)))
            theirs, base, yours = ("".join(part) for part in sides)
            segments.append(Clash(theirs=theirs, yours=yours, base=base if has_base else None))
            merged, held, side = [], [], -1
        else:
            sides[side].append(line)
    merged.extend(held)
    if merged:
        segments.append(Merged("".join(merged)))
    return segments


def _is_marker(bare: str, marker: str, exact: str | None) -> bool:
    """A marker line: exactly ``exact`` when the labels are known, else the marker alone or followed by a space."""
    if exact is not None:
        return bare == exact
    return bare == marker or bare.startswith(marker + " ")


@dataclass(frozen=True)
class Passage:
    """A clash as the conflict page shows it: its number, the choice made and the text in its box."""

    number: int  # from 1, in the page's order; names the form's fields
    clash: Clash
    choice: str
    text: str  # what the result box holds
    context: str  # the last agreed lines above it

    @property
    def digest(self) -> str:
        """Sent with the form as ``offered-N``: tells ``resolve`` whether the box was changed."""
        return digest(self.text)


def passages(segments: list[Segment]) -> list[Passage]:
    """The clashes as first shown: each with the default choice and its text in the box."""
    found: list[Passage] = []
    previous = ""
    for segment in segments:
        if isinstance(segment, Merged):
            previous = segment.text
            continue
        text = segment.text_for(DEFAULT_CHOICE)
        found.append(Passage(len(found) + 1, segment, DEFAULT_CHOICE, text, _last_lines(previous)))
        previous = ""
    return found


def resolve(segments: list[Segment], form: Mapping[str, str]) -> tuple[str, list[Passage]]:
    """The final text from the posted choices, and the passages as posted (to show them again if need be).

    Each passage posts ``choice-N`` (one of ``CHOICES``), ``text-N`` (its box)
    and ``offered-N`` (a digest of what the box first held). The box wins when
    "edit" is chosen, and also whenever it was changed: without JavaScript
    the buttons cannot fill the box, and with it they do, so a box that
    differs from what it was sent with is what the author wants, and what
    they typed is never dropped for a button left on its default.
    """
    result: list[str] = []
    shown = passages(segments)
    posted: list[Passage] = []
    clashes = iter(shown)
    for segment in segments:
        if isinstance(segment, Merged):
            result.append(segment.text)
            continue
        passage = next(clashes)
        number = passage.number
        choice = form.get(f"choice-{number}", DEFAULT_CHOICE)
        if choice not in CHOICES:
            choice = DEFAULT_CHOICE
        box = form.get(f"text-{number}")
        box = passage.text if box is None else unix_lines(box)
        offered = form.get(f"offered-{number}", passage.digest)
        if choice == EDIT or digest(box) != offered:
            text, choice = box, (choice if box == segment.text_for(choice) else EDIT)
        else:
            text = segment.text_for(choice)
        result.append(_line_ended(text) if text else "")
        posted.append(Passage(number, segment, choice, text, passage.context))
    return "".join(result), posted


def unix_lines(text: str) -> str:
    """Text with ``\\n`` line ends, as browsers post ``\\r\\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def digest(text: str) -> str:
    """A short fingerprint of a box's text: the form carries it rather than the text a second time."""
    return hashlib.sha256(unix_lines(text).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _line_ended(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _last_lines(text: str) -> str:
    """The last few non-empty lines of ``text``: a bounded look back from its end."""
    kept: list[str] = []
    end = len(text)
    while end > 0 and len(kept) < CONTEXT_LINES:
        start = text.rfind("\n", 0, end - 1) + 1 if end > 1 else 0
        line = text[start:end]
        if line.strip():
            kept.append(line)
        end = start
    return "".join(reversed(kept))


def has_conflict_markers(text: str) -> bool:
    """Whether ``text`` still holds a conflict block: ``<<<<<<< ``, then ``=======``, then ``>>>>>>> `` lines.

    Only lines outside fenced code blocks count, so a guide may show markers
    in an example; a lone ``=======`` is a heading's underline. One pass,
    each line looked at once: the refusal must cost far less than the save.
    """
    wanted = 0  # 0: an opening line, 1: the separator, 2: the closing line
    fence = ""  # the open fence's characters, or "" outside code
    start = 0
    size = len(text)
    while start < size:
        end = text.find("\n", start)
        if end < 0:
            end = size
        line = text[start:end].rstrip("\r")
        start = end + 1
        if fence:
            if _closes(line, fence):
                fence = ""
            continue
        opened = _fence_of(line)
        if opened:
            fence = opened
        elif wanted == 0 and line.startswith(OPEN + " "):
            wanted = 1
        elif wanted == 1 and line == SEPARATOR:
            wanted = 2
        elif wanted == 2 and line.startswith(CLOSE + " "):
            return True
    return False


def _fence_of(line: str) -> str:
    """The fence a line opens (three or more backticks or tildes, indented three spaces at most), or ""."""
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3 or stripped[:3] not in ("```", "~~~"):
        return ""
    char = stripped[0]
    length = len(stripped) - len(stripped.lstrip(char))
    if char == "`" and "`" in stripped[length:]:
        return ""  # inline code, not a fence
    return stripped[:length]


def _closes(line: str, fence: str) -> bool:
    """Whether a line closes ``fence``: the same character, at least as many, nothing after but spaces."""
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3:
        return False
    char = fence[0]
    run = len(stripped) - len(stripped.lstrip(char))
    return run >= len(fence) and not stripped[run:].strip(" \t")
