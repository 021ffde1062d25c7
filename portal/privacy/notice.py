"""The privacy notice's versions: its number, the day it changed and what changed, newest last.

The text itself is templates/public/content/privacy_<lang>.html; a change to it adds a line here,
so the page's "last updated" date and history follow the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Revision:
    number: int
    published_on: date
    summary: str


HISTORY = (
    Revision(1, date(2026, 11, 23), _l("First version.")),
    Revision(2, date(2026, 12, 10), _l(
        "One statement of the legal bases (the fund's legal mission for claims, consent for the portal account and "
        "automatic sending); withdrawing consent; your care provider as a channel for your rights; the data "
        "protection officer's address; every cookie listed; how to complain to the CNPD.")),
)


def current() -> Revision:
    return HISTORY[-1]
