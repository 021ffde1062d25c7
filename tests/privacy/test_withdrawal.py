"""Withdrawing consent suspends the account: every session ends, and signing in again
reaches only the "my personal data" pages until the patient restores it."""

from datetime import date

import pytest
from flask import render_template

from portal.extensions import db
from portal.models import AccountStatus, AuditEvent, Claim, DataExport, DataRequest
from tests.fixtures.clients import fresh_code, in_english, sign_in, text_of

WITHDRAW = "/patient/my-data/withdraw"
RESTORE = "/patient/my-data/restore"


def _status(person) -> str:
    db.session.refresh(person.account)
    return person.account.status


def _events(person, name) -> list[AuditEvent]:
    return list(db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.event == name, AuditEvent.patient_id == person.profile.id)
    ))


def _withdrawn(app, patient):
    """A patient who withdrew consent from one browser while signed in on another."""
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, patient)
    sign_in(elsewhere, patient)
    response = here.post(WITHDRAW, data={"understood": "y"})
    return here, elsewhere, response


def test_withdrawing_suspends_the_account_and_ends_every_session(app, make_patient):
    patient = make_patient()
    here, elsewhere, response = _withdrawn(app, patient)
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    assert _status(patient) == AccountStatus.SUSPENDED
    for client in (here, elsewhere):  # this browser and the copied cookie of the other
        assert client.get("/patient/").headers["Location"].startswith("/login?next=")
    (filed,) = db.session.scalars(db.select(DataRequest).where(DataRequest.patient_id == patient.profile.id))
    assert (filed.kind, filed.state, filed.closed_at) == ("withdrawal", "done", None)
    assert len(_events(patient, "consent.withdrawn")) == 1


def test_withdrawal_needs_the_box_ticked(app, make_patient):
    patient = make_patient()
    client = app.test_client()
    sign_in(client, patient)
    response = client.post(f"{WITHDRAW}?lang=en", data={}, follow_redirects=True)
    assert "Tick the box" in text_of(response)
    assert _status(patient) == AccountStatus.ACTIVE
    assert client.get("/patient/").status_code == 200


def test_a_suspended_patient_signs_in_to_the_my_data_pages_only(app, make_patient):
    patient = make_patient()
    _withdrawn(app, patient)
    client = app.test_client()
    response = sign_in(client, patient)
    assert response.status_code == 303  # password and code still work
    for path in ("/patient/", "/patient/invoices", "/patient/claims", "/patient/notifications", "/account/password"):
        response = client.get(path)
        assert (response.status_code, response.headers.get("Location")) == (303, "/patient/my-data"), path
    htmx = client.get("/patient/invoices", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"] == "/patient/my-data"
    page = client.get("/patient/my-data?lang=en")
    assert page.status_code == 200
    assert "suspended" in text_of(page)
    # Exporting stays possible: the request makes an export (the guard would only send it back).
    export = client.post("/patient/my-data/export")
    assert export.status_code == 303
    assert db.session.scalar(db.select(DataExport).where(DataExport.patient_id == patient.profile.id)) is not None
    assert client.get("/patient/my-data/erase").status_code == 200
    assert client.post("/logout").status_code == 303


def test_restoring_consent_makes_the_portal_usable_again(app, make_patient):
    patient = make_patient()
    _withdrawn(app, patient)
    client = app.test_client()
    sign_in(client, patient)
    response = client.post(RESTORE)
    assert response.status_code == 303 and response.headers["Location"] == "/patient/"
    assert _status(patient) == AccountStatus.ACTIVE
    assert client.get("/patient/invoices").status_code == 200
    (filed,) = db.session.scalars(db.select(DataRequest).where(DataRequest.patient_id == patient.profile.id))
    assert filed.state == "done" and filed.closed_at is not None
    assert len(_events(patient, "consent.restored")) == 1


def test_an_operators_suspension_cannot_be_lifted_by_the_patient(app, make_patient):
    patient = make_patient()
    patient.account.status = AccountStatus.SUSPENDED  # no withdrawal behind it
    db.session.commit()
    client = app.test_client()
    sign_in(client, patient)
    client.post(RESTORE)
    assert _status(patient) == AccountStatus.SUSPENDED


def test_nothing_is_shared_automatically_while_consent_is_withdrawn(app, make_patient, make_doctor, make_invoice):
    patient = make_patient()
    patient.profile.is_auto_share = True
    db.session.commit()
    _withdrawn(app, patient)
    make_invoice(patient, make_doctor())
    assert db.session.scalars(db.select(Claim).where(Claim.patient_id == patient.profile.id)).all() == []


@pytest.fixture
def parent_in_childs_space(app, make_patient, make_child):
    parent = make_patient(given_name="Paul")
    child = make_child(parent, given_name="Lea", birth=date(2016, 3, 1), with_account=False)
    client = app.test_client()
    sign_in(client, parent)
    assert client.post("/patient/space", data={"space": str(child.profile.id)}).status_code == 303
    return client, parent, child


def test_a_childs_space_cannot_withdraw_the_parents_consent(parent_in_childs_space):
    client, parent, _child = parent_in_childs_space
    assert client.post(WITHDRAW, data={"understood": "y"}).status_code == 403
    assert _status(parent) == AccountStatus.ACTIVE
    assert client.get("/patient/").status_code == 200


def test_the_consent_section_in_a_childs_space_points_to_ones_own_space(app, parent_in_childs_space):
    _client, parent, child = parent_in_childs_space
    with app.test_request_context("/?lang=en"):
        html = render_template("patient/_my_data_consent.html", person=child.profile, current_user=parent.account)
    assert "concerns your own account" in html
    assert 'action="/patient/my-data/withdraw"' not in html


def test_a_suspended_patient_can_still_erase_their_account(app, make_patient):
    patient = make_patient()
    _withdrawn(app, patient)
    client = app.test_client()
    sign_in(client, patient)
    in_english(client)  # the confirmation word is the English one
    response = client.post("/patient/my-data/erase", data={
        "password": patient.password, "code": fresh_code(patient), "confirmation": "ERASE",
    })
    assert response.status_code == 303 and response.headers["Location"] == "/erased"
