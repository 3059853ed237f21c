"""The e-mails about accounts: a password reset link, an invitation, the confirmation of a new address.

They speak the language the account chose for its mail, else the site's
(an invitation goes to someone who has no account yet: the site's), in plain
text and the same in HTML, and say what to do if the message was not expected.
"""

from __future__ import annotations

import html

from repo_store.errors import Gettext

from .mail import Mail


def _mail(recipient: str, subject: str, paragraphs: list[str], link: str, link_text: str) -> Mail:
    text = "\n\n".join([*paragraphs[:1], link, *paragraphs[1:]])
    body = f'<p>{html.escape(paragraphs[0])}</p><p><a href="{html.escape(link)}">{html.escape(link_text)}</a></p>' + "".join(
        f"<p>{html.escape(part)}</p>" for part in paragraphs[1:]
    )
    return Mail(recipient, subject, text, body, (("Auto-Submitted", "auto-generated"),))


def reset_mail(_: Gettext, *, site: str, recipient: str, name: str, link: str) -> Mail:
    return _mail(
        recipient,
        f"[{site}] " + _("Choose a new password"),
        [
            _("To choose a new password for the account %(name)s, open this link (it works once, for an hour):", name=name),
            _("If you did not ask for it, ignore this message: your password stays as it is."),
        ],
        link,
        _("Choose a new password"),
    )


def invitation_mail(_: Gettext, *, site: str, recipient: str, link: str, days: int) -> Mail:
    return _mail(
        recipient,
        f"[{site}] " + _("You are invited to %(site)s", site=site),
        [
            _("You are invited to create your account on %(site)s, to read and improve its pages:", site=site),
            _("The link works once, for %(days)s days. If you did not expect it, ignore this message.", days=days),
        ],
        link,
        _("Create my account"),
    )


def email_confirmation_mail(_: Gettext, *, site: str, recipient: str, name: str, link: str) -> Mail:
    return _mail(
        recipient,
        f"[{site}] " + _("Confirm your e-mail address"),
        [
            _("To use this address for the account %(name)s, open this link (it works once, for two days):", name=name),
            _("If you did not ask for it, ignore this message: nothing changes."),
        ],
        link,
        _("Confirm this address"),
    )
