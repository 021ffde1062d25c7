"""Who administers on the CNS side: one check, used by every administrator's view.

Administration (publishing terms of use, blocking accounts) is granted to some CNS agents by an
operator (`flask --app app accounts grant-admin`); agents of the other funds never hold it.
"""

from __future__ import annotations

import functools

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import accounts, audit
from portal.accounts import stepup
from portal.extensions import db
from portal.models import CnsStaff, Fund
from portal.web import ownership

CODE_ERRORS = {
    "missing": _l("Enter the code your authenticator app shows now."),
    "locked": _l("Too many failed attempts: the account is locked for a while. Try again later."),
    "code": _l("This code is not correct or was already used. Wait for the next one."),
}


def is_administrator(account) -> bool:
    staff = accounts.profile(account) if account is not None and account.role == "cns" else None
    return isinstance(staff, CnsStaff) and staff.is_administrator and staff.fund_scope == Fund.CNS


def require_administrator() -> CnsStaff:
    """403 for any other agent, audited: the route's existence is no secret, only its use is."""
    if not is_administrator(current_user):
        db.session.rollback()
        audit.record(audit.ACCESS_REFUSED, endpoint="cns.admin", object="administration")
        db.session.commit()
        abort(403)
    return ownership.current_agent()


def administrators_only(view):
    """Wrap every administrator's view: the one place their permission is checked."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        require_administrator()
        return view(*args, **kwargs)

    return checked


# A fresh authenticator code before an administrator's act; a wrong one counts towards the lock.
check_code = stepup.check_code
