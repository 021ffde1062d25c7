"""Telling the owner, on every contact the register holds, what was just done with their account,
with a link that blocks it at once if it was not them.

The link opens a page with one button (a POST), never a GET that blocks: phones and mail filters
open links in messages to preview them, and a preview must not lock anyone out.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from portal import audit
from portal.accounts import blocking
from portal.core import clock, links
from portal.extensions import db
from portal.messaging import contacts, notify
from portal.models import Account, Patient, SecurityAlert

LIFETIME = timedelta(days=30)

# What happened, as the owner reads it; the link and the advice follow.
KINDS = {
    "code_issued": _l("An activation code for your CNS portal account was issued."),
    "activated": _l("Your CNS portal account was activated on a new device."),
    "reactivation": _l(
        "Someone started a new activation of your CNS portal account. It takes effect only after the "
        "waiting period; until then your password and code keep working."
    ),
    "password_reset": _l("The password of your CNS portal account was reset."),
    "password_changed": _l("The password of your CNS portal account was changed."),
    "authenticator_changed": _l("A new authenticator app was set up for your CNS portal account."),
    "bank_account_changed": _l("The bank account your reimbursements are paid into was changed."),
    "contact_changed": _l("The mobile number or e-mail address of your CNS portal account was changed."),
    "suspended": _l("Your CNS portal account was suspended: nobody can use it until it is resumed."),
    "new_device": _l("Someone signed in to your CNS portal account from a device or browser not seen before."),
}


def _digest(token: str) -> str:
    return hashlib.sha256(f"security-alert:{token}".encode()).hexdigest()


def announce(account: Account, patient: Patient | None, kind: str, *,
             also: list[tuple[str, str]] = (), language: str | None = None) -> SecurityAlert | None:
    """Send the alert to every register contact (and `also`: the old ones, after a change).

    None when there is nowhere to send it (no register contact): the audit trail still has the
    event the caller records. The caller commits."""
    own = contacts.of_patient(patient) if patient is not None else contacts.of_professional(account)
    recipients = list(dict.fromkeys([*own, *also]))
    if not recipients:
        return None
    token = secrets.token_urlsafe(24)
    now = clock.now()
    alert = SecurityAlert(account_id=account.id, kind=kind, token_hash=_digest(token), created_at=now,
                          expires_at=now + LIFETIME)
    db.session.add(alert)
    link = links.external_url("public.not_me", token=token)
    language = account.preferred_language or language or "fr"
    with force_locale(language):
        text = _("%(what)s If this was not you, block your account at once: %(link)s", what=KINDS[kind], link=link)
        subject = _("Activity on your CNS portal account")
    patient_id = patient.id if patient is not None else None
    for channel, address in recipients:
        if channel == "sms":
            notify.send_sms(address, text, patient_id=patient_id, kind="security", language=language)
        else:
            notify.send_email(address, subject, text, patient_id=patient_id, kind="security", language=language)
    audit.record(audit.SECURITY_ALERT_SENT, actor=account, patient_id=patient_id, kind=kind,
                 contacts=len(recipients))
    return alert


def find(token: str) -> SecurityAlert | None:
    """The alert behind a link, while it can still be used."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(
        db.select(SecurityAlert).where(SecurityAlert.token_hash == _digest(token), SecurityAlert.used_at.is_(None),
                                       SecurityAlert.expires_at > clock.now())
    )


def use(alert: SecurityAlert) -> bool:
    """Block the account the alert is about; False if the link was used meanwhile. The caller commits."""
    taken = db.session.execute(
        update(SecurityAlert).where(SecurityAlert.id == alert.id, SecurityAlert.used_at.is_(None))
        .values(used_at=clock.now()).execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        return False
    account = db.session.get(Account, alert.account_id)
    blocking.block(account, source="alert", reason=f"owner: not me ({alert.kind})")
    audit.record(audit.SECURITY_ALERT_USED, actor=account, kind=alert.kind)
    return True
