"""A portal with something on every page: one of each thing, then `grow` adds many more.

Built through the domain functions the pages call, and committed for real: the query
counts are measured once for the whole module (see test_query_counts.py).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import inspect

from portal import audit
from portal.accounts import guardian_register, security_alerts, terms
from portal.activation import codes
from portal.claims import review, sharing, states
from portal.core import clock, jobs
from portal.documents import uploads
from portal.extensions import db
from portal.helpdesk import requests as helpdesk
from portal.invoicing import invoices, nomenclature
from portal.messaging import notify
from portal.models import (
    Account,
    Claim,
    ClaimEvent,
    DataExport,
    GuardianLink,
    IdentityRequest,
    NoticeKind,
    OutboxMessage,
    UserSession,
)
from portal.privacy import export, rights
from tests.fixtures.activation import awaiting_check, register_guardian, waiting_reactivation
from tests.fixtures.claims import new_claim
from tests.fixtures.clients import sign_in
from tests.fixtures.factories import new_doctor, new_patient, new_staff
from tests.fixtures.images import png
from tests.fixtures.invoices import new_invoice

CLAIM_STATES = ("shared", "in_review", "info_requested", "answered", "accepted", "rejected", "withdrawn")
CHILD_BIRTH = date(2016, 6, 2)
REGISTRY_BIRTH = date(1975, 3, 9)


@dataclass
class World:
    patient: object
    child: object
    doctor: object
    staff: object
    unenrolled_staff: object  # an operator-created account that still has to enrol
    clients: dict = field(default_factory=dict)  # role (and "child_space") -> signed-in test client
    claims: dict = field(default_factory=dict)  # claim state -> one of the patient's claims
    ids: dict = field(default_factory=dict)  # what the URLs need, read while the objects are fresh
    visit_at: datetime | None = None  # the clock while pages are measured


def _identity_request(matricule: str, surname: str, birth: date) -> IdentityRequest:
    filed = IdentityRequest(
        reference=secrets.token_urlsafe(18), matricule=matricule, surname=surname, given_name="Paul",
        birth_date=birth, mobile="+352621000000", document_name=uploads.store(png()), document_type="image/png",
    )
    db.session.add(filed)
    return filed


def _claim(w: World, state: str, patient=None):
    patient = patient or w.patient
    if state != "answered":
        return new_claim(patient, w.doctor, w.staff, state=state)
    claim = new_claim(patient, w.doctor, w.staff, state="info_requested")
    answering = patient.account or w.patient.account  # a child's claim is answered by the parent
    sharing.answer(claim, "Here is the prescription.", by=answering, document=png(), filename="rx.png")
    db.session.commit()
    return claim


def _corrected_invoice(w: World):
    """A voided invoice and the one that replaced it, so the invoice pages show both links."""
    voided = new_invoice(w.patient, w.doctor, days_ago=4)
    invoices.void(voided, "Wrong act.")
    service = clock.today() - timedelta(days=4)
    draft = invoices.Draft(patient=w.patient.profile, service_date=service, paid_on_site=True, payer_is_patient=True,
                           lines=[(nomenclature.act_on("C1", service), 1)], replaces=voided)
    replacement = invoices.issue(w.doctor.profile, draft)
    db.session.commit()
    return voided, replacement


def _accept_terms_everywhere() -> None:
    version = terms.current_version()
    for account in db.session.scalars(db.select(Account)):
        terms.decide(account, version, accepted=True)
    db.session.commit()


def build(app) -> World:
    w = World(
        patient=new_patient(given_name="Anne", surname="Schmit"),
        child=new_patient(given_name="Léa", surname="Schmit", birth=CHILD_BIRTH, with_account=False),
        doctor=new_doctor(),
        staff=new_staff(administrator=True),  # reaches the administrators' pages too
        unenrolled_staff=new_staff(enrolled=False),
    )
    registry_only = new_patient(given_name="Paul", surname="Weber", birth=REGISTRY_BIRTH, with_account=False)
    db.session.add(GuardianLink(parent_account_id=w.patient.account.id, child_patient_id=w.child.profile.id))
    terms.publish(terms.bundled_texts(1))
    _accept_terms_everywhere()

    for state in CLAIM_STATES:
        w.claims[state] = _claim(w, state)
    unshared = new_invoice(w.patient, w.doctor, days_ago=10)
    sharing.report_invoice(unshared, "The date is wrong.", by=w.patient.account)
    voided, replacement = _corrected_invoice(w)
    # A direct payment the fund made to the doctor (their payments page and remittance statement).
    w.doctor.profile.iban = "LU280019400644750000"
    direct = states.active_claim_of(new_invoice(w.patient, w.doctor, days_ago=9, settlement="direct").id)
    review.take_up(direct, w.staff.profile)
    direct_statement = review.accept(direct, w.staff.profile, version=direct.version)
    child_claim = _claim(w, "accepted", patient=w.child)
    # The doctor's code for someone without an account yet (the activation pages), and for the child.
    _code, token = codes.issue(registry_only.profile, doctor=w.doctor.profile, document_type="identity_card",
                               document_last4="AB12", mobile="+352621123456")
    register_guardian(w.child.profile, w.patient.profile)
    # A doctor's request for a link the register does not hold (the staff's parental links page).
    guardian_register.request_link(w.child.profile, registry_only.profile, w.doctor.profile)
    _code, child_token = codes.issue(w.child.profile, doctor=w.doctor.profile, document_type="passport",
                                     document_last4="8765", mobile="+352621123456", guardian=w.patient.profile)
    # Someone the register cannot reach (the page that waits for staff), one whose activation
    # already waits for staff, and a working account someone activated anew (the staff's checks).
    unreachable = new_patient(given_name="Noé", surname="Faber", birth=REGISTRY_BIRTH, with_account=False)
    unreachable.profile.mobile = None
    _code, unreachable_token = codes.issue(unreachable.profile, doctor=w.doctor.profile,
                                           document_type="identity_card", document_last4="AB12",
                                           mobile="+352621123456")
    checked = new_patient(given_name="Lou", surname="Faber", with_account=False)
    checked.profile.mobile = None
    awaiting_check(checked.profile, w.doctor.profile)
    waiting_reactivation(new_patient(given_name="Max", surname="Lost").account)
    filed = _identity_request(registry_only.profile.matricule, "Weber", REGISTRY_BIRTH)
    correction = rights.request_correction(w.patient.profile, "name", "My name is Anne Schmit-Weber.",
                                            by=w.patient.account)
    # A message to the fund with a document and an answer (the help desk's pages).
    question = helpdesk.file("claim", "When is my claim paid?", account=w.patient.account, patient=w.patient.profile,
                             document=(png(), "scan.png"))
    helpdesk.reply(question, w.staff.profile, "It was paid on Monday.")
    helpdesk.file("invoice", "A code is missing.", account=w.doctor.account)
    _made, export_token = export.create(w.patient.profile, by=w.patient.account, language="en")
    notify.send_sms("+352621123456", "Your code is ready.", patient_id=w.patient.profile.id)
    security_alerts.announce(w.patient.account, w.patient.profile, "password_changed")
    db.session.commit()
    jobs.run_ready()  # as after the requests: the export built, the PDFs of the documents issued stored
    # The newest alert (the export job wrote its "ready" message after it).
    alert = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.body.contains("/not-me/"))
                               .order_by(OutboxMessage.id.desc())).first()

    answered = w.claims["answered"]
    w.ids = {
        "unshared": unshared.id, "voided": voided.id, "replacement": replacement.id,
        "child_claim": child_claim.id, "child_invoice": child_claim.invoice_id, "child": w.child.profile.id,
        "patient_login": w.patient.login, "patient_account": w.patient.account.id,
        "unenrolled_login": w.unenrolled_staff.login, "unenrolled_account": w.unenrolled_staff.account.id,
        "doctor": w.doctor.profile.id, "doctor_code": w.doctor.profile.provider_code,
        "registry_matricule": registry_only.profile.matricule, "registry_birth": REGISTRY_BIRTH.isoformat(),
        "activation_token": token, "unreachable_token": unreachable_token, "child_token": child_token, "child_birth": CHILD_BIRTH.isoformat(),
        "identity_request": filed.id, "identity_reference": filed.reference,
        "data_request": correction.id, "export_token": export_token, "help_request": question.id,
        "answer_document": next(e.id for e in answered.events if e.document_name),
        "queue_after": claims_keyset(w.claims["shared"]),
        **{f"claim_{state}": claim.id for state, claim in w.claims.items()},
        **{f"invoice_{state}": claim.invoice_id for state, claim in w.claims.items()},
        "statement_claim": w.claims["accepted"].id,
        "direct_statement": direct_statement.id, "direct_invoice": direct.invoice_id,
        "alert_token": re.search(r"/not-me/(\S+)", alert.body)[1],
    }

    for role, person in (("patient", w.patient), ("doctor", w.doctor), ("cns", w.staff)):
        w.clients[role] = app.test_client()
        assert sign_in(w.clients[role], person).status_code == 303
    # The parent again, in another browser, in the child's space.
    w.clients["child_space"] = app.test_client()
    assert sign_in(w.clients["child_space"], w.patient).status_code == 303
    switched = w.clients["child_space"].post("/patient/space", data={"space": str(w.child.profile.id)})
    assert switched.status_code == 303
    return w


def remove_files() -> None:
    """The documents the world stored: its rows are rolled back, its files would stay behind."""
    names = [
        *db.session.scalars(db.select(IdentityRequest.document_name)),
        *db.session.scalars(db.select(ClaimEvent.document_name)),
        *db.session.scalars(db.select(DataExport.file_name)),
    ]
    for name in names:
        uploads.delete(name)


def claims_keyset(claim) -> str:
    """The queue's `after` value for a claim, as the page writes it (cns/claims.py)."""
    from portal.web.cns.claims import _keyset_text

    return _keyset_text((claim.shared_at, claim.id))


def _attach(person) -> None:
    """Load a Person's rows into the current session again (measuring pages closes it)."""
    person.profile = db.session.get(type(person.profile), inspect(person.profile).identity)
    if person.account is not None:
        person.account = db.session.get(Account, inspect(person.account).identity)


def grow(w: World, n: int = 30) -> None:
    """Many more of everything the pages list: the counts measured afterwards must not change."""
    for person in (w.patient, w.child, w.doctor, w.staff):
        _attach(person)
    accepted = db.session.get(Claim, w.ids["claim_accepted"])
    for i in range(n):
        _claim(w, CLAIM_STATES[i % len(CLAIM_STATES)])
        new_invoice(w.patient, w.doctor, days_ago=5 + i % 20)
        childs = _claim(w, CLAIM_STATES[i % len(CLAIM_STATES)], patient=w.child)
        other = new_patient(given_name="Ben", surname=f"Other{i}")
        _claim(w, CLAIM_STATES[i % len(CLAIM_STATES)], patient=other)
        sharing.report_invoice(new_invoice(w.patient, w.doctor), f"Wrong amount {i}.", by=w.patient.account)
        codes.issue(other.profile, doctor=w.doctor.profile, document_type="identity_card", document_last4="AB12",
                    mobile="+352621123456")
        _identity_request(other.profile.matricule, other.profile.surname, other.profile.birth_date)
        rights.request_correction(w.patient.profile, "name", f"Correction {i}.", by=w.patient.account)
        states.notify(w.patient.profile.id, NoticeKind.STATEMENT_AVAILABLE, claim=accepted)
        states.notify(w.child.profile.id, NoticeKind.SENT_AUTOMATICALLY, claim=childs)
        for actor in (w.doctor.account, w.staff.account):
            audit.record(audit.INVOICE_VIEWED, actor=actor, patient_id=w.patient.profile.id,
                         invoice_id=w.ids["unshared"])
        db.session.add(UserSession(id=secrets.token_hex(32), account_id=w.patient.account.id, ip="192.0.2.1",
                                   device=f"Browser {i}"))
        notify.send_sms("+352621123456", f"Message {i}.", patient_id=w.patient.profile.id)
        db.session.commit()
        jobs.run_ready()
    # More children in the account menu, and more versions of the terms (each accepted).
    for i in range(3):
        child = new_patient(given_name=f"Kid{i}", surname="Schmit", birth=CHILD_BIRTH + timedelta(days=i + 1),
                            with_account=False)
        db.session.add(GuardianLink(parent_account_id=w.patient.account.id, child_patient_id=child.profile.id))
        _claim(w, "accepted", patient=child)
    for _ in range(3):
        terms.publish(terms.bundled_texts(1))
        _accept_terms_everywhere()
