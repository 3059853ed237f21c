"""Fiches: pages made from a template whose front matter declares typed fields.

A template (a page under ``_templates/``) may declare ``modele`` (its label),
``dossier`` (the folder its pages go to) and ``champs`` (its fields, in
order, each with ``nom``, ``libelle``, ``type``, ``requis``, ``aide``,
``unite`` and ``valeurs``). A page made from it names it with
``modele: <template name>`` and keeps its values as ordinary front-matter
keys. This module reads those declarations (tolerantly: templates written
before the keys existed keep working, a field it cannot read is left out
rather than breaking the page), checks and types the values, and merges the
editor's form back into the page's front matter without touching anything
else, so that every way in (browser, API, push) refuses the same values with
the same sentences.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from repo_store.errors import N_, DomainError, Gettext
from repo_store.pages import FrontMatterError, load_front_matter, split_front_matter
from repo_store.paths import TEMPLATES_FOLDER, TEMPLATES_PREFIX, is_slug_path

from .licences import find_licence

FIELD_TYPES = (
    "texte",
    "texte_long",
    "nombre",
    "date",
    "oui_non",
    "choix",
    "url",
    "email",
    "commune",
    "code_postal",
    "latitude",
    "longitude",
    "licence",
)
TEMPLATE_KEY = "modele"
# Keys of a template's own declaration: they describe the template, never a page made from it.
DECLARATION_KEYS = ("modele", "dossier", "champs")
# A field's name is a front-matter key and part of a form input's name: plain, short, no spaces.
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}\Z")
_TEMPLATE_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*(?:/[a-z0-9]+(?:-[a-z0-9]+)*)*\Z")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z")
_FRENCH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})\Z")
_EMAIL = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]+\Z")
_POSTCODE = re.compile(r"\d{5}\Z")
_SPACES = re.compile(r"[\s\u00a0\u202f]")
_TRUE = frozenset({"oui", "o", "yes", "y", "true", "vrai", "1", "on"})
_FALSE = frozenset({"non", "n", "no", "false", "faux", "0", "off"})

TemplateReader = Callable[[str], "str | None"]


@dataclass(frozen=True)
class Field:
    """One declared field of a template."""

    name: str
    label: str
    type: str = "texte"
    required: bool = False
    help: str = ""
    unit: str = ""
    values: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "required": self.required,
            "help": self.help or None,
            "unit": self.unit or None,
            "values": list(self.values),
        }


@dataclass(frozen=True)
class Declaration:
    """What a template declares: its label, its folder and its fields in display order."""

    name: str
    label: str
    folder: str | None
    fields: tuple[Field, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "folder": self.folder,
            "fields": [field.as_json() for field in self.fields],
        }


# -- reading a declaration ---------------------------------------------------


def _text(value: Any) -> str:
    """A scalar as one line of text; anything else (a list, a mapping) as nothing."""
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        return ""
    return " ".join(str(value).split())


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return isinstance(value, (str, int)) and str(value).strip().casefold() in _TRUE


def _field(item: Any) -> Field | None:
    """One entry of ``champs``: a mapping, or just a name (a text field); None when it has no usable name."""
    if isinstance(item, str):
        item = {"nom": item}
    if not isinstance(item, dict):
        return None
    name = _text(item.get("nom"))
    if not _FIELD_NAME.match(name) or name in DECLARATION_KEYS:
        return None
    kind = _text(item.get("type")).casefold() or "texte"
    raw_values = item.get("valeurs")
    if isinstance(raw_values, str):
        raw_values = raw_values.split(",")
    values = tuple(dict.fromkeys(text for text in map(_text, raw_values or []) if text)) if isinstance(raw_values, list) else ()
    return Field(
        name=name,
        label=_text(item.get("libelle")) or name.replace("_", " ").capitalize(),
        type=kind if kind in FIELD_TYPES else "texte",
        required=_flag(item.get("requis")),
        help=_text(item.get("aide")),
        unit=_text(item.get("unite")),
        values=values,
    )


def declaration(name: str, meta: Mapping[str, Any], title: str = "") -> Declaration:
    """A template's declaration from its parsed front matter; whatever is missing or unreadable is left out."""
    folder = _text(meta.get("dossier")).strip("/")
    fields: dict[str, Field] = {}
    champs = meta.get("champs")
    if isinstance(champs, list):
        for item in champs:
            field = _field(item)
            if field is not None:
                fields.setdefault(field.name, field)
    return Declaration(
        name=name,
        label=_text(meta.get(TEMPLATE_KEY)) or _text(title) or name,
        folder=folder if folder and is_slug_path(folder) and not folder.startswith(TEMPLATES_PREFIX) else None,
        fields=tuple(fields.values()),
    )


def declaration_from_text(name: str, markdown: str) -> Declaration | None:
    """A template's declaration from its file's text; None when its front matter cannot be read."""
    front, _body, _offset = split_front_matter(markdown)
    try:
        meta = load_front_matter(front) if front is not None else {}
    except FrontMatterError:
        return None
    return declaration(name, meta)


def page_meta(markdown: str) -> dict[str, Any]:
    """A page's parsed front matter, empty when it has none or it cannot be read."""
    front, _body, _offset = split_front_matter(markdown)
    try:
        return load_front_matter(front) if front is not None else {}
    except FrontMatterError:
        return {}


def template_of(path: str, meta: Mapping[str, Any]) -> str | None:
    """The name of the template a page says it was made from (``modele``), or None.

    Under ``_templates/`` the same key is a template's label, not a reference.
    """
    if path == TEMPLATES_FOLDER or path.startswith(TEMPLATES_PREFIX):
        return None
    name = meta.get(TEMPLATE_KEY)
    if not isinstance(name, str):
        return None
    name = name.strip().removesuffix(".md")
    return name if _TEMPLATE_NAME.match(name) else None


# -- values ------------------------------------------------------------------


@dataclass(frozen=True)
class FieldProblem:
    """Why a field's value is refused: a catalogue key and its values."""

    key: str
    values: tuple[tuple[str, str], ...] = ()

    def describe(self, gettext: Gettext) -> str:
        return gettext(self.key, **dict(self.values))


REQUIRED = FieldProblem(N_("This field is required."))
_PROBLEMS = {
    "texte": FieldProblem(N_("Write a short text here, not a list.")),
    "texte_long": FieldProblem(N_("Write a text here, not a list.")),
    "nombre": FieldProblem(N_("Enter a number, such as 12 or 12.5.")),
    "date": FieldProblem(N_("Enter a date as YYYY-MM-DD, such as 2026-12-03.")),
    "oui_non": FieldProblem(N_("Answer yes or no.")),
    "url": FieldProblem(N_("Enter a web address starting with https:// or http://.")),
    "email": FieldProblem(N_("Enter an e-mail address, such as contact@example.org.")),
    "commune": FieldProblem(N_("Enter the name of a commune, in letters, without its postcode.")),
    "code_postal": FieldProblem(N_("Enter a five-digit postcode, such as 33340.")),
    "latitude": FieldProblem(N_("Enter a latitude in decimal degrees, from -90 to 90, such as 45.31.")),
    "longitude": FieldProblem(N_("Enter a longitude in decimal degrees, from -180 to 180, such as -0.94.")),
}


class _Refused(Exception):
    def __init__(self, problem: FieldProblem) -> None:
        super().__init__(problem.key)
        self.problem = problem


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == {}


def _number(value: Any) -> float | int:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        number = value
    elif isinstance(value, str):
        text = _SPACES.sub("", value).replace(",", ".")
        if not re.fullmatch(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", text):
            raise ValueError(value)
        number = float(text)
        if "." not in text and "e" not in text.casefold() and abs(number) < 2**53:
            return int(text)
    else:
        raise ValueError(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return int(number) if number.is_integer() and isinstance(value, str) and abs(number) < 2**53 else number


def _date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        raise ValueError(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        raise ValueError(value)
    text = value.strip()
    if match := _ISO_DATE.match(text):
        year, month, day = (int(part) for part in match.groups())
    elif match := _FRENCH_DATE.match(text):
        day, month, year = (int(part) for part in match.groups())
    else:
        raise ValueError(value)
    return dt.date(year, month, day).isoformat()


def _scalar_text(field: Field, value: Any) -> str:
    if isinstance(value, (list, dict)):
        raise _Refused(_PROBLEMS[field.type if field.type in ("texte", "texte_long") else "texte"])
    if isinstance(value, bool):
        return "oui" if value else "non"
    return str(value).strip()


def _typed(field: Field, value: Any) -> Any:
    """The value as its type wants it (raises ``_Refused``); ``value`` is not empty."""
    kind = field.type
    try:
        if kind in ("nombre", "latitude", "longitude"):
            number = _number(value)
            limit = {"latitude": 90, "longitude": 180}.get(kind)
            if limit is not None and not -limit <= number <= limit:
                raise ValueError(number)
            return float(number) if limit is not None else number
        if kind == "date":
            return _date(value)
    except (ValueError, OverflowError):
        raise _Refused(_PROBLEMS[kind]) from None
    if kind == "oui_non":
        if isinstance(value, bool):
            return value
        word = str(value).strip().casefold() if isinstance(value, (str, int)) else ""
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise _Refused(_PROBLEMS[kind])
    text = _scalar_text(field, value)
    if kind == "choix" and field.values:
        for choice in field.values:
            if " ".join(text.split()).casefold() == choice.casefold():
                return choice
        raise _Refused(FieldProblem(N_("Choose one of: %(values)s."), (("values", ", ".join(field.values)),)))
    if kind == "url":
        parts = urllib.parse.urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname or "." not in parts.hostname or " " in text:
            raise _Refused(_PROBLEMS[kind])
    elif kind == "email":
        if not _EMAIL.match(text):
            raise _Refused(_PROBLEMS[kind])
    elif kind == "commune":
        if len(text) > 100 or "\n" in text or any(char.isdigit() for char in text) or not any(c.isalpha() for c in text):
            raise _Refused(_PROBLEMS[kind])
        text = " ".join(text.split())
    elif kind == "code_postal":
        if not _POSTCODE.match(text):
            raise _Refused(_PROBLEMS[kind])
    elif kind == "licence":
        licence = find_licence(text)
        if licence is None:
            # The same sentence as a page's own licence key (wiki.app.content_rules).
            key = N_("“%(licence)s” is not a licence this wiki knows; use an SPDX id such as CC-BY-SA-4.0.")
            raise _Refused(FieldProblem(key, (("licence", text[:100]),)))
        return licence.spdx
    return text


def check_value(field: Field, value: Any) -> tuple[Any, FieldProblem | None]:
    """The typed value (None when empty) and what is wrong with it, if anything."""
    if is_empty(value):
        return None, REQUIRED if field.required else None
    try:
        return _typed(field, value), None
    except _Refused as refused:
        return value, refused.problem


def typed_values(fields: tuple[Field, ...], meta: Mapping[str, Any]) -> dict[str, Any]:
    """Each declared field's value, typed when it is valid (numbers, ISO dates, booleans; empty is None)."""
    return {field.name: check_value(field, meta.get(field.name))[0] for field in fields}


def field_problems(fields: tuple[Field, ...], meta: Mapping[str, Any]) -> dict[str, FieldProblem]:
    """The refused fields, by name, in declaration order."""
    found = {}
    for field in fields:
        problem = check_value(field, meta.get(field.name))[1]
        if problem is not None:
            found[field.name] = problem
    return found


# -- refusing a write ---------------------------------------------------------


class InvalidFields(DomainError):
    """A fiche whose declared fields do not hold values of their types: 400 ``invalid_fields``, with a sentence per field."""

    code = "invalid_fields"
    status = 400
    message_key = N_("Some fields of the fiche are not filled in correctly: %(fields)s")

    def __init__(self, fields: tuple[Field, ...], problems: dict[str, FieldProblem]) -> None:
        super().__init__(", ".join(problems))
        self.labels = {field.name: field.label for field in fields if field.name in problems}
        self.problems = problems

    def sentences(self, gettext: Gettext) -> dict[str, str]:
        """Each refused field's sentence, by field name."""
        return {name: problem.describe(gettext) for name, problem in self.problems.items()}

    def problems_for(self, gettext: Gettext) -> list[str]:
        """“Label: sentence” for each refused field, for the editor's list and a refused push."""
        return [
            gettext(N_("%(label)s: %(problem)s"), label=self.labels.get(name, name), problem=sentence)
            for name, sentence in self.sentences(gettext).items()
        ]

    def describe(self, gettext: Gettext) -> str:
        return gettext(self.message_key, fields=" ".join(self.problems_for(gettext)))

    def details(self) -> Mapping[str, Any]:
        return {"fields": self.sentences(_request_gettext())}


def _request_gettext() -> Gettext:
    """The visitor's language inside a request (as ``describe`` gets it), English sentences elsewhere."""
    from flask import has_request_context
    from flask_babel import gettext

    if has_request_context():
        return gettext
    return lambda text, **values: text % values if values else text


def check_fields(path: str, markdown: str, read_template: TemplateReader) -> None:
    """Refuse (``InvalidFields``) a page whose template declares fields its values do not fit.

    ``read_template`` gives a template's text by name (None when there is no
    such template): from ``main`` for the editor and the API, from the pushed
    commit for a push. A page whose front matter cannot be read is left to
    the content rules, which explain that.
    """
    front, _body, _offset = split_front_matter(markdown)
    if front is None:
        return
    try:
        meta = load_front_matter(front)
    except FrontMatterError:
        return
    name = template_of(path, meta)
    if name is None:
        return
    text = read_template(name)
    found = declaration_from_text(name, text) if text is not None else None
    if found is None or not found.fields:
        return
    problems = field_problems(found.fields, meta)
    if problems:
        raise InvalidFields(found.fields, problems)


# -- the editor's form --------------------------------------------------------


FORM_PREFIX = "champ-"
INITIAL_PREFIX = "champ-initial-"
INPUT_TYPES = {
    "nombre": "number",
    "latitude": "number",
    "longitude": "number",
    "date": "date",
    "url": "url",
    "email": "email",
    "oui_non": "checkbox",
    "choix": "select",
    "texte_long": "textarea",
}


@dataclass(frozen=True)
class FormEntry:
    """One input of the editor's fiche form."""

    field: Field
    value: str  # what the input shows
    initial: str  # what it showed when the editor opened: only a changed input is merged
    input: str  # text, number, date, url, email, checkbox, select, textarea
    error: str | None = None

    @property
    def choices(self) -> tuple[str, ...]:
        """A select's options: the declared values, and the current one if it is not among them (nothing lost)."""
        if self.value and self.value not in self.field.values:
            return (*self.field.values, self.value)
        return self.field.values


def form_value(field: Field, value: Any) -> str:
    """A front-matter value as an input shows it (the checkbox's ``oui`` when true)."""
    typed, problem = check_value(field, value)
    if is_empty(value):
        return ""
    if problem is not None:
        return value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).strip()
    if field.type == "oui_non":
        return "oui" if typed else ""
    if isinstance(typed, float) and typed.is_integer() and field.type == "nombre":
        return str(int(typed))
    return str(typed)


def form_entries(
    found: Declaration,
    meta: Mapping[str, Any],
    *,
    submitted: Mapping[str, str] | None = None,
    initial: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> list[FormEntry]:
    """The fiche form: the page's values, or what was just sent when the editor comes back after a refusal."""
    entries = []
    for field in found.fields:
        shown = form_value(field, meta.get(field.name))
        value = submitted.get(field.name, shown) if submitted is not None else shown
        start = initial.get(field.name, shown) if initial is not None else shown
        kind = INPUT_TYPES.get(field.type, "text")
        if field.type == "choix" and not field.values:
            kind = "text"
        if kind in ("number", "date", "url", "email") and value and check_value(field, value)[1] is not None:
            kind = "text"  # a browser would blank a value its input type cannot hold: show it as it is
        entries.append(FormEntry(field, value, start, kind, (errors or {}).get(field.name)))
    return entries


def submitted_values(found: Declaration, form: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(values sent, values shown when the editor opened) for the fields the form carried."""
    submitted: dict[str, str] = {}
    initial: dict[str, str] = {}
    for field in found.fields:
        start = form.get(INITIAL_PREFIX + field.name)
        if start is None:
            continue  # not in the form (sent by a script, or the editor of another version)
        initial[field.name] = start
        submitted[field.name] = form.get(FORM_PREFIX + field.name, "")
    return submitted, initial


class _Dumper(yaml.SafeDumper):
    """Front-matter YAML: an empty value as nothing (``surface_m2:``), long texts as blocks."""


def _none(dumper: yaml.SafeDumper, _value: None) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:null", "")


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(type(None), _none)
_Dumper.add_representer(str, _str)


def dump_key(name: str, value: Any) -> str:
    """One front-matter key as YAML lines, ending with a newline."""
    return yaml.dump({name: value}, Dumper=_Dumper, allow_unicode=True, sort_keys=False, default_flow_style=False, width=10_000)


_TOP_KEY = re.compile(r"""(?:"([^"]*)"|'([^']*)'|([^\s#'"\-?:][^:#]*?|-[^\s:#][^:#]*?))[ \t]*:(?:[ \t]|$)""")


def _key_blocks(lines: list[str]) -> dict[str, tuple[int, int]]:
    """Where each top-level key's lines are: key → (its line, the line after its last indented or ``-`` line).

    Blank lines and comments at the margin belong to no key unless more of
    the key's lines follow them, so replacing a key keeps the comments around it.
    """
    blocks: dict[str, tuple[int, int]] = {}
    current: str | None = None
    start = end = 0
    for index, line in enumerate(lines):
        stripped = line.rstrip("\r\n")
        if not stripped.strip() or stripped.startswith("#"):
            continue
        if stripped[0] in " \t" or stripped == "-" or stripped.startswith("- "):
            end = index + 1
            continue
        if current is not None:
            blocks.setdefault(current, (start, end))
        match = _TOP_KEY.match(stripped)
        current = next((group for group in match.groups() if group is not None), None) if match else None
        start, end = index, index + 1
    if current is not None:
        blocks.setdefault(current, (start, end))
    return blocks


def _new_value(field: Field, sent: str) -> Any:
    """What an input's text becomes in the front matter: typed when valid, else kept as typed (then refused)."""
    if field.type == "oui_non":
        return bool(sent.strip())
    if not sent.strip():
        return None
    typed, problem = check_value(field, sent)
    if problem is not None:
        return sent.strip()
    return dt.date.fromisoformat(typed) if field.type == "date" else typed  # written as a YAML date, unquoted


def merge_fields(markdown: str, found: Declaration, submitted: Mapping[str, str], initial: Mapping[str, str]) -> str:
    """The page's text with the inputs the person changed written into its front matter.

    Only a field whose input differs from what the editor showed is written,
    so an expert's change to the YAML in the text area stays unless the same
    field was changed in the form too (then the form wins). Each written key
    replaces its own lines; every other line of the front matter (comments,
    other keys) and the whole body stay byte for byte. A front matter that
    cannot be read is left as it is: the save then explains the YAML error.
    """
    fields = {field.name: field for field in found.fields}
    changes = {
        name: _new_value(fields[name], sent)
        for name, sent in submitted.items()
        if name in fields and sent != initial.get(name, "")
    }
    if not changes:
        return markdown
    bom = "\ufeff" if markdown.startswith("\ufeff") else ""
    text = markdown[len(bom) :]
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n") != "---":
        new_front = "".join(dump_key(name, value) for name, value in changes.items())
        return f"{bom}---\n{new_front}---\n{text}"
    close = next((i for i in range(1, len(lines)) if lines[i].rstrip("\r\n") in ("---", "...")), None)
    if close is None:
        return markdown
    front = lines[1:close]
    try:
        load_front_matter("".join(front))
    except FrontMatterError:
        return markdown
    blocks = _key_blocks(front)
    replaced: dict[int, str] = {}
    dropped: set[int] = set()
    appended = []
    for name, value in changes.items():
        if name in blocks:
            first, end = blocks[name]
            replaced[first] = dump_key(name, value)
            dropped.update(range(first + 1, end))
        else:
            appended.append(dump_key(name, value))
    if front and not front[-1].endswith("\n"):
        front[-1] += "\n"
    new_lines = [replaced.get(i, line) for i, line in enumerate(front) if i not in dropped]
    merged_front = "".join(new_lines) + "".join(appended)
    try:
        meta = load_front_matter(merged_front)
    except FrontMatterError:
        meta = None
    if meta is None or any(meta.get(name) != _as_loaded(value) for name, value in changes.items()):
        # The lines could not be rewritten in place (an unusual layout): write the whole block again.
        original = load_front_matter("".join(lines[1:close]))
        original.update(changes)
        merged_front = "".join(dump_key(name, value) for name, value in original.items())
    return bom + lines[0] + merged_front + "".join(lines[close:])


def _as_loaded(value: Any) -> Any:
    """A value as it reads back from the front matter (dates are ISO strings there)."""
    return value.isoformat() if isinstance(value, dt.date) else value


# -- templates as a new page's text --------------------------------------------


def field_keys(found: Declaration, front: str) -> str:
    """Empty keys for the declared fields a template's front matter does not already give a value."""
    present = _key_blocks(front.splitlines(keepends=True))
    return "".join(dump_key(field.name, None) for field in found.fields if field.name not in present)


def without_declaration(front: str) -> str:
    """A template's front matter less its own declaration (``modele``, ``dossier``, ``champs``), comments kept."""
    lines = front.splitlines(keepends=True)
    blocks = _key_blocks(lines)
    dropped: set[int] = set()
    for key in DECLARATION_KEYS:
        if key in blocks:
            first, end = blocks[key]
            dropped.update(range(first, end))
    kept = "".join(line for index, line in enumerate(lines) if index not in dropped)
    return kept if not kept or kept.endswith("\n") else kept + "\n"
