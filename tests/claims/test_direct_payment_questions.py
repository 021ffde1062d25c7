"""The fund's question about a direct-payment claim goes to the doctor who sent it, who answers
on the invoice's page; a rejection is announced to the doctor too. The patient, who paid only their
share, is not asked and cannot answer in the doctor's place."""

from __future__ import annotations

import io

from portal.claims import review, states
from portal.extensions import db
from portal.models import AuditEvent, Claim, ClaimEvent, ClaimState, Notification, OutboxMessage
from portal.web import form_fields
from tests.fixtures.claims import direct_question, new_claim
from tests.fixtures.clients import page, signed_in_as, text_of, url_for
from tests.fixtures.factories import new_doctor, new_patient, new_staff
from tests.fixtures.invoices import direct_doctor, new_invoice
from tests.fixtures.pdfs import scan

DOCTOR_EMAIL = "cabinet.wagner@example.lu"


def _doctor(**fields):
    doctor = direct_doctor(**fields)
    doctor.profile.email = DOCTOR_EMAIL
    doctor.account.preferred_language = "de"
    db.session.commit()
    return doctor


def _state(claim: Claim) -> str:
    db.session.expire_all()
    return db.session.get(Claim, claim.id).state


def _mail(kind: str) -> list[OutboxMessage]:
    return db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.kind == kind)).all()


def test_the_agent_asks_the_doctor_and_the_patient_is_not_asked(app):
    patient, doctor, staff = new_patient(), _doctor(), new_staff()
    claim = states.active_claim_of(new_invoice(patient, doctor, settlement="direct").id)
    review.take_up(claim, staff.profile)
    db.session.commit()
    agent = signed_in_as(app, staff, lang="en")
    shown = text_of(agent.get(url_for("cns.claim", claim_id=claim.id)))
    assert "Ask the doctor for information" in shown and "Ask the patient" not in shown
    asked = agent.post(url_for("cns.request_info", claim_id=claim.id),
                       data={"version": claim.version, "question": "Which act was done?"}, follow_redirects=True)
    assert "Your question was sent to the doctor." in text_of(asked)
    assert "Waiting for the doctor's answer" in text_of(asked)
    assert _state(claim) == ClaimState.INFO_REQUESTED
    (mail,) = _mail("direct_question")
    assert mail.recipient == DOCTOR_EMAIL and mail.language == "de" and mail.patient_id is None
    assert url_for("doctor.invoice", invoice_id=claim.invoice_id) in mail.body
    assert "Which act" not in mail.body and patient.profile.surname not in mail.body  # says only where to look
    assert db.session.scalar(db.select(db.func.count()).select_from(Notification)) == 0
    assert not db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.patient_id == patient.profile.id)).all()


def test_the_question_names_who_is_asked_although_the_empty_fields_are_written_once(app):
    # The decision forms' empty fields are kept once written (portal/web/form_fields.py): the
    # patient's claim, read first, must not lend its labels to the doctor's, nor the reverse.
    patient, doctor, staff = new_patient(), _doctor(), new_staff()
    own = new_claim(patient, new_doctor(), staff, state="in_review")
    direct = states.active_claim_of(new_invoice(patient, doctor, settlement="direct").id)
    review.take_up(direct, staff.profile)
    db.session.commit()
    agent = signed_in_as(app, staff, lang="en")
    for _ in range(2):
        for claim, asked in ((own, "patient"), (direct, "doctor")):
            shown = page(agent.get(url_for("cns.claim", claim_id=claim.id)))
            assert shown.select_one("label[for=question]").get_text(strip=True) == f"Question for the {asked}"
            checked = shown.select_one("label[for=iban_checked]")
            assert checked is None or f"belongs to the {asked}" in checked.get_text()
    assert any(key[1] == "question" for key in form_fields._KEPT)


def test_the_doctor_reads_the_question_and_answers_with_a_document(app):
    patient, doctor, staff = new_patient(), _doctor(), new_staff()
    claim = direct_question(patient, doctor, staff, "Which act was done on the second visit?")
    client = signed_in_as(app, doctor, lang="en")
    url = url_for("doctor.invoice", invoice_id=claim.invoice_id)
    shown = text_of(client.get(url))
    assert "The health fund asks for more information" in shown and "Which act was done on the second visit?" in shown
    answer = url_for("doctor.answer_question", invoice_id=claim.invoice_id)
    assert page(client.get(url)).select_one(f'form[action="{answer}"][enctype="multipart/form-data"]')
    done = client.post(answer, data={"message": "A consultation, C1.",
                                     "document": (io.BytesIO(scan()), "note.pdf")},
                       content_type="multipart/form-data")
    assert done.status_code == 303 and done.headers["Location"] == url
    assert _state(claim) == ClaimState.IN_REVIEW
    event = db.session.scalars(db.select(ClaimEvent).where(ClaimEvent.claim_id == claim.id,
                                                           ClaimEvent.kind == "info_answered")).one()
    assert (event.actor_role, event.message) == ("doctor", "A consultation, C1.") and event.document_name
    audited = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == "claim.info_answered")).one()
    assert (audited.actor_account_id, audited.actor_role) == (doctor.account.id, "doctor")
    agent = text_of(signed_in_as(app, staff, lang="en").get(url_for("cns.claim", claim_id=claim.id)))
    assert "Doctor's answer" in agent and "A consultation, C1." in agent and "Open the attached document" in agent


def test_an_empty_answer_is_refused_and_nothing_is_saved(app):
    patient, doctor, staff = new_patient(), _doctor(), new_staff()
    claim = direct_question(patient, doctor, staff)
    client = signed_in_as(app, doctor, lang="fr")
    refused = client.post(url_for("doctor.answer_question", invoice_id=claim.invoice_id), data={"message": "  "})
    assert refused.status_code == 400 and page(refused).select_one("#message-error")
    assert page(refused).select_one(".error-summary")
    assert _state(claim) == ClaimState.INFO_REQUESTED


def test_a_second_answer_changes_nothing(app):
    patient, doctor, staff = new_patient(), _doctor(), new_staff()
    claim = direct_question(patient, doctor, staff)
    client = signed_in_as(app, doctor, lang="en")
    url = url_for("doctor.answer_question", invoice_id=claim.invoice_id)
    assert client.post(url, data={"message": "First."}).status_code == 303
    again = client.post(url, data={"message": "Second."}, follow_redirects=True)
    assert "already answered" in text_of(again)
    answers = db.session.scalars(db.select(ClaimEvent.message).where(ClaimEvent.kind == "info_answered")).all()
    assert answers == ["First."]


def test_another_doctor_cannot_answer(app):
    patient, doctor, staff = new_patient(), _doctor(), new_staff()
    claim = direct_question(patient, doctor, staff)
    other = signed_in_as(app, direct_doctor(name="Dr Paul Other"))
    response = other.post(url_for("doctor.answer_question", invoice_id=claim.invoice_id), data={"message": "Me."})
    assert response.status_code == 404
    assert _state(claim) == ClaimState.INFO_REQUESTED


def test_the_patient_cannot_answer_in_the_doctors_place(app):
    patient, doctor, staff = new_patient(), _doctor(), new_staff()
    claim = direct_question(patient, doctor, staff)
    client = signed_in_as(app, patient, lang="en")
    shown = client.get(url_for("patient.claim", claim_id=claim.id))
    assert "asked your doctor for more information" in text_of(shown)
    assert not page(shown).select_one(f'form[action="{url_for("patient.answer_claim", claim_id=claim.id)}"]')
    refused = client.post(url_for("patient.answer_claim", claim_id=claim.id), data={"message": "I answer."},
                          follow_redirects=True)
    assert "Your doctor answers the fund's questions" in text_of(refused)
    assert _state(claim) == ClaimState.INFO_REQUESTED


def test_the_doctors_payments_page_points_to_the_question(app):
    patient, doctor, staff = new_patient(), _doctor(), new_staff()
    claim = direct_question(patient, doctor, staff)
    shown = text_of(signed_in_as(app, doctor, lang="en").get(url_for("doctor.payments")))
    assert "The fund asked you a question about 1 invoice" in shown and claim.invoice.number in shown


def test_a_rejection_is_announced_to_the_doctor_and_the_patient(app):
    patient, doctor, staff = new_patient(), _doctor(), new_staff()
    claim = states.active_claim_of(new_invoice(patient, doctor, settlement="direct").id)
    review.take_up(claim, staff.profile)
    review.reject(claim, staff.profile, version=claim.version, reason="duplicate")
    db.session.commit()
    (mail,) = _mail("direct_rejected")
    assert mail.recipient == DOCTOR_EMAIL and url_for("doctor.invoice", invoice_id=claim.invoice_id) in mail.body
    notice = db.session.scalars(db.select(Notification).where(Notification.claim_id == claim.id)).one()
    assert notice.patient_id == patient.profile.id and notice.kind == "rejected"
    doctor_page = text_of(signed_in_as(app, doctor, lang="en").get(url_for("doctor.invoice", invoice_id=claim.invoice_id)))
    assert "You may bill the patient" in doctor_page
    patient_page = text_of(signed_in_as(app, patient, lang="en").get(url_for("patient.invoice", invoice_id=claim.invoice_id)))
    assert "Your doctor may ask you to pay the rest" in patient_page


def test_a_claim_the_patient_shared_is_still_asked_of_the_patient(app):
    patient, doctor, staff = new_patient(), _doctor(), new_staff()
    shared = new_claim(patient, doctor, staff, state="info_requested")
    assert not _mail("direct_question")
    notice = db.session.scalars(db.select(Notification).where(Notification.claim_id == shared.id)).one()
    assert notice.kind == "info_requested"
