"""Direct payment through the pages: the doctor's form, the fund's queue, the doctor's payments
(page, remittance PDF, CSV) and the patient's invoice; each person sees only their own."""

from __future__ import annotations

import io

from pypdf import PdfReader

from portal.claims import review, states
from portal.core import clock
from portal.extensions import db
from portal.models import AuditEvent, Claim, Invoice
from tests.fixtures.clients import page, signed_in_as, step_up, text_of, url_for
from tests.fixtures.factories import new_doctor, new_patient, new_staff
from tests.fixtures.invoices import direct_doctor, new_invoice


def _form(patient, **extra):
    data = {
        "matricule": patient.matricule, "service_date": clock.today().isoformat(),
        "lines-0-code": "C1", "lines-0-quantity": "1", "paid_on_site": "yes", "payer_is_patient": "yes",
        "settlement": "direct", "consent_by": "patient", "consent_method": "signed", "submit": "1",
    }
    data.update(extra)
    return data


def _accepted(patient, doctor, staff):
    invoice = new_invoice(patient, doctor, settlement="direct")
    claim = states.active_claim_of(invoice.id)
    review.take_up(claim, staff.profile)
    review.accept(claim, staff.profile, version=claim.version)
    db.session.commit()
    return invoice, claim


def test_the_doctor_issues_a_direct_payment_invoice_from_the_form(app):
    patient, doctor, staff = new_patient(), direct_doctor(), new_staff()
    client = signed_in_as(app, doctor, lang="en")
    preview = dict(_form(patient.profile), preview="1")
    preview.pop("submit")
    shown = text_of(client.post(url_for("doctor.new_invoice"), data=preview))
    assert "Paid by the fund to the doctor" in shown and "50.78" in shown and "6.92" in shown
    response = client.post(url_for("doctor.new_invoice"), data=_form(patient.profile))
    assert response.status_code == 303
    invoice = db.session.scalar(db.select(Invoice))
    assert invoice.is_direct_payment and (invoice.direct_consent_by, invoice.direct_consent_method) == ("patient", "signed")
    claim = db.session.scalar(db.select(Claim))
    assert claim.is_direct_payment and claim.iban == doctor.profile.iban
    queue = text_of(signed_in_as(app, staff, lang="en").get(url_for("cns.claims")))
    assert claim.reference in queue and "Direct payment" in queue


def test_without_the_patients_agreement_nothing_is_issued(app):
    patient, doctor = new_patient(), direct_doctor()
    client = signed_in_as(app, doctor)
    response = client.post(url_for("doctor.new_invoice"), data=_form(patient.profile, consent_method=""))
    assert response.status_code == 400 and page(response).select_one("#consent_method-error")
    assert db.session.scalar(db.select(Invoice)) is None


def test_a_doctor_without_bank_account_is_told_why(app):
    patient, doctor = new_patient(), new_doctor()
    client = signed_in_as(app, doctor, lang="en")
    response = client.post(url_for("doctor.new_invoice"), data=_form(patient.profile))
    assert response.status_code == 400 and "Record your bank account first" in text_of(response)
    assert db.session.scalar(db.select(Invoice)) is None


def test_the_doctor_sees_the_payment_run_its_pdf_and_the_csv(app):
    patient = new_patient(given_name="=HYPERLINK(1)")
    doctor, staff = direct_doctor(), new_staff()
    invoice, claim = _accepted(patient, doctor, staff)
    client = signed_in_as(app, doctor, lang="en")
    shown = text_of(client.get(url_for("doctor.payments")))
    assert invoice.number in shown and "50.78" in shown
    pdf = client.get(url_for("doctor.remittance_pdf", statement_id=claim.statement.id))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    words = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert invoice.number in words and claim.reference in words
    csv_text = client.get(url_for("doctor.payments_csv")).data.decode("utf-8-sig")
    assert claim.reference in csv_text and "'=HYPERLINK" in csv_text and ",50.78" in csv_text


def test_another_doctor_sees_none_of_it(app):
    patient, doctor, staff = new_patient(), direct_doctor(), new_staff()
    invoice, claim = _accepted(patient, doctor, staff)
    other = signed_in_as(app, direct_doctor(name="Dr Paul Other"))
    assert invoice.number not in text_of(other.get(url_for("doctor.payments")))
    assert other.get(url_for("doctor.remittance_pdf", statement_id=claim.statement.id)).status_code == 404
    assert claim.reference not in other.get(url_for("doctor.payments_csv")).data.decode("utf-8-sig")
    assert other.get(url_for("doctor.invoice", invoice_id=invoice.id)).status_code == 404


def test_the_patient_sees_both_amounts_and_has_nothing_to_share(app):
    patient, doctor = new_patient(), direct_doctor()
    invoice = new_invoice(patient, doctor, settlement="direct")
    claim = states.active_claim_of(invoice.id)
    client = signed_in_as(app, patient, lang="en")
    shown = text_of(client.get(url_for("patient.invoice", invoice_id=invoice.id)))
    assert "Paid by you: €6.92" in shown.replace("\xa0", " ") or "Paid by you: 6.92" in shown.replace("\xa0", " ")
    assert "50.78" in shown and claim.reference in shown
    assert "Share with my health fund" not in shown
    # Neither sharing it again nor withdrawing the doctor's claim changes anything.
    client.post(url_for("patient.share"), data={"invoice": str(invoice.id), "confirm": "1"})
    client.post(url_for("patient.withdraw_claim", claim_id=claim.id))
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).state == "shared"
    assert db.session.scalar(db.select(db.func.count()).select_from(Claim)) == 1


def test_the_doctor_records_a_bank_account_only_with_step_up(app):
    doctor = new_doctor()
    client = signed_in_as(app, doctor)
    iban = "LU280019400644750000"
    refused = client.post(url_for("doctor.bank_account"), data={"iban": iban, "password": "wrong", "code": "000000"})
    assert refused.status_code == 400
    db.session.refresh(doctor.profile)
    assert doctor.profile.iban is None
    done = client.post(url_for("doctor.bank_account"), data={"iban": iban, **step_up(doctor)})
    assert done.status_code == 303
    db.session.refresh(doctor.profile)
    assert doctor.profile.iban == iban and doctor.profile.iban_changed_at is not None
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.event == "doctor.bank_account_changed"))


def test_a_recently_changed_doctor_account_needs_the_agents_check(app):
    patient, doctor, staff = new_patient(), direct_doctor(), new_staff()
    doctor.profile.iban_changed_at = clock.now()
    db.session.commit()
    claim = states.active_claim_of(new_invoice(patient, doctor, settlement="direct").id)
    review.take_up(claim, staff.profile)
    assert review.iban_is_new(claim)


def test_the_agent_is_told_to_check_the_doctors_new_account_not_the_patients(app):
    patient, doctor, staff = new_patient(), direct_doctor(), new_staff()
    doctor.profile.iban_changed_at = clock.now()
    db.session.commit()
    claim = states.active_claim_of(new_invoice(patient, doctor, settlement="direct").id)
    review.take_up(claim, staff.profile)
    db.session.commit()
    client = signed_in_as(app, staff, lang="en")
    shown = text_of(client.get(url_for("cns.claim", claim_id=claim.id)))
    assert "The doctor's bank account was changed on" in shown and "belongs to the doctor" in shown
    assert "The patient's bank account" not in shown and "belongs to the patient" not in shown
    refused = client.post(url_for("cns.accept_claim", claim_id=claim.id),
                          data={"version": str(claim.version), "amount": "50.78"})
    assert refused.status_code == 400
    assert "check that it belongs to the doctor" in text_of(refused)
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).state == "in_review"


def test_nothing_tells_the_patient_of_a_direct_payment_to_expect_a_reimbursement(app):
    patient, doctor = new_patient(), direct_doctor()
    invoice = new_invoice(patient, doctor, settlement="direct")
    client = signed_in_as(app, patient, lang="en")
    listed = text_of(client.get(url_for("patient.invoices")))
    assert "paid by your fund to the doctor" in listed and "expected reimbursement" not in listed
    shown = text_of(client.get(url_for("patient.invoice", invoice_id=invoice.id)))
    assert "Expected reimbursement" not in shown and "Paid at the practice on" not in shown
    assert "Paid by the fund to the doctor" in shown and "the fund pays the rest to the doctor" in shown
    printed = client.get(url_for("patient.invoice_pdf_download", invoice_id=invoice.id))
    text = PdfReader(io.BytesIO(printed.data)).pages[0].extract_text()
    assert "Expected reimbursement" not in text and "no reimbursement to expect" in text
    assert "Paid by your fund to the doctor" in text and "50.78" in text
