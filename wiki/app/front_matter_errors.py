"""A YAML mistake in a page's front matter, explained in the reader's language with the line to look at.

PyYAML's own messages ("mapping values are not allowed here") mean nothing to
a person who never heard of YAML; ``repo_store.pages.FrontMatterError`` names
the kind of mistake and its line, and this module says it in a sentence.
"""

from __future__ import annotations

from repo_store.errors import N_, Gettext

# Sentences that name the line, by the reason ``FrontMatterError`` gives.
AT_LINE = {
    "unclosed_quote": N_("a quotation mark opened on line %(line)s is never closed: close it at the end of the value."),
    "unclosed_bracket": N_(
        "a bracket “[” or a brace “{” opened on line %(line)s is never closed, or a comma is missing between its items."
    ),
    "colon_in_value": N_(
        "line %(line)s has a colon followed by a space inside a value, or starts with spaces it should not have: "
        "put the value between quotation marks, or remove the spaces at the start of the line."
    ),
    "missing_colon": N_("line %(line)s is not a “key: value” line: add the colon after the key, or join it to the line above."),
    "tab": N_("line %(line)s is indented with a tab: use spaces instead."),
    "reserved_character": N_(
        "on line %(line)s a value starts with a sign YAML keeps for itself (such as @ or `): "
        "put the value between quotation marks."
    ),
    "alias": N_("line %(line)s uses “*” or “&”, which front matter cannot use: put the value between quotation marks."),
    "indentation": N_("line %(line)s is not lined up with the lines around it: check the spaces at its start."),
    "other": N_("line %(line)s cannot be read (%(detail)s)."),
}
# Sentences for mistakes YAML gives no line for.
ANYWHERE = {
    "alias": N_("it uses “*” or “&”, which front matter cannot use: put such values between quotation marks."),
    "bad_value": N_(
        "a value cannot be read, such as an impossible date: correct it, or put it between quotation marks if it is text."
    ),
    "not_mapping": N_("it must be a list of “key: value” lines."),
    "too_long": N_("it is too long."),
    "too_deep": N_("it is nested too deeply."),
}


def explain(gettext: Gettext, reason: str, line: int | None, detail: str) -> str:
    """The mistake in a sentence of the reader's language; PyYAML's own words when it is none we know."""
    if line is not None and reason in AT_LINE:
        return gettext(AT_LINE[reason], line=line, detail=detail)
    if reason in ANYWHERE:
        return gettext(ANYWHERE[reason])
    return detail
