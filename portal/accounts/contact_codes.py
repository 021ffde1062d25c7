"""One-time codes sent to a contact the insurance register holds.

Whoever asks (a doctor at the practice, someone who knows a login and holds a stolen phone's
authenticator) cannot choose where the code goes: it goes to the register's mobile number, or to
its e-mail address when there is no mobile. Typing it back proves the person holds that phone or
mailbox. A code works once, for one purpose, in the one browser flow that asked for it (`bound_to`,
a digest of that flow's secret), for a few minutes and a few tries.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import timedelta

from flask import current_app, session
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import update

from portal import audit
from portal.core import clock
from portal.extensions import db
from portal.messaging import notify
from portal.models import ContactCode, Patient

DIGITS = 6
LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5  # then the code is spent: 5 guesses in a million


def _digest(code: str) -> str:
    # Keyed: six digits hashed plainly would fall to a look-up table if the table leaked.
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"contact-code:{code}".encode(), hashlib.sha256).hexdigest()


def flow_digest(flow_secret: str) -> str:
    """What `bound_to` holds for a flow whose browser keeps `flow_secret`."""
    return hashlib.sha256(f"contact-flow:{flow_secret}".encode()).hexdigest()


def wait_in_browser(key: str, **facts) -> str:
    """Remember in this browser's (signed) cookie that a code is on its way, with `facts` and a new
    random flow secret; returns what to bind the code to."""
    flow = secrets.token_urlsafe(32)
    session[key] = {**facts, "flow": flow, "at": time.time()}
    return flow_digest(flow)


def waiting_in_browser(key: str) -> dict | None:
    """What `wait_in_browser` kept, while the code it waits for can still be valid."""
    step = session.get(key)
    if not step:
        return None
    if time.time() - step.get("at", 0) > LIFETIME.total_seconds():
        session.pop(key, None)
        return None
    return step


def binding_in_browser(key: str) -> str:
    """What the code this browser waits for is bound to (call after `waiting_in_browser`)."""
    return flow_digest(session[key]["flow"])


def channel_for(patient: Patient) -> str | None:
    """Where a code for this person would go: "sms", "email", or None when the register has neither."""
    if patient.mobile:
        return "sms"
    if patient.email:
        return "email"
    return None


def masked_destination(patient: Patient) -> str:
    """Enough for the owner to recognise where the code went, too little for anyone else."""
    if patient.mobile:
        return "•" * max(len(patient.mobile) - 3, 0) + patient.mobile[-3:]
    if patient.email:
        local, _at, domain = patient.email.partition("@")
        return f"{local[:1]}•••@{domain}"
    return ""


def send(patient: Patient, purpose: str, *, bound_to: str, language: str) -> ContactCode | None:
    """Send a new code (earlier unused ones for the same flow and purpose stop working).

    None when the register has no contact for this person: the caller offers another path."""
    channel = channel_for(patient)
    if channel is None:
        return None
    return send_to(patient, channel, patient.mobile if channel == "sms" else patient.email, purpose,
                   bound_to=bound_to, language=language)


def send_to(patient: Patient, channel: str, address: str, purpose: str, *, bound_to: str,
            language: str) -> ContactCode:
    """A code to `address`: the register's contact (send), or a new one the owner asked for, which
    is used only once its code comes back (portal.accounts.new_contacts)."""
    now = clock.now()
    db.session.execute(
        update(ContactCode)
        .where(ContactCode.bound_to == bound_to, ContactCode.purpose == purpose, ContactCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    code = f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"
    row = ContactCode(
        patient_id=patient.id, purpose=purpose, bound_to=bound_to, code_hash=_digest(code),
        channel=channel, created_at=now, expires_at=now + LIFETIME,
    )
    db.session.add(row)
    with force_locale(language):
        text = _(
            "Your CNS portal code: %(code)s. It is valid for %(minutes)d minutes. Nobody from the CNS or "
            "your doctor will ever ask you for it: if you did not ask for it, do not give it to anyone.",
            code=code, minutes=int(LIFETIME.total_seconds() // 60),
        )
        subject = _("Your CNS portal code")
    if channel == "sms":
        notify.send_sms(address, text, patient_id=patient.id, kind="code", language=language)
    else:
        notify.send_email(address, subject, text, patient_id=patient.id, kind="code", language=language)
    db.session.flush()
    audit.record(audit.CONTACT_CODE_SENT, patient_id=patient.id, purpose=purpose, channel=channel)
    return row


def check(purpose: str, *, bound_to: str, code: str) -> ContactCode | None:
    """The code's row when `code` is right (it is used up then), else None.

    Every try counts, right or wrong, with a conditional UPDATE: parallel guesses cannot share one
    count. The caller commits either way, so failed tries are kept."""
    now = clock.now()
    row = db.session.scalar(
        db.select(ContactCode)
        .where(ContactCode.bound_to == bound_to, ContactCode.purpose == purpose, ContactCode.used_at.is_(None),
               ContactCode.expires_at > now, ContactCode.attempts < MAX_ATTEMPTS)
        .order_by(ContactCode.id.desc()).limit(1)
    )
    if row is None:
        return None
    counted = db.session.execute(
        update(ContactCode).where(ContactCode.id == row.id, ContactCode.attempts < MAX_ATTEMPTS)
        .values(attempts=ContactCode.attempts + 1).execution_options(synchronize_session=False)
    ).rowcount
    typed = "".join(ch for ch in (code or "") if not ch.isspace())
    if counted != 1 or not hmac.compare_digest(_digest(typed), row.code_hash):
        audit.record(audit.CONTACT_CODE_FAILED, patient_id=row.patient_id, purpose=purpose)
        return None
    used = db.session.execute(
        update(ContactCode).where(ContactCode.id == row.id, ContactCode.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if used != 1:  # a parallel request with the same code got there first
        return None
    db.session.refresh(row)
    return row
