"""Records for the help desk, maintenance and paper-intake stories, read or made in the live
server's database through the portal's own functions."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from flask_babel import force_locale, gettext

from portal import maintenance
from portal.core import clock
from portal.extensions import db
from portal.models import Claim, ClaimState, HelpRequest, OutboxMessage, Patient
from tests.e2e.claim_data import ANNE


def say(app, language: str, text: str, **values) -> str:
    """`text` as the portal shows it in `language`."""
    with app.test_request_context(), force_locale(language):
        return gettext(text, **values)


@contextmanager
def maintenance_window(app, *, starts_in: timedelta, lasts: timedelta, message: str | None = None):
    """A maintenance window scheduled as the operator's command does, cancelled on the way out
    whatever happens, so no later test meets a closed portal. The live server runs in this
    process: it sees the window (and its cancellation) at its next request."""
    with app.app_context():
        now = clock.now()
        window_id = maintenance.schedule(now + starts_in, now + starts_in + lasts, message).id
        db.session.commit()
    try:
        yield window_id
    finally:
        with app.app_context():
            maintenance.cancel(window_id)
            db.session.commit()


def demo_help_request(app) -> int:
    """The demo patient's message to the fund, answered by the demo agent (portal/demo.py)."""
    with app.app_context():
        return db.session.scalar(
            db.select(HelpRequest.id).join(Patient, Patient.id == HelpRequest.patient_id)
            .where(Patient.matricule == ANNE, HelpRequest.state == "answered").order_by(HelpRequest.id).limit(1)
        )


def help_request(app, reference: str) -> dict | None:
    with app.app_context():
        filed = db.session.scalar(db.select(HelpRequest).where(HelpRequest.reference == reference))
        if filed is None:
            return None
        return {"id": filed.id, "fund": filed.fund, "state": filed.state, "document_type": filed.document_type,
                "replies": [reply.body for reply in filed.replies]}


def help_requests_from(app, email: str) -> list[str]:
    """References of the messages sent without signing in, answered to `email`."""
    with app.app_context():
        return list(db.session.scalars(db.select(HelpRequest.reference).where(HelpRequest.contact_email == email)))


def messages_to(app, recipient: str, kind: str) -> list[str]:
    """Bodies of the text messages and e-mails of `kind` written to `recipient`, oldest first."""
    with app.app_context():
        return list(db.session.scalars(
            db.select(OutboxMessage.body).where(OutboxMessage.recipient == recipient, OutboxMessage.kind == kind)
            .order_by(OutboxMessage.id)
        ))


def paper_claim_without_receipt(app) -> int:
    """A claim the fund took in on paper with no proof of payment in the envelope, still to decide
    (the demo has one)."""
    with app.app_context():
        return db.session.scalar(
            db.select(Claim.id).where(Claim.channel == "paper_qr", Claim.is_receipt_seen.is_(False),
                                      Claim.state.in_((ClaimState.SHARED, ClaimState.IN_REVIEW,
                                                       ClaimState.INFO_REQUESTED)))
            .order_by(Claim.id).limit(1)
        )
