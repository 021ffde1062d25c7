"""What each form of the duplicate-submission storm posts, and the effect it must have once.

Each builder sets up the world one form needs (committed: the storm's requests run in threads)
and returns a Case; tests/faults/test_duplicate_submissions.py sends it twenty times at once.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import func

from portal.accounts import consent, guardian_register, terms
from portal.activation import codes
from portal.claims import qr
from portal.core import clock
from portal.core.identity import make_iban
from portal.documents import uploads
from portal.extensions import db
from portal.models import (
    ActivationCode,
    ActivationFlow,
    AuditEvent,
    Claim,
    ClaimEvent,
    ConsentReceipt,
    DataExport,
    DataRequest,
    ErasureTombstone,
    IdentityRequest,
    Invoice,
    InvoiceReport,
    Notification,
    OutboxMessage,
    RegistryGuardian,
    SecurityAlert,
    Statement,
    TermsDecision,
    TermsVersion,
    UserSession,
)
from portal.privacy import rights
from tests.fixtures import pdfs
from tests.fixtures.activation import sent_code
from tests.fixtures.claims import new_claim
from tests.fixtures.clients import fresh_code, sign_in_committed, step_up
from tests.fixtures.factories import PASSWORD, new_doctor, new_patient
from tests.fixtures.invoices import new_invoice

NEW_PASSWORD = "violet tractor under the bridge"


# --- Counting effects ------------------------------------------------------------------------------

def rows(model, *conditions) -> Callable[[], int]:
    return lambda: db.session.scalar(db.select(func.count()).select_from(model).where(*conditions))


def audited(event: str) -> Callable[[], int]:
    return rows(AuditEvent, AuditEvent.event == event)


# --- One case: who posts what, and what must happen once -----------------------------------------------

@dataclass
class Case:
    path: str
    data: dict = field(default_factory=dict)
    effects: dict[str, Callable[[], int]] = field(default_factory=dict)
    # Whose browser double-submits: a role of `people`, or None for a visitor.
    role: str | None = "patient"
    # The page the form comes from: its hidden fields travel with the post, as in a browser.
    form_page: str | None = None
    # Signed in only up to the password: the code step is the form under test.
    half_signed_in: bool = False
    # Run once the browser is signed in; returns values for the path's {names} and the form.
    after_sign_in: Callable | None = None
    # A page the browser opens before the form (an activation link puts the code in the session).
    visit: str | None = None
    # Steps the browser takes after `visit`, before the form (an activation's birth date).
    walk: Callable | None = None
    files: Callable[[], dict] | None = None


def _claim(world, state="shared"):
    return new_claim(world["patient"], world["doctor"], world["cns"], state=state)


def share_invoice(world):
    invoice = new_invoice(world["patient"], world["doctor"])
    return Case("/patient/invoices/share", {"invoice": str(invoice.id), "submit": "Share"}, effects={
        "claims": rows(Claim),
        "consent receipts": rows(ConsentReceipt),
        "audit claim.shared": audited("claim.shared"),
    })


def redeem_activation_code(world):
    patient = new_patient(with_account=False)
    _code, token = codes.issue(patient.profile, doctor=world["doctor"].profile, document_type="identity_card",
                               document_last4="AB12", mobile="+352621123456")
    db.session.commit()
    birth = patient.profile.birth_date.isoformat()
    # The code is claimed where the register's contact code is checked, after the birth date.
    return Case("/activate/continue", role=None, visit=f"/activate/{token}",
                walk=lambda browser: browser.post("/activate/continue", data={"birth_date": birth}),
                after_sign_in=lambda _person: {"contact_code": sent_code(patient.profile)}, effects={
                    "flows at the password step": rows(ActivationFlow, ActivationFlow.step == "password"),
                    "audit activation.redeemed": audited("activation.redeemed"),
                })


def withdraw_claim(world):
    claim = _claim(world)
    return Case(f"/patient/claims/{claim.id}/withdraw", effects={
        "audit claim.withdrawn": audited("claim.withdrawn"),
        "withdrawn steps": rows(ClaimEvent, ClaimEvent.kind == "withdrawn"),
    })


def answer_claim(world):
    claim = _claim(world, "info_requested")
    return Case(f"/patient/claims/{claim.id}/answer", {"message": "Here is the prescription."}, effects={
        "audit claim.info_answered": audited("claim.info_answered"),
        "answer steps": rows(ClaimEvent, ClaimEvent.kind == "info_answered"),
    })


def freeze_claim(world):
    claim = _claim(world)
    return Case(f"/patient/claims/{claim.id}/freeze", effects={
        "audit claim.frozen": audited("claim.frozen"),
        "restriction requests": rows(DataRequest, DataRequest.kind == "restriction"),
    })


def unfreeze_claim(world):
    claim = _claim(world)
    rights.freeze(claim, by=world["patient"].account)
    db.session.commit()
    return Case(f"/patient/claims/{claim.id}/unfreeze", effects={
        "audit claim.unfrozen": audited("claim.unfrozen"),
        "restriction requests": rows(DataRequest, DataRequest.kind == "restriction"),
    })


def take_up(world):
    claim = _claim(world)
    return Case(f"/cns/claims/{claim.id}/take-up", role="cns", effects={
        "audit claim.taken_up": audited("claim.taken_up"),
        "take-up steps": rows(ClaimEvent, ClaimEvent.kind == "taken_up"),
    })


def accept(world):
    claim = _claim(world, "in_review")
    data = {"version": claim.version, "amount": f"{claim.computed_cents / 100:.2f}"}
    return Case(f"/cns/claims/{claim.id}/accept", data, role="cns", effects={
        "statements": rows(Statement),
        "audit claim.decided": audited("claim.decided"),
        "notices": rows(Notification),
    })


def reject(world):
    claim = _claim(world, "in_review")
    data = {"version": claim.version, "reason": "duplicate", "confirmed": "y"}  # as the confirmation page posts it
    return Case(f"/cns/claims/{claim.id}/reject", data, role="cns", effects={
        "audit claim.decided": audited("claim.decided"),
        "notices": rows(Notification),
    })


def request_info(world):
    claim = _claim(world, "in_review")
    data = {"version": claim.version, "question": "Please send the prescription."}
    return Case(f"/cns/claims/{claim.id}/request-info", data, role="cns", effects={
        "questions": rows(ClaimEvent, ClaimEvent.kind == "info_requested"),
        "audit claim.info_requested": audited("claim.info_requested"),
        "notices": rows(Notification),
    })


def void_invoice(world):
    invoice = new_invoice(world["patient"], world["doctor"])
    return Case(f"/doctor/invoices/{invoice.id}/void", {"reason": "Wrong act code"}, role="doctor",
                effects={"audit invoice.voided": audited("invoice.voided")})


def new_invoice_form(world):
    data = {
        "matricule": world["patient"].profile.matricule,
        "service_date": (clock.today() - timedelta(days=2)).isoformat(),
        "lines-0-code": "C1", "lines-0-quantity": "1",
        "paid_on_site": "yes", "payer_is_patient": "yes", "submit": "Issue the invoice",
    }
    return Case("/doctor/invoices/new", data, role="doctor", form_page="/doctor/invoices/new", effects={
        "invoices": rows(Invoice),
        "audit invoice.issued": audited("invoice.issued"),
    })


def issue_activation(world):
    patient = new_patient(with_account=False)
    data = {
        "matricule": patient.profile.matricule, "birth_date": patient.profile.birth_date.isoformat(),
        "document_type": "identity_card", "document_last4": "AB12",
        "mobile": "+352621123456", "language": "fr", "identity_checked": "y", "submit": "Issue",
    }
    live = rows(ActivationCode, ActivationCode.patient_id == patient.profile.id,
                ActivationCode.used_at.is_(None), ActivationCode.revoked_at.is_(None))
    return Case("/doctor/activations", data, role="doctor", effects={"live codes": live})


def _code_for_new_patient(world):
    patient = new_patient(with_account=False)
    code, _token = codes.issue(patient.profile, doctor=world["doctor"].profile, document_type="identity_card",
                               document_last4="AB12", mobile="+352621123456")
    db.session.commit()
    return code


def revoke_activation(world):
    code = _code_for_new_patient(world)
    return Case(f"/doctor/activations/{code.id}/revoke", role="doctor",
                effects={"audit activation.revoked": audited("activation.revoked")})


def _identity_request(world) -> IdentityRequest:
    patient = new_patient(with_account=False).profile
    filed = IdentityRequest(
        reference=f"faults-{patient.id}", matricule=patient.matricule, surname=patient.surname,
        given_name=patient.given_name, birth_date=patient.birth_date, mobile="+352621123456", language="en",
        document_name=uploads.store(b"%PDF-1.4 identity card\n%%EOF"), document_type="application/pdf",
        patient_id=patient.id,
    )
    db.session.add(filed)
    db.session.commit()
    return filed


def approve_identity(world):
    filed = _identity_request(world)
    return Case(f"/cns/identity-requests/{filed.id}/approve", role="cns", effects={
        "audit identity_request.decided": audited("identity_request.decided"),
        "activation codes": rows(ActivationCode),
        "text messages": rows(OutboxMessage, ~OutboxMessage.body.contains("/not-me/")),
        "alerts": rows(SecurityAlert, SecurityAlert.kind == "code_issued"),
    })


def reject_identity(world):
    filed = _identity_request(world)
    return Case(f"/cns/identity-requests/{filed.id}/reject", {"reason": "unreadable"}, role="cns",
                effects={"audit identity_request.decided": audited("identity_request.decided")})


def confirm_guardian(world):
    child = new_patient(with_account=False, given_name="Mia", birth=clock.today() - timedelta(days=6 * 365)).profile
    filed = guardian_register.request_link(child, world["patient"].profile, new_doctor().profile)
    db.session.commit()
    return Case(f"/cns/guardian-requests/{filed.id}/confirm", {"document_checked": "y"}, role="cns",
                form_page="/cns/guardian-requests", effects={
                    "register guardians": rows(RegistryGuardian),
                    "audit guardian.link_decided": audited("guardian.link_decided"),
                })


def answer_data_request(world):
    filed = rights.request_correction(world["patient"].profile, "name", "My name is misspelt.",
                                       by=world["patient"].account)
    db.session.commit()
    return Case(f"/cns/data-requests/{filed.id}", {"state": "done", "answer": "Corrected."}, role="cns",
                effects={"audit data_request.answered": audited("data_request.answered")})


def export_request(world):
    return Case("/patient/my-data/export", form_page="/patient/my-data", effects={
        "exports": rows(DataExport),
        "export requests": rows(DataRequest, DataRequest.kind == "export"),
        "audit export.created": audited("export.created"),
    })


def erase(world):
    return Case("/patient/my-data/erase", {"password": PASSWORD, "confirmation": "ERASE"}, effects={
        "tombstones": rows(ErasureTombstone),
        "audit account.erased": audited("account.erased"),
    }, after_sign_in=lambda person: {"code": fresh_code(person)})


def withdraw_consent(world):
    return Case("/patient/my-data/withdraw", {"understood": "y"}, effects={
        "withdrawals": rows(DataRequest, DataRequest.kind == "withdrawal"),
        "audit consent.withdrawn": audited("consent.withdrawn"),
    })


def restore_consent(world):
    patient = world["patient"]
    consent.withdraw(patient.profile, patient.account)
    db.session.commit()
    return Case("/patient/my-data/restore", effects={"audit consent.restored": audited("consent.restored")})


def objection(world):
    return Case("/patient/my-data/objection", {"objects": "y"}, effects={
        "objections": rows(DataRequest, DataRequest.kind == "objection"),
        "audit objection.changed": audited("objection.changed"),
    })


def bank_account(world):
    return Case("/patient/bank-account", {"iban": make_iban("LU", "0019400644750000")},
                effects={"audit bank_account.changed": audited("bank_account.changed")}, after_sign_in=step_up)


def settings(world):
    return Case("/patient/settings", {"auto_share": "y"},
                effects={"audit auto_share.changed": audited("auto_share.changed")})


def contact_details(world):
    data = {"mobile": "+352 621 999 888", "email": "marie@example.lu", "language": "en"}
    return Case("/patient/my-data/contact", data, effects={"audit contact.changed": audited("contact.changed")},
                after_sign_in=step_up)


def correction_request(world):
    return Case("/patient/my-data/correction", {"registry_field": "name", "message": "My name is Kremer-Weis."},
                form_page="/patient/my-data/correction", effects={"corrections": rows(DataRequest, DataRequest.kind == "correction")})


def report_invoice(world):
    invoice = new_invoice(world["patient"], world["doctor"])
    path = f"/patient/invoices/{invoice.id}/report"
    return Case(path, {"message": "The act code is wrong."}, form_page=path,
                effects={"reports": rows(InvoiceReport), "audit invoice.reported": audited("invoice.reported")})


def _second_session(person) -> dict:
    """Sign the person in once more, in another browser; returns that session's id."""
    def ids():
        found = set(db.session.scalars(db.select(UserSession.id).where(UserSession.account_id == person.account.id)))
        db.session.commit()
        return found

    before = ids()
    sign_in_committed(current_app, person, lang="en")
    (other,) = ids() - before
    return {"other": other}


def end_session(world):
    return Case("/account/sessions/{other}/end", effects={
        "sessions ended": rows(UserSession, UserSession.revoked_at.is_not(None)),
        "audit sessions.revoked": audited("sessions.revoked"),
    }, after_sign_in=_second_session)


def end_other_sessions(world):
    return Case("/account/sessions/end-others", effects={
        "sessions ended": rows(UserSession, UserSession.revoked_at.is_not(None)),
        "audit sessions.revoked": audited("sessions.revoked"),
    }, after_sign_in=_second_session)


def change_password(world):
    data = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    return Case("/account/password", data, after_sign_in=lambda person: {"code": step_up(person)["code"]}, effects={
        "audit password.changed": rows(AuditEvent, AuditEvent.event == "password.changed",
                                       AuditEvent.data["method"].as_string() == "change"),
    })


def paper_intake(world):
    invoice = new_invoice(world["patient"], world["doctor"], paid_on_site=False)
    return Case("/cns/paper-intake", {"payload": qr.qr_payload(invoice)}, role="cns", effects={
        "claims": rows(Claim),
        "audit claim.paper_received": audited("claim.paper_received"),
    })


def publish_terms(world):
    world["cns"].profile.is_administrator = True  # only administrators publish
    data = {"text_fr": "Conditions 2", "text_de": "Bedingungen 2", "text_en": "Terms 2", "confirm": "y"}
    return Case("/cns/terms", data, role="cns", effects={
        "versions": rows(TermsVersion),
        "audit terms.published": audited("terms.published"),
    }, after_sign_in=lambda person: {"code": fresh_code(person)})


def accept_terms(world):
    terms.publish(terms.bundled_texts(1))
    db.session.commit()
    return Case("/terms/accept", {"accept": "y", "submit": "Accept"}, effects={
        "decisions": rows(TermsDecision),
        "audit terms.accepted": audited("terms.accepted"),
    })


def sign_out(world):
    return Case("/logout", effects={
        "sessions ended": rows(UserSession, UserSession.revoked_at.is_not(None)),
        "audit signout": audited("signout"),
    })


def one_time_code(world):
    return Case("/login/code", half_signed_in=True, effects={
        "sessions": rows(UserSession),
        "audit signin.succeeded": audited("signin.succeeded"),
    }, after_sign_in=lambda person: {"code": fresh_code(person)})


def _lock(person) -> dict:
    db.session.execute(db.update(UserSession).where(UserSession.account_id == person.account.id)
                       .values(locked_at=clock.now()))
    db.session.commit()
    return {}


def unlock(world):
    return Case("/unlock", {"password": PASSWORD}, after_sign_in=_lock,
                effects={"audit session.unlocked": audited("session.unlocked")})


def identity_request_filing(world):
    patient = new_patient(with_account=False).profile
    data = {
        "matricule": patient.matricule, "surname": patient.surname, "given_name": patient.given_name,
        "birth_date": patient.birth_date.isoformat(), "mobile": "+352621123456", "consent": "y",
    }

    def document():
        return {"document": (io.BytesIO(pdfs.scan()), "identity.pdf")}  # kept as a PNG of its page

    return Case("/activate/request", data, role=None, files=document, form_page="/activate/request", effects={
        "identity requests": rows(IdentityRequest),
        "audit identity_request.filed": audited("identity_request.filed"),
    })


CASES = {
    "share an invoice": share_invoice,
    "redeem an activation code": redeem_activation_code,
    "withdraw a claim": withdraw_claim,
    "answer the fund's question": answer_claim,
    "freeze a claim": freeze_claim,
    "unfreeze a claim": unfreeze_claim,
    "take up a claim": take_up,
    "accept a claim": accept,
    "reject a claim": reject,
    "ask the patient a question": request_info,
    "void an invoice": void_invoice,
    "issue an invoice": new_invoice_form,
    "issue an activation code": issue_activation,
    "revoke an activation code": revoke_activation,
    "approve an identity request": approve_identity,
    "reject an identity request": reject_identity,
    "confirm a parental link": confirm_guardian,
    "answer a correction request": answer_data_request,
    "request an export": export_request,
    "erase the account": erase,
    "withdraw consent": withdraw_consent,
    "restore consent": restore_consent,
    "object to statistics": objection,
    "change the bank account": bank_account,
    "switch on automatic sharing": settings,
    "change contact details": contact_details,
    "request a correction": correction_request,
    "report a wrong invoice": report_invoice,
    "end another session": end_session,
    "end every other session": end_other_sessions,
    "change the password": change_password,
    "take in a paper invoice": paper_intake,
    "publish new terms of use": publish_terms,
    "accept the terms of use": accept_terms,
    "sign out": sign_out,
    "enter the one-time code": one_time_code,
    "unlock a locked session": unlock,
    "file an identity request": identity_request_filing,
}
