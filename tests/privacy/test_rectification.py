"""Rectification: the patient corrects contact details; registry data go through a request."""

from __future__ import annotations

import re

import pytest

from portal import audit
from portal.extensions import db
from portal.models import AuditEvent, DataRequest, OutboxMessage
from portal.privacy import rights
from tests.fixtures.clients import page, step_up, text_of


def _events(name: str) -> list[AuditEvent]:
    return list(db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == name)))


def test_the_form_shows_the_current_details(english_patient_client):
    form = page(english_patient_client.get("/patient/my-data/contact"))
    assert form.select_one("#mobile")["value"] == "+352621123456"
    assert form.select_one("#language option[selected]")["value"] == "en"
    assert form.select_one("label[for=email]") and form.select_one("form[method=post] input[name=csrf_token]")


def test_valid_details_are_saved_and_audited_by_field_name_only(app, english_patient_client, people):
    response = english_patient_client.post("/patient/my-data/contact", data={
        "mobile": "00352 691 234 567", "email": "Marie.Kremer@Example.LU", "language": "de",
        **step_up(people["patient"]),
    })
    # The language applies at once; the new contacts once the codes sent to them come back.
    assert response.status_code == 303 and response.headers["Location"] == "/patient/my-data/contact/confirm"
    codes = {name: re.search(r"\b(\d{6})\b", db.session.scalars(
        db.select(OutboxMessage).where(OutboxMessage.recipient == address)).one().body)[1]
        for name, address in (("mobile", "+352691234567"), ("email", "Marie.Kremer@example.lu"))}
    response = english_patient_client.post("/patient/my-data/contact/confirm", data=codes)
    assert response.status_code == 303 and response.headers["Location"].startswith("/patient/my-data")
    patient = people["patient"].profile
    db.session.refresh(patient)
    db.session.refresh(people["patient"].account)
    assert patient.mobile == "+352691234567"
    assert patient.email == "Marie.Kremer@example.lu"
    assert people["patient"].account.preferred_language == "de"
    language, contacts = _events(audit.CONTACT_CHANGED.name)
    assert [language.data, contacts.data] == [{"fields": ["language"]}, {"fields": ["mobile", "email"]}]
    assert contacts.patient_id == patient.id
    assert "691" not in str(contacts.data) and "example" not in str(contacts.data).lower()
    # The portal now speaks German to this session too.
    assert page(english_patient_client.get("/patient/my-data")).html["lang"] == "de"


@pytest.mark.parametrize(("mobile", "email", "bad_field"), [
    ("12345", "marie@example.lu", "mobile"),
    ("+352 abc", "marie@example.lu", "mobile"),
    ("+3526211234567890123", "marie@example.lu", "mobile"),
    ("+352621123456", "not an address", "email"),
    ("+352621123456", "marie@", "email"),
])
def test_invalid_details_show_field_errors_and_save_nothing(english_patient_client, people, mobile, email, bad_field):
    response = english_patient_client.post("/patient/my-data/contact",
                                           data={"mobile": mobile, "email": email, "language": "de"})
    assert response.status_code == 400
    html = page(response)
    assert html.select_one(f"#{bad_field}-error") and html.select_one(".error-summary")
    assert html.select_one(f"#{bad_field}")["aria-invalid"] == "true"
    patient = people["patient"].profile
    db.session.refresh(patient)
    db.session.refresh(people["patient"].account)
    assert patient.mobile == "+352621123456" and patient.email is None
    assert people["patient"].account.preferred_language == "en"
    assert _events(audit.CONTACT_CHANGED.name) == []


def test_emptying_a_detail_removes_it_and_unchanged_details_write_nothing(english_patient_client, people):
    english_patient_client.post("/patient/my-data/contact",
                                data={"mobile": "+352621123456", "email": "", "language": "en"})
    assert _events(audit.CONTACT_CHANGED.name) == []
    english_patient_client.post("/patient/my-data/contact", data={"mobile": "", "email": "", "language": "en",
                                                                  **step_up(people["patient"])})
    db.session.refresh(people["patient"].profile)
    assert people["patient"].profile.mobile is None
    assert [e.data for e in _events(audit.CONTACT_CHANGED.name)] == [{"fields": ["mobile"]}]


@pytest.mark.parametrize("value", ["+352 621 123 456", "+49 (30) 1234-5678", "0033612345678"])
def test_plausible_international_numbers(value):
    assert rights.normalise_mobile(value).startswith("+")


def test_registry_data_cannot_be_edited_but_a_correction_can_be_requested(english_patient_client, people):
    contact = page(english_patient_client.get("/patient/my-data/contact"))
    assert not contact.select("input[name=surname], input[name=birth_date], input[name=matricule]")
    form = page(english_patient_client.get("/patient/my-data/correction"))
    assert people["patient"].profile.matricule in form.get_text()
    assert [o["value"] for o in form.select("#registry_field option")] == list(rights.REGISTRY_FIELDS)
    empty = english_patient_client.post("/patient/my-data/correction", data={"registry_field": "name", "message": ""})
    too_long = english_patient_client.post("/patient/my-data/correction",
                                           data={"registry_field": "name", "message": "x" * 1001})
    forged = english_patient_client.post("/patient/my-data/correction",
                                         data={"registry_field": "iban", "message": "Hi"})
    assert (empty.status_code, too_long.status_code, forged.status_code) == (400, 400, 400)
    assert db.session.scalar(db.select(db.func.count()).select_from(DataRequest)) == 0
    response = english_patient_client.post("/patient/my-data/correction",
                                           data={"registry_field": "birth_date", "message": "I was born on the 18th."})
    assert response.status_code == 303
    filed = db.session.scalar(db.select(DataRequest))
    assert (filed.kind, filed.state, filed.patient_id) == ("correction", "open", people["patient"].profile.id)
    assert filed.reference.startswith("D-")
    (event,) = _events(audit.DATA_REQUEST_FILED.name)
    assert event.data == {"request_id": filed.id, "kind": "correction"}
    shown = text_of(english_patient_client.get("/patient/my-data"))
    assert filed.reference in shown and "I was born on the 18th." in shown and "Open" in shown
