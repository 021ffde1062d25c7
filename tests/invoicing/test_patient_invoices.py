"""The patient reads invoices, downloads PDFs; paper QR codes are signed."""

import io
from datetime import timedelta

import pytest
import zxingcpp
from pypdf import PdfReader

from portal.claims import qr
from portal.core import clock
from portal.extensions import db
from portal.invoicing import invoices
from portal.models import AuditEvent, Invoice
from tests.fixtures.clients import page, sign_in, text_of


def test_the_list_shows_total_refund_and_state(patient_client, make_invoice, people):
    make_invoice(people["patient"], people["doctor"], acts=(("C1", 1), ("K1", 1)))
    listing = text_of(patient_client.get("/patient/invoices?lang=en"))
    assert people["doctor"].profile.name in listing
    assert "85.22 €" in listing and "75.00 €" in listing and "Issued" in listing


def test_the_detail_explains_the_numbers(patient_client, make_invoice, people):
    invoice = make_invoice(people["patient"], people["doctor"])
    response = patient_client.get(f"/patient/invoices/{invoice.id}?lang=en")
    shown = text_of(response)
    for expected in (invoice.number, people["doctor"].login, invoice.patient_matricule, "C1",
                     "GP consultation at the surgery", "57.70 €", "88 %", "50.78 €", "6.92 €", "Paid at the practice"):
        assert expected in shown, expected
    viewed = db.session.scalar(db.select(AuditEvent).where(AuditEvent.event == "invoice.viewed"))
    assert viewed.patient_id == invoice.patient_id and viewed.actor_account_id == people["patient"].account.id


def test_descriptions_follow_the_language(patient_client, make_invoice, people):
    invoice = make_invoice(people["patient"], people["doctor"])
    assert "Konsultation" in text_of(patient_client.get(f"/patient/invoices/{invoice.id}?lang=de"))


def test_the_pdf_holds_the_invoice_and_a_signed_qr(patient_client, make_invoice, people):
    invoice = make_invoice(people["patient"], people["doctor"], acts=(("C1", 1), ("K4", 2)))
    response = patient_client.get(f"/patient/invoices/{invoice.id}.pdf?lang=fr")
    assert response.mimetype == "application/pdf" and response.headers["Cache-Control"] == "no-store"
    reader = PdfReader(io.BytesIO(response.data))
    text = reader.pages[0].extract_text()
    for expected in (invoice.number, invoice.patient_matricule, "C1", "K4", "78,34"):
        assert expected in text, expected
    image = next(iter(reader.pages[0].images)).image
    payload = zxingcpp.read_barcodes(image.convert("L"))[0].text
    assert qr.invoice_from_payload(payload) == invoice
    events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == "invoice.viewed")).all()
    assert any(e.data.get("document") == "pdf" for e in events)


@pytest.mark.parametrize("lang, amount, month", [("en", "78.34", "%d %B %Y"), ("fr", "78,34", None), ("de", "78,34", None)])
def test_the_pdf_writes_dates_and_amounts_as_the_pages_do(patient_client, make_invoice, people, lang, amount, month):
    invoice = make_invoice(people["patient"], people["doctor"], acts=(("C1", 1), ("K4", 2)))
    response = patient_client.get(f"/patient/invoices/{invoice.id}.pdf?lang={lang}")
    text = " ".join(PdfReader(io.BytesIO(response.data)).pages[0].extract_text().split())
    assert f"{amount} €" in text and f"€{amount}" not in text
    if month:  # English: day, month, year (29 November 2026), never November 29, 2026
        assert invoice.service_date.strftime(month).lstrip("0") in text, text
        assert invoice.service_date.strftime("%B %d, %Y") not in text


def test_tampered_or_foreign_payloads_are_refused(make_invoice, people, app):
    invoice = make_invoice(people["patient"], people["doctor"])
    payload = qr.qr_payload(invoice)
    assert qr.invoice_from_payload(payload) == invoice
    forged = payload[:-3] + ("AAA" if not payload.endswith("AAA") else "BBB")
    assert qr.invoice_from_payload(forged) is None
    assert qr.invoice_from_payload("LUINV:" + "x" * 40) is None
    assert qr.invoice_from_payload("https://example.org/") is None
    from itsdangerous import URLSafeSerializer

    foreign = URLSafeSerializer("another-portal-key", salt="invoice-qr").dumps([invoice.id, invoice.provider_code, invoice.number])
    assert qr.invoice_from_payload("LUINV:" + foreign) is None


def test_another_patients_invoice_is_404(app, make_invoice, make_patient, people):
    invoice = make_invoice(people["patient"], people["doctor"])
    other = make_patient(given_name="Paul", surname="Other")
    client = app.test_client()
    sign_in(client, other)
    assert client.get(f"/patient/invoices/{invoice.id}").status_code == 404
    assert client.get(f"/patient/invoices/{invoice.id}.pdf").status_code == 404
    assert invoice.number not in text_of(client.get("/patient/invoices"))


def test_filters_and_pagination(patient_client, make_invoice, people):
    for days in range(22):
        make_invoice(people["patient"], people["doctor"], days_ago=days)
    first = page(patient_client.get("/patient/invoices"))
    assert len(first.select(".invoice-list li")) == 20
    assert first.select_one('nav.pager a[href*="page=2"]')
    second = page(patient_client.get("/patient/invoices?page=2"))
    assert len(second.select(".invoice-list li")) == 2
    recent = page(patient_client.get(f"/patient/invoices?date_from={(clock.today() - timedelta(days=4)).isoformat()}"))
    assert len(recent.select(".invoice-list li")) == 5
    by_doctor = page(patient_client.get(f"/patient/invoices?doctor={people['doctor'].profile.id}"))
    assert len(by_doctor.select(".invoice-list li")) == 20


def test_bad_filters_do_not_crash(patient_client):
    for query in ("date_from=yesterday", "page=-1", "page=99999999999", "doctor=abc", "state=%00"):
        assert patient_client.get(f"/patient/invoices?{query}").status_code == 200


def test_documents_expire_after_two_years(app, patient_client, make_invoice, people):
    invoice = make_invoice(people["patient"], people["doctor"])
    shown = text_of(patient_client.get(f"/patient/invoices/{invoice.id}?lang=en"))
    assert "Available until" in shown
    runner = app.test_cli_runner()
    clock.freeze(invoices.add_years(invoice.issued_at, 2) - timedelta(days=1))
    assert "invoices: 0" in runner.invoke(args=["purge"]).output
    clock.freeze(invoices.add_years(invoice.issued_at, 2) + timedelta(days=1))
    assert "invoices: 1" in runner.invoke(args=["purge"]).output
    assert "invoices: 0" in runner.invoke(args=["purge"]).output
    assert db.session.get(Invoice, invoice.id) is None


def test_a_childs_invoices_are_in_the_childs_space(app, make_patient, make_doctor, make_invoice, issue_code):
    from datetime import date

    parent = make_patient(given_name="Anne")
    child = make_patient(given_name="Léa", birth=date(2015, 6, 2), with_account=False)
    doctor = make_doctor()
    child_invoice = make_invoice(child, doctor, acts=(("C42", 1),))
    _, token = issue_code(child.profile, doctor.profile, guardian=parent.profile)
    client = app.test_client()
    sign_in(client, parent)
    client.get(f"/activate/{token}")
    client.post("/activate/continue", data={"birth_date": "2015-06-02"})
    client.post("/activate/continue", data={"submit": "1"})
    listing = text_of(client.get("/patient/invoices?lang=en"))
    assert "Léa" in listing and "68.52 €" in listing
    assert client.get(f"/patient/invoices/{child_invoice.id}").status_code == 200
    client.post("/patient/space", data={"space": "self"})
    assert client.get(f"/patient/invoices/{child_invoice.id}").status_code == 404
