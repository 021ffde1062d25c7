"""What the fund tells a doctor about a direct-payment claim the doctor sent: a question to
answer, or a rejection.

The doctor filed the claim and answers for it (the patient paid only their share at the practice),
so a question goes to the doctor: by e-mail, with a link to the invoice's page where they answer.
A rejection is announced to them too, since they may then bill the patient for the rest. The
message names no patient and no act: it only says that something waits, and where.
"""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from portal.core import links
from portal.messaging import contacts, notify
from portal.models import Claim

QUESTION = "direct_question"
REJECTED = "direct_rejected"

MESSAGES = {
    QUESTION: (
        _l("The health fund has a question about an invoice"),
        _l("The health fund asks a question about a direct-payment invoice you sent. Read it and answer on "
           "the invoice's page: %(link)s"),
    ),
    # Neutral words: the agent may undo a rejection for a few minutes, and an e-mail cannot be taken back.
    REJECTED: (
        _l("News about a direct-payment invoice"),
        _l("The health fund has news about a direct-payment invoice you sent. Read it on the invoice's page: "
           "%(link)s"),
    ),
}


def tell(claim: Claim, kind: str) -> int:
    """E-mail the doctor who sent `claim`; the number of messages written (the caller commits)."""
    doctor = claim.doctor
    account = doctor.account if doctor is not None else None
    if account is None:
        return 0
    language = account.preferred_language or "fr"
    subject, text = MESSAGES[kind]
    link = links.external_url("doctor.invoice", invoice_id=claim.invoice_id)
    with force_locale(language):
        subject, body = str(subject), str(text) % {"link": link}
    written = 0
    for _channel, address in contacts.of_professional(account):
        notify.send_email(address, subject, body, kind=kind, language=language)
        written += 1
    return written

