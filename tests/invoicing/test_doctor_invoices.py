"""The doctor issues, lists, prints and voids invoices through the real pages."""

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader

from portal.core import clock
from portal.extensions import db
from portal.models import AuditEvent, Invoice
from tests.fixtures.clients import page, sign_in, text_of


def _form(patient, **extra):
    data = {
        "matricule": patient.matricule, "service_date": clock.today().isoformat(),
        "lines-0-code": "C1", "lines-0-quantity": "1", "paid_on_site": "yes", "payer_is_patient": "yes",
        "submit": "1",
    }
    data.update(extra)
    return data


def test_issuing_a_digital_invoice(doctor_client, people):
    patient = people["patient"].profile
    response = doctor_client.post("/doctor/invoices/new", data=_form(patient, **{
        "lines-1-code": "k1", "lines-1-quantity": "2",
    }))
    assert response.status_code == 303
    invoice = db.session.scalar(db.select(Invoice))
    assert invoice.channel == "digital" and invoice.total_cents == 5770 + 2 * 2752
    assert invoice.number == f"{clock.now().year}-000001" and invoice.paid_at is not None
    assert invoice.provider_code == people["doctor"].login and invoice.patient_matricule == patient.matricule
    assert [line.act_code for line in invoice.lines] == ["C1", "K1"]
    detail = text_of(doctor_client.get(response.headers["Location"] + "?lang=en"))
    assert invoice.number in detail and "Digital" in detail
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.event == "invoice.issued"))


def test_amounts_sent_by_the_browser_are_ignored(doctor_client, people):
    patient = people["patient"].profile
    doctor_client.post("/doctor/invoices/new", data=_form(patient, total_cents="1", amount="0.01",
                                                          **{"lines-0-unit_fee_cents": "1"}))
    assert db.session.scalar(db.select(Invoice)).total_cents == 5770


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lines-0-quantity": "0"}, "lines-0-quantity"),
        ({"lines-0-quantity": "-2"}, "lines-0-quantity"),
        ({"lines-0-quantity": "abc"}, "lines-0-quantity"),
        ({"lines-0-code": "ZZ9"}, "lines-0-code"),
        ({"lines-0-code": ""}, "lines-0-code"),
        ({"matricule": "1234567890123"}, "matricule"),
        ({"service_date": "2999-01-01"}, "service_date"),
        ({"service_date": "2001-01-01"}, "service_date"),
        ({"service_date": "not a date"}, "service_date"),
    ],
)
def test_bad_input_gets_a_field_error_and_saves_nothing(doctor_client, people, changes, field):
    response = doctor_client.post("/doctor/invoices/new", data=_form(people["patient"].profile, **changes))
    assert response.status_code == 400
    assert page(response).select_one(f"#{field}-error"), field
    assert db.session.scalar(db.select(Invoice)) is None


def test_preview_explains_the_channel_before_saving(doctor_client, people):
    data = _form(people["patient"].profile, paid_on_site="no")
    data.pop("submit")
    data["preview"] = "1"
    response = doctor_client.post("/doctor/invoices/new?lang=en", data=data, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "paper with a QR code" in text_of(response)
    assert db.session.scalar(db.select(Invoice)) is None


def test_a_non_participating_doctor_issues_paper_only(app, make_doctor, people):
    doctor = make_doctor(digital=False)
    client = app.test_client()
    sign_in(client, doctor)
    client.post("/doctor/invoices/new", data=_form(people["patient"].profile))
    assert db.session.scalar(db.select(Invoice)).channel == "paper"


def test_numbers_run_per_doctor(make_invoice, people, make_doctor):
    other = make_doctor()
    first = make_invoice(people["patient"], people["doctor"])
    second = make_invoice(people["patient"], people["doctor"])
    third = make_invoice(people["patient"], other)
    assert first.number.endswith("000001") and second.number.endswith("000002")
    assert third.number.endswith("000001")


def test_void_with_a_reason_keeps_the_invoice_visible(doctor_client, make_invoice, people):
    invoice = make_invoice(people["patient"], people["doctor"])
    refused = doctor_client.post(f"/doctor/invoices/{invoice.id}/void", data={"reason": ""})
    assert refused.status_code == 400
    response = doctor_client.post(f"/doctor/invoices/{invoice.id}/void", data={"reason": "Wrong code"})
    assert response.status_code == 303
    db.session.refresh(invoice)
    assert invoice.voided_at and invoice.void_reason == "Wrong code"
    assert "Voided" in text_of(doctor_client.get("/doctor/invoices?lang=en"))
    again = doctor_client.post(f"/doctor/invoices/{invoice.id}/void", data={"reason": "again"})
    assert again.status_code == 400


def test_a_doctor_cannot_see_another_doctors_invoices(app, make_invoice, make_doctor, people):
    invoice = make_invoice(people["patient"], people["doctor"])
    other = make_doctor()
    client = app.test_client()
    sign_in(client, other)
    for url in (f"/doctor/invoices/{invoice.id}", f"/doctor/invoices/{invoice.id}.pdf"):
        assert client.get(url).status_code == 404
    assert client.post(f"/doctor/invoices/{invoice.id}/void", data={"reason": "x" * 5}).status_code == 404
    assert invoice.number not in text_of(client.get("/doctor/invoices"))


def test_list_filters(doctor_client, make_invoice, people):
    recent = make_invoice(people["patient"], people["doctor"], days_ago=2)
    old = make_invoice(people["patient"], people["doctor"], days_ago=200)
    since = (clock.today() - timedelta(days=30)).isoformat()
    listing = text_of(doctor_client.get(f"/doctor/invoices?date_from={since}"))
    assert recent.number in listing and old.number not in listing
    fragment = doctor_client.get("/doctor/invoices?state=voided", headers={"HX-Request": "true"})
    assert fragment.data.lstrip().startswith(b'<div id="invoice-rows">')


def test_paper_pdf_prints_the_invoice(doctor_client, make_invoice, people):
    invoice = make_invoice(people["patient"], people["doctor"], paid_on_site=False)
    response = doctor_client.get(f"/doctor/invoices/{invoice.id}.pdf")
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert invoice.number in text and invoice.patient_matricule in text


def test_act_search(doctor_client):
    response = doctor_client.get("/doctor/acts?q=spiro&lang=en")
    assert "K2" in text_of(response)
    fragment = doctor_client.get("/doctor/acts?q=C4", headers={"HX-Request": "true"})
    assert fragment.data.lstrip().startswith(b'<div id="act-results"')


def test_list_filter_by_kind(doctor_client, make_invoice, people):
    digital = make_invoice(people["patient"], people["doctor"])
    paper = make_invoice(people["patient"], people["doctor"], paid_on_site=False)
    listing = text_of(doctor_client.get("/doctor/invoices?channel=paper_qr"))
    assert paper.number in listing and digital.number not in listing
    assert doctor_client.get("/doctor/invoices?channel=bogus&state=bogus").status_code == 200


def test_the_preview_names_the_patient_and_the_look_up_is_audited(doctor_client, people):
    patient = people["patient"].profile
    response = doctor_client.post("/doctor/invoices/new?lang=en", data=_form(patient, submit="", preview="1"))
    assert response.status_code == 200
    assert f"Patient: {patient.full_name}" in text_of(response)
    looked_up = db.session.scalar(db.select(AuditEvent).where(AuditEvent.event == "patient.looked_up"))
    assert (looked_up.patient_id, looked_up.actor_role, looked_up.data) == (patient.id, "doctor", {"purpose": "invoice"})


def test_a_doctor_opening_an_invoice_or_its_pdf_is_audited(doctor_client, people, make_invoice):
    invoice = make_invoice(people["patient"], people["doctor"])
    assert doctor_client.get(f"/doctor/invoices/{invoice.id}").status_code == 200
    assert doctor_client.get(f"/doctor/invoices/{invoice.id}.pdf").status_code == 200
    viewed = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == "invoice.viewed")).all()
    assert [(v.actor_role, v.patient_id, v.data.get("document")) for v in viewed] == [
        ("doctor", invoice.patient_id, None), ("doctor", invoice.patient_id, "pdf"),
    ]


def test_acts_are_suggested_while_typing_and_lines_can_be_added(doctor_client, people):
    form = page(doctor_client.get("/doctor/invoices/new?lang=en"))
    assert form.select_one("#lines-0-code")["list"] == "act-codes"
    assert "C1" in [option["value"] for option in form.select("#act-codes option")]
    search = form.select_one("form[role=search]")
    assert search["action"] == "/doctor/acts" and search["hx-get"] == "/doctor/acts"
    found = doctor_client.get("/doctor/acts?q=C1", headers={"HX-Request": "true"})
    assert page(found).select_one("#act-results") and "<html" not in found.get_data(as_text=True)

    data = _form(people["patient"].profile, submit="", add_line="1")
    grown = page(doctor_client.post("/doctor/invoices/new", data=data))
    assert len(grown.select("input[id$='-code']")) == 5
    assert grown.select_one("#lines-0-code")["value"] == "C1"  # what was typed stays
