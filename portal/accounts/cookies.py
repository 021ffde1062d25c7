"""Every cookie the portal sets, why, and for how long: the account settings and the privacy
notice show this table, and a test compares it with what a real sign-in and sign-out set.

All are essential (no consent is asked for them): there is no audience measurement, no
advertising and no third-party content.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.accounts import devices


@dataclass(frozen=True)
class Cookie:
    name: str
    purpose: str
    lifetime: str
    removed_at_signout: bool


def essential() -> list[Cookie]:
    return [
        Cookie(
            current_app.config["SESSION_COOKIE_NAME"],
            _l("Keeps you signed in, remembers the language you chose and protects the forms against "
               "forgery; during an activation or a data export, it also holds the step you are at."),
            _l("Until you close the browser. Signing out deletes it."),
            removed_at_signout=True,
        ),
        Cookie(
            devices.COOKIE,
            _l("Recognises this browser, so that a sign-in from a browser you never used before is reported "
               "to you. It holds a random number, nothing about you."),
            _l("400 days. It stays when you sign out, so that your next sign-in here is not reported as a new "
               "browser; you can delete it in your browser's settings."),
            removed_at_signout=False,
        ),
    ]
