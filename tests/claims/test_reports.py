"""A patient reports a wrong invoice; the doctor voids it and issues a corrected one."""

from __future__ import annotations

import pytest

from portal.core import clock
from portal.extensions import db
from portal.models import Invoice, InvoiceReport
from tests.fixtures.clients import page, sign_in, text_of, url_for
from tests.fixtures.queries import count_queries


@pytest.fixture
def clients(app, people):
    patient_client, doctor_client = app.test_client(), app.test_client()
    sign_in(patient_client, people["patient"])
    sign_in(doctor_client, people["doctor"])
    return patient_client, doctor_client


def test_report_void_and_reissue(clients, people, make_invoice):
    patient_client, doctor_client = clients
    patient, doctor = people["patient"], people["doctor"]
    wrong = make_invoice(patient, doctor, acts=(("C1", 1), ("K1", 1)))

    # The patient tells the doctor.
    report_url = url_for("patient.report_invoice", invoice_id=wrong.id)
    assert "Report an error to the doctor" in text_of(patient_client.get(report_url + "?lang=en"))
    empty = patient_client.post(report_url, data={"message": "  "})
    assert empty.status_code == 400 and page(empty).select_one("#message-error") is not None
    too_long = patient_client.post(report_url, data={"message": "x" * 1001})
    assert too_long.status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(InvoiceReport)) == 0
    sent = patient_client.post(report_url, data={"message": "K1 was not done.\nOnly the consultation."})
    assert sent.status_code == 303 and sent.headers["Location"] == url_for("patient.invoice", invoice_id=wrong.id)
    assert "You told your doctor about an error" in text_of(
        patient_client.get(url_for("patient.invoice", invoice_id=wrong.id, lang="en")))

    # The doctor sees it on the home page and in the list.
    assert "1 report from a patient about an invoice waits for you" in text_of(doctor_client.get(url_for("doctor.home", lang="en")))
    listing = doctor_client.get(url_for("doctor.reports", lang="en"))
    shown = text_of(listing)
    for expected in (wrong.number, patient.profile.full_name, "K1 was not done."):
        assert expected in shown, expected
    assert page(listing).find("a", href=url_for("doctor.invoice", invoice_id=wrong.id)) is not None

    # Void, then reissue from the invoice page.
    doctor_client.post(url_for("doctor.void_invoice", invoice_id=wrong.id), data={"reason": "K1 not done"})
    detail = page(doctor_client.get(url_for("doctor.invoice", invoice_id=wrong.id, lang="en")))
    reissue = detail.find("a", string="Issue a corrected invoice")["href"]
    assert reissue == url_for("doctor.new_invoice", replaces=wrong.id)
    form = page(doctor_client.get(reissue))
    assert form.select_one("#matricule")["value"] == wrong.patient_matricule
    assert form.select_one("#service_date")["value"] == wrong.service_date.isoformat()
    assert form.select_one("input[name=replaces]")["value"] == str(wrong.id)
    issued = doctor_client.post(url_for("doctor.new_invoice"), data={
        "matricule": wrong.patient_matricule, "service_date": wrong.service_date.isoformat(),
        "lines-0-code": "C1", "lines-0-quantity": "1", "paid_on_site": "yes", "payer_is_patient": "yes",
        "replaces": str(wrong.id), "submit": "1",
    })
    assert issued.status_code == 303
    corrected = db.session.scalar(db.select(Invoice).where(Invoice.replaces_id == wrong.id))
    assert corrected is not None and corrected.total_cents == 5770

    # The report is closed and both invoices point at each other, for both roles.
    assert db.session.scalar(db.select(InvoiceReport)).closed_at is not None
    assert "0 reports from patients about invoices wait for you" in text_of(doctor_client.get(url_for("doctor.home", lang="en")))
    for client, endpoint in ((doctor_client, "doctor.invoice"), (patient_client, "patient.invoice")):
        old = page(client.get(url_for(endpoint, invoice_id=wrong.id, lang="en")))
        assert old.find("a", href=url_for(endpoint, invoice_id=corrected.id)) is not None
        new = page(client.get(url_for(endpoint, invoice_id=corrected.id, lang="en")))
        assert new.find("a", href=url_for(endpoint, invoice_id=wrong.id)) is not None


def test_a_foreign_or_live_invoice_cannot_be_replaced(clients, people, make_doctor, make_patient, make_invoice):
    _, doctor_client = clients
    patient, doctor = people["patient"], people["doctor"]
    live = make_invoice(patient, doctor)
    foreign = make_invoice(patient, make_doctor(name="Dr Other"))
    for target in (live, foreign):
        assert doctor_client.get(url_for("doctor.new_invoice", replaces=target.id)).status_code == 404
    data = {
        "matricule": patient.profile.matricule, "service_date": clock.today().isoformat(),
        "lines-0-code": "C1", "lines-0-quantity": "1", "paid_on_site": "yes", "payer_is_patient": "yes", "submit": "1",
    }
    assert doctor_client.post(url_for("doctor.new_invoice"), data={**data, "replaces": str(foreign.id)}).status_code == 404
    for ignored in ("abc", "²", "99999999999999"):
        assert doctor_client.get(url_for("doctor.new_invoice", replaces=ignored)).status_code == 200
    tampered = doctor_client.post(url_for("doctor.new_invoice"), data={**data, "replaces": "99999999999999"})
    assert tampered.status_code == 400
    # A voided invoice of one patient cannot be "corrected" for another.
    doctor_client.post(url_for("doctor.void_invoice", invoice_id=live.id), data={"reason": "typo"})
    other = make_patient(given_name="Eve")
    refused = doctor_client.post(url_for("doctor.new_invoice"), data={
        **data, "matricule": other.profile.matricule, "replaces": str(live.id)})
    assert refused.status_code == 400 and page(refused).select_one("#matricule-error") is not None
    assert db.session.scalar(db.select(db.func.count()).select_from(Invoice).where(Invoice.replaces_id.is_not(None))) == 0


def test_the_report_list_costs_the_same_for_one_or_many(clients, people, make_invoice):
    patient_client, doctor_client = clients
    clock.freeze(clock.now())  # no session activity write in the middle of the count
    counts = []
    for _ in range(2):
        invoice = make_invoice(people["patient"], people["doctor"])
        patient_client.post(url_for("patient.report_invoice", invoice_id=invoice.id), data={"message": "Wrong"})
        doctor_client.get(url_for("doctor.reports"))
        with count_queries() as queries:
            doctor_client.get(url_for("doctor.reports"))
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 8, counts


def test_a_doctor_sees_only_their_own_reports(clients, people, make_doctor, make_invoice):
    patient_client, doctor_client = clients
    other = make_invoice(people["patient"], make_doctor(name="Dr Other"))
    patient_client.post(url_for("patient.report_invoice", invoice_id=other.id), data={"message": "Wrong date"})
    shown = text_of(doctor_client.get(url_for("doctor.reports", lang="en")))
    assert "Wrong date" not in shown and "No open report" in shown
