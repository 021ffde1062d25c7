"""A child's code names only a guardian the insurance register (or CNS staff) holds.

Before this, a doctor could name any adult with an account as the "parent" of an unrelated
child, and that adult then read the child's invoices and claims.
"""

from datetime import date

import pytest

from portal.activation import codes
from portal.extensions import db
from portal.models import ActivationCode, AuditEvent, Fund, GuardianRequest, RegistryGuardian
from tests.fixtures.activation import register_guardian
from tests.fixtures.clients import page, sign_in, text_of


def _issue_for_child(client, child, guardian):
    return client.post("/doctor/activations?lang=en", data={
        "matricule": child.profile.matricule, "birth_date": child.profile.birth_date.isoformat(), "document_type": "identity_card", "document_last4": "AB12",
        "mobile": "+352621123456", "language": "fr", "identity_checked": "y",
        "guardian_matricule": guardian.profile.matricule, "parental_link": "y",
    })


def _events(name):
    return db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == name)).all()


@pytest.fixture
def family(app, make_patient, make_doctor):
    child = make_patient(given_name="Léa", surname="Schmit", birth=date(2015, 6, 2), with_account=False)
    parent = make_patient(given_name="Anne", surname="Schmit")
    stranger = make_patient(given_name="Eve", surname="Other")
    doctor = make_doctor()
    client = app.test_client()
    sign_in(client, doctor)
    return child, parent, stranger, doctor, client


def test_a_doctor_cannot_make_an_unrelated_adult_the_parent(family):
    child, _parent, stranger, _doctor, client = family
    response = _issue_for_child(client, child, stranger)
    assert response.status_code == 400
    error = page(response).select_one("#guardian_matricule-error").get_text()
    assert "must confirm the link first" in error and "sent to them" in error
    assert db.session.scalar(db.select(ActivationCode)) is None
    assert db.session.scalar(db.select(RegistryGuardian)) is None
    # The attempt becomes a request for CNS staff, once however often the doctor tries.
    _issue_for_child(client, child, stranger)
    (filed,) = db.session.scalars(db.select(GuardianRequest)).all()
    assert (filed.child_patient_id, filed.guardian_patient_id, filed.decided_at) == (
        child.profile.id, stranger.profile.id, None)
    assert [e.data for e in _events("guardian.link_requested")] == [{"request_id": filed.id}]


def test_the_domain_refuses_a_doctor_code_naming_an_unregistered_guardian(family):
    child, _parent, stranger, doctor, _client = family
    with pytest.raises(ValueError, match="register"):
        codes.issue(child.profile, doctor=doctor.profile, document_type="passport", document_last4="1234",
                    mobile="+352621123456", guardian=stranger.profile)


def test_the_guardian_the_register_holds_gets_the_code(family):
    child, parent, _stranger, _doctor, client = family
    register_guardian(child.profile, parent.profile)
    db.session.commit()
    response = _issue_for_child(client, child, parent)
    assert response.status_code == 200, text_of(response)
    code = db.session.scalar(db.select(ActivationCode))
    assert code.guardian_patient_id == parent.profile.id
    assert db.session.scalar(db.select(GuardianRequest)) is None


def test_a_link_staff_confirmed_works(app, family, make_staff):
    child, parent, _stranger, _doctor, client = family
    assert _issue_for_child(client, child, parent).status_code == 400
    filed = db.session.scalar(db.select(GuardianRequest))
    staff = make_staff()
    office = app.test_client()
    sign_in(office, staff)
    listing = text_of(office.get("/cns/guardian-requests?lang=en"))
    assert "Anne Schmit as the parent of Léa Schmit" in listing
    # Without the document check ticked, nothing is confirmed.
    office.post(f"/cns/guardian-requests/{filed.id}/confirm")
    assert db.session.scalar(db.select(RegistryGuardian)) is None
    response = office.post(f"/cns/guardian-requests/{filed.id}/confirm", data={"document_checked": "y"})
    assert response.status_code == 303
    link = db.session.scalar(db.select(RegistryGuardian))
    assert (link.source, link.confirmed_by_id, link.guardian_patient_id) == ("staff", staff.profile.id,
                                                                          parent.profile.id)
    assert [e.data for e in _events("guardian.link_decided")] == [{"request_id": filed.id, "decision": "confirmed"}]
    # Decided once: a second decision changes nothing.
    office.post(f"/cns/guardian-requests/{filed.id}/refuse")
    db.session.refresh(filed)
    assert filed.decision == "confirmed"
    assert _issue_for_child(client, child, parent).status_code == 200
    assert db.session.scalar(db.select(ActivationCode)).guardian_patient_id == parent.profile.id


def test_a_refused_link_stays_out_of_the_register(app, family, make_staff):
    child, _parent, stranger, _doctor, client = family
    _issue_for_child(client, child, stranger)
    filed = db.session.scalar(db.select(GuardianRequest))
    office = app.test_client()
    sign_in(office, make_staff())
    assert office.post(f"/cns/guardian-requests/{filed.id}/refuse").status_code == 303
    assert db.session.scalar(db.select(RegistryGuardian)) is None
    assert _issue_for_child(client, child, stranger).status_code == 400


def test_another_funds_staff_cannot_see_or_confirm_the_request(app, family, make_staff):
    child, _parent, stranger, _doctor, client = family
    _issue_for_child(client, child, stranger)
    filed = db.session.scalar(db.select(GuardianRequest))
    office = app.test_client()
    sign_in(office, make_staff(fund=Fund.CMFEP))
    assert "Eve Other" not in text_of(office.get("/cns/guardian-requests?lang=en"))
    assert office.post(f"/cns/guardian-requests/{filed.id}/confirm", data={"document_checked": "y"}).status_code == 404
    assert db.session.scalar(db.select(RegistryGuardian)) is None


@pytest.mark.parametrize("role", ["doctor", "patient"])
def test_only_staff_reach_the_guardian_requests(app, family, make_patient, role):
    child, _parent, stranger, doctor, client = family
    _issue_for_child(client, child, stranger)
    filed = db.session.scalar(db.select(GuardianRequest))
    other = app.test_client()
    sign_in(other, doctor if role == "doctor" else stranger)
    assert other.get("/cns/guardian-requests").status_code in (403, 404)
    other.post(f"/cns/guardian-requests/{filed.id}/confirm", data={"document_checked": "y"})
    assert db.session.scalar(db.select(RegistryGuardian)) is None
