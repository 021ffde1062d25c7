"""A patient activates an account with the doctor's code."""

from portal.extensions import db
from portal.models import AccountStatus, AuditEvent, Patient, TermsDecision
from tests.fixtures.activation import activate, walk
from tests.fixtures.clients import page, text_of


def test_activation_with_the_link(app, make_patient, make_doctor, issue_code):
    from portal.accounts import terms

    terms.publish({"fr": "Texte", "de": "Text", "en": "Text"})
    db.session.commit()
    patient, doctor = make_patient(with_account=False), make_doctor()
    _, token = issue_code(patient.profile, doctor.profile)
    client = app.test_client()
    activate(client, token, patient.profile.birth_date)
    assert client.get("/patient/").status_code == 200
    person = db.session.get(Patient, patient.profile.id)
    db.session.refresh(person)
    assert person.account.status == AccountStatus.ACTIVE and person.account.login == person.matricule
    assert db.session.scalar(db.select(TermsDecision).where(TermsDecision.account_id == person.account.id))
    events = {e.event for e in db.session.scalars(db.select(AuditEvent))}
    assert {"activation.redeemed", "activation.completed", "totp.enrolled", "terms.accepted"} <= events


def test_activation_with_a_typed_code(app, make_patient, make_doctor, issue_code):
    from portal.activation import codes

    patient, doctor = make_patient(with_account=False), make_doctor()
    _, token = issue_code(patient.profile, doctor.profile)
    client = app.test_client()
    response = client.post("/activate", data={"code": codes.grouped(token).lower().replace("-", " ")})
    assert response.headers["Location"] == "/activate/continue"


def test_steps_cannot_be_skipped(app, make_patient, make_doctor, issue_code):
    patient, doctor = make_patient(with_account=False), make_doctor()
    _, token = issue_code(patient.profile, doctor.profile)
    client = app.test_client()
    client.get(f"/activate/{token}")
    # Posting a password while the birth date is asked does nothing.
    response = client.post("/activate/continue", data={"new_password": "x" * 20, "confirm": "x" * 20})
    assert response.status_code == 400 and page(response).select_one("#birth_date")


def test_a_weak_password_is_refused_during_activation(app, make_patient, make_doctor, issue_code):
    patient, doctor = make_patient(with_account=False), make_doctor()
    _, token = issue_code(patient.profile, doctor.profile)
    client = app.test_client()
    walk(client, token, patient.profile.birth_date, until="password")
    weak = patient.profile.matricule + "abc"
    response = client.post("/activate/continue?lang=en", data={"new_password": weak, "confirm": weak})
    assert response.status_code == 400 and "must not contain" in text_of(response)


def test_the_activation_state_expires(app, make_patient, make_doctor, issue_code):
    from datetime import timedelta

    from portal.core import clock
    from portal.models import ActivationFlow

    patient, doctor = make_patient(with_account=False), make_doctor()
    _, token = issue_code(patient.profile, doctor.profile)
    client = app.test_client()
    client.get(f"/activate/{token}")
    flow = db.session.scalars(db.select(ActivationFlow)).one()
    flow.expires_at = clock.now() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/activate/continue").headers["Location"] == "/activate"
