"""Asking again who is there before what moves money or identity: changing the bank account,
the mobile, the e-mail, the password, or erasing the account.

A session alone is not enough for these: a copied cookie (a shared computer, a stolen laptop)
holds a session but neither the password nor the phone. So the password and a current code are
asked again, and a wrong answer counts towards the account's lock like a failed sign-in, so the
form cannot be used to guess the password.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal import audit
from portal.accounts import passwords, signin, totp
from portal.models import Account

# What the person is told, on which field, for each answer of `check`.
ERRORS = {
    "missing": ("password", _l("Enter your password and the code your authenticator app shows now.")),
    "locked": ("password", _l("Too many failed attempts: the account is locked for a while. Try again later.")),
    "password": ("password", _l("The password is not correct.")),
    "code": ("code", _l("This code is not correct or was already used. Wait for the next one.")),
}


def check(account: Account, password: str | None, code: str | None, *, stage: str, use_code: bool = True) -> str | None:
    """Password, then a current code (used up, like at sign-in); None when both are right.

    With `use_code` false (another field of the form is wrong) the code is only looked at, so the
    person can send the same code with the corrected form, and a missing code is left to the
    form's own message. Wrong answers count towards the lock either way. `stage` names the form in
    the audit trail. The caller commits either way, so failures are kept."""
    credential = account.credential
    compact = "".join((code or "").split())
    if not password or (use_code and not compact):
        return "missing"  # nothing was tried: nothing to count
    if signin.is_locked(credential):
        passwords.verify_password(None, password)  # the same time as a real check
        audit.record(audit.SIGNIN_FAILED, actor=account, stage=stage, reason="locked")
        return "locked"
    if not passwords.verify_password(credential.password_hash, password):
        signin.register_failure(account, stage, "wrong")
        return "password"
    if not compact:
        return None  # only with use_code false: the form's own message says the code is missing
    right = totp.consume_code(credential, compact) if use_code else totp.is_unused_code(credential, compact)
    if not right:
        signin.register_failure(account, stage, "wrong")
        return "code"
    return None


def check_code(account: Account, code: str | None, *, stage: str) -> str | None:
    """A current code alone, used up like one at sign-in (an administrator's act asks only this:
    a copied cookie holds a session, not the phone); None when it is right. The caller commits."""
    credential = account.credential
    compact = "".join((code or "").split())
    if not compact:
        return "missing"
    if signin.is_locked(credential):
        audit.record(audit.SIGNIN_FAILED, actor=account, stage=stage, reason="locked")
        return "locked"
    if not totp.consume_code(credential, compact):
        signin.register_failure(account, stage, "wrong")
        return "code"
    return None


def add_error(form, problem: str) -> None:
    """Put the message for `problem` on the form field it is about."""
    name, message = ERRORS[problem]
    form[name].errors.append(message)
