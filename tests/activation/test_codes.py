"""Activation codes: randomness, hashing, expiry, revocation, single use."""

import threading
from datetime import timedelta

import pytest

from portal.activation import codes
from portal.core import clock
from portal.extensions import db
from portal.models import ActivationCode, AuditEvent
from tests.fixtures.activation import activate, sent_code, spoil, walk
from tests.fixtures.clients import text_of


def test_tokens_have_100_bits_and_only_their_hash_is_stored(make_patient, make_doctor, issue_code):
    patient, doctor = make_patient(with_account=False), make_doctor()
    code, token = issue_code(patient.profile, doctor.profile)
    assert len(token) == 20  # 20 characters of 5 bits
    assert code.token_hash == codes.digest(token) and token not in code.token_hash
    assert codes.find_usable(codes.grouped(token).lower()) == code


def test_issuing_again_revokes_the_previous_code(make_patient, make_doctor, issue_code):
    patient, doctor = make_patient(with_account=False), make_doctor()
    first, first_token = issue_code(patient.profile, doctor.profile)
    second, _ = issue_code(patient.profile, doctor.profile)
    db.session.refresh(first)
    assert codes.state(first) == "revoked" and first.revoke_reason == "replaced"
    assert codes.find_usable(first_token) is None
    assert codes.state(second) == "pending"


def test_issue_and_revocation_are_audited_with_the_check(make_patient, make_doctor, issue_code):
    patient, doctor = make_patient(with_account=False), make_doctor()
    code, _ = issue_code(patient.profile, doctor.profile, document_type="passport", document_last4="X9Z8")
    codes.revoke(code, "doctor")
    db.session.commit()
    issued = db.session.scalar(db.select(AuditEvent).where(AuditEvent.event == "activation.issued"))
    assert issued.data["document_type"] == "passport" and issued.data["document_last4"] == "X9Z8"
    assert issued.patient_id == patient.profile.id
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.event == "activation.revoked"))


@pytest.mark.parametrize("case", ["unknown", "used", "expired", "revoked"])
def test_unusable_codes_all_get_the_same_answer(app, make_patient, make_doctor, issue_code, case):
    patient, doctor = make_patient(with_account=False), make_doctor()
    code, token = issue_code(patient.profile, doctor.profile)
    if case == "unknown":
        token = codes.new_token()
    else:
        spoil(code, case)
    db.session.commit()
    client = app.test_client()
    response = client.get(f"/activate/{token}")
    assert response.headers["Location"] == "/activate/invalid"
    typed = client.post("/activate", data={"code": token})
    assert typed.headers["Location"] == "/activate/invalid"
    assert "cannot be used" in text_of(client.get("/activate/invalid?lang=en"))


def test_the_code_expires_after_the_configured_days(app, make_patient, make_doctor, issue_code):
    patient, doctor = make_patient(with_account=False), make_doctor()
    code, token = issue_code(patient.profile, doctor.profile)
    assert code.expires_at - code.created_at == app.config["ACTIVATION_CODE_LIFETIME"]
    clock.freeze(clock.now() + timedelta(days=14, seconds=1))
    assert codes.find_usable(token) is None


def test_three_wrong_birth_dates_lock_the_code(app, make_patient, make_doctor, issue_code):
    patient, doctor = make_patient(with_account=False), make_doctor()
    code, token = issue_code(patient.profile, doctor.profile)
    client = app.test_client()
    client.get(f"/activate/{token}")
    for attempt in range(3):
        response = client.post("/activate/continue?lang=en", data={"birth_date": f"1999-01-0{attempt + 1}"})
    assert "locked" in text_of(response)
    db.session.refresh(code)
    assert codes.state(code) == "revoked" and code.revoke_reason == "birth_date"
    # The right date no longer helps.
    client.get(f"/activate/{token}")
    assert client.get("/activate/continue").headers["Location"] == "/activate"


def test_the_token_leaves_the_address_bar(app, make_patient, make_doctor, issue_code):
    patient, doctor = make_patient(with_account=False), make_doctor()
    _, token = issue_code(patient.profile, doctor.profile)
    client = app.test_client()
    response = client.get(f"/activate/{token}")
    assert token not in response.headers["Location"]
    page_after = client.get("/activate/continue")
    assert token.encode() not in page_after.data
    assert page_after.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.committing
def test_ten_concurrent_redemptions_activate_once(app, make_patient, make_doctor, issue_code):
    patient, doctor = make_patient(with_account=False), make_doctor()
    _, token = issue_code(patient.profile, doctor.profile)
    birth = patient.profile.birth_date
    patient_id = patient.profile.id
    db.session.close()
    clients = [app.test_client() for _ in range(10)]
    sent = {}
    for client in clients:
        walk(client, token, birth, until="contact_code")
        sent[client] = sent_code()
        db.session.close()
    barrier = threading.Barrier(len(clients), timeout=30)
    outcomes = []

    def redeem(client):
        barrier.wait()
        response = client.post("/activate/continue", data={"contact_code": sent[client]})
        outcomes.append(response.headers.get("Location"))

    threads = [threading.Thread(target=redeem, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes).count("/activate/continue") == 1, outcomes
    assert outcomes.count("/activate/invalid") == 9
    used = db.session.scalars(db.select(ActivationCode).where(ActivationCode.patient_id == patient_id)).one()
    assert used.used_at is not None


def test_a_new_code_for_a_lost_phone_applies_after_the_wait_and_ends_old_sessions(
        app, make_patient, make_doctor, issue_code):
    from tests.fixtures.clients import sign_in

    patient, doctor = make_patient(), make_doctor()
    old_browser = app.test_client()
    sign_in(old_browser, patient)
    _, token = issue_code(patient.profile, doctor.profile)
    client = app.test_client()
    secret = activate(client, token, patient.profile.birth_date, password="a fresh start with new words")
    assert secret != patient.secret
    assert old_browser.get("/patient/").status_code == 200  # nothing changed yet
    clock.freeze(clock.now() + app.config["REACTIVATION_WAIT"] + timedelta(minutes=1))
    try:
        signed = app.test_client().post("/login", data={"login": patient.login,
                                                        "password": "a fresh start with new words"})
        assert signed.status_code == 303
        assert old_browser.get("/patient/").headers["Location"].startswith("/login")
        refused = app.test_client().post("/login", data={"login": patient.login, "password": patient.password})
        assert refused.status_code == 200
    finally:
        clock.freeze(None)


def test_the_old_password_keeps_working_while_a_lost_phone_code_waits(app, make_patient, make_doctor, issue_code):
    """A new code for a working account takes nothing from its owner at once: whoever holds
    the code waits, and the owner, told on every contact, can cancel meanwhile."""
    patient, doctor = make_patient(), make_doctor()
    _, token = issue_code(patient.profile, doctor.profile)
    client = app.test_client()
    walk(client, token, patient.profile.birth_date, until="password")
    owner = app.test_client()
    response = owner.post("/login", data={"login": patient.login, "password": patient.password})
    assert response.status_code == 303
