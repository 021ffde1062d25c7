"""Forgotten password, enrolment of operator-created accounts, rate limits."""

import re

import pytest

from portal.accounts import totp
from portal.extensions import db
from portal.models import AuditEvent, OutboxMessage, SecurityAlert
from tests.fixtures.clients import fresh_code, page, sign_in, text_of

NEW = "a brand new violet passphrase"


def _sent_code(patient) -> str:
    message = db.session.scalars(
        db.select(OutboxMessage).where(OutboxMessage.recipient == patient.profile.mobile).order_by(OutboxMessage.id.desc())
    ).first()
    return re.search(r"\b(\d{6})\b", message.body)[1]


def _first_factor(client, patient, code=None):
    return client.post("/forgot", data={"login": patient.login, "code": code or fresh_code(patient)})


def _finish(client, code, password=NEW):
    return client.post("/forgot/confirm?lang=en", data={"code": code, "new_password": password, "confirm": password})


def test_reset_needs_the_authenticator_and_the_code_sent_to_the_register_contact(app, client, people, app_ctx):
    patient = people["patient"]
    other = app.test_client()
    assert sign_in(other, patient).status_code == 303
    response = _first_factor(client, patient)
    assert response.headers["Location"] == "/forgot/confirm"
    assert "•••" in text_of(client.get("/forgot/confirm?lang=en"))  # where the code went, masked
    response = _finish(client, _sent_code(patient))
    assert response.headers["Location"] == "/login"
    assert client.post("/login", data={"login": patient.login, "password": NEW}).status_code == 303
    # Every other session ends, and the owner is told on the register's contacts.
    assert "/login" in other.get("/patient/").headers["Location"]
    alerts = db.session.scalars(db.select(SecurityAlert).where(SecurityAlert.kind == "password_reset")).all()
    assert len(alerts) == 1
    assert db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.body.contains("/not-me/"))).all()


def test_a_stolen_phone_s_authenticator_without_the_sim_cannot_reset(client, people, app_ctx):
    patient = people["patient"]
    old_hash = patient.account.credential.password_hash
    _first_factor(client, patient)
    # Without the code that went to the register's mobile: guesses spend it, nothing changes.
    for guess in ("000000", "111111", "222222", "333333", "444444", "555555"):
        response = _finish(client, guess)
        assert response.status_code == 200 and "not correct" in text_of(response)
    db.session.refresh(patient.account.credential)
    assert patient.account.credential.password_hash == old_hash
    # Even the right code is refused once five tries spent it.
    assert _finish(client, _sent_code(patient)).status_code == 200
    db.session.refresh(patient.account.credential)
    assert patient.account.credential.password_hash == old_hash


def test_the_sent_code_alone_is_not_enough_either(client, people, app_ctx):
    patient = people["patient"]
    assert client.get("/forgot/confirm").headers["Location"] == "/forgot"
    response = _first_factor(client, patient, code="000000")
    assert response.status_code == 200
    assert not db.session.scalars(db.select(OutboxMessage)).all()  # no code goes out on the login alone
    assert client.get("/forgot/confirm").headers["Location"] == "/forgot"


def test_the_code_works_only_in_the_browser_that_asked_for_it(app, client, people, app_ctx):
    patient = people["patient"]
    _first_factor(client, patient)
    code = _sent_code(patient)
    thief = app.test_client()
    assert thief.post("/forgot/confirm", data={"code": code, "new_password": NEW, "confirm": NEW}).headers[
        "Location"] == "/forgot"
    assert _finish(client, code).headers["Location"] == "/login"


def test_a_cookie_copied_before_the_code_step_cannot_finish_or_replay(app, client, people, app_ctx):
    patient = people["patient"]
    _first_factor(client, patient)
    copied = client.get_cookie("portal_session").value
    code = _sent_code(patient)
    assert _finish(client, code).headers["Location"] == "/login"
    thief = app.test_client()
    thief.set_cookie("portal_session", copied)
    again = "another violet passphrase here"
    response = _finish(thief, code, again)
    assert response.status_code == 200 and "not correct" in text_of(response)
    assert thief.post("/login", data={"login": patient.login, "password": again}).status_code == 200


def test_reset_with_a_recovery_code(client, people, app_ctx):
    patient = people["patient"]
    codes = totp.issue_recovery_codes(patient.account.id)
    db.session.commit()
    assert _first_factor(client, patient, code=codes[3]).headers["Location"] == "/forgot/confirm"
    assert _finish(client, _sent_code(patient)).status_code == 303


def test_reset_with_a_wrong_code_changes_nothing(client, people, app_ctx):
    patient = people["patient"]
    response = client.post("/forgot?lang=en", data={"login": patient.login, "code": "00000-00000"})
    assert response.status_code == 200 and "not correct" in text_of(response)
    assert not db.session.scalars(db.select(OutboxMessage)).all()


def test_reset_refuses_a_weak_password_and_keeps_the_code(client, people, app_ctx):
    patient = people["patient"]
    _first_factor(client, patient)
    code = _sent_code(patient)
    response = _finish(client, code, "password1234")
    assert response.status_code == 400
    assert page(response).select_one("#new_password-error")
    assert _finish(client, code).status_code == 303


def test_without_a_register_contact_the_way_back_is_a_new_activation(client, people, app_ctx):
    patient = people["patient"]
    patient.profile.mobile = patient.profile.email = None
    db.session.commit()
    response = client.post("/forgot?lang=en", data={"login": patient.login, "code": fresh_code(patient)})
    assert response.status_code == 200 and "new activation code" in text_of(response)
    assert client.get("/forgot/confirm").headers["Location"] == "/forgot"


@pytest.mark.parametrize("role", ["doctor", "cns"])
def test_doctors_and_staff_are_reset_by_an_operator_only(client, people, role, app_ctx):
    person = people[role]
    response = client.post("/forgot?lang=en", data={"login": person.login, "code": fresh_code(person)})
    assert response.status_code == 200 and "not correct" in text_of(response)
    assert not db.session.scalars(db.select(OutboxMessage)).all()
    assert "reset by an operator" in text_of(client.get("/forgot?lang=en"))


def test_forgot_page_explains_the_doctor_path(client):
    assert "activation code" in text_of(client.get("/forgot?lang=en"))


def test_enrolment_on_first_sign_in(app, make_doctor, app_ctx):
    doctor = make_doctor(enrolled=False)
    client = app.test_client()
    response = client.post("/login", data={"login": doctor.login, "password": doctor.password})
    assert response.headers["Location"] == "/login/enrol"
    enrol_page = client.get("/login/enrol")
    assert enrol_page.headers["Cache-Control"] == "no-store"
    secret = page(enrol_page).select_one("code.secret").get_text().strip()
    qr = client.get("/login/enrol/qr.svg")
    assert qr.mimetype == "image/svg+xml" and qr.headers["Cache-Control"] == "no-store"
    # Not active before a valid code.
    assert client.get("/doctor/").status_code == 303
    response = client.post("/login/enrol", data={"code": totp.code_for(secret)})
    assert response.status_code == 200
    codes = [c.get_text() for c in page(response).select("ul.codes code")]
    assert len(codes) == 10 and all(re.fullmatch(r"[0-9a-f]{5}-[0-9a-f]{5}", c) for c in codes)
    assert client.get("/doctor/").status_code == 200
    download = client.post("/account/recovery-codes.txt", data={"codes": codes})
    assert download.mimetype == "text/plain" and codes[0] in download.get_data(as_text=True)
    db.session.refresh(doctor.account.credential)
    assert totp.decrypt(doctor.account.credential.totp_secret) == secret
    events = {e.event for e in db.session.scalars(db.select(AuditEvent))}
    assert {"totp.enrolled", "recovery_codes.issued", "signin.succeeded"} <= events


def test_enrolment_refuses_a_wrong_code(app, make_doctor):
    doctor = make_doctor(enrolled=False)
    client = app.test_client()
    client.post("/login", data={"login": doctor.login, "password": doctor.password})
    response = client.post("/login/enrol", data={"code": "000000"})
    assert response.status_code == 200
    assert client.get("/doctor/").status_code == 303


def test_per_ip_rate_limit_on_sign_in():
    from tests.conftest import make_app

    limited = make_app(SIGNIN_RATE_LIMIT="3/minute")
    client = limited.test_client()
    statuses = [client.post("/login", data={"login": "x", "password": "y"}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    other_ip = client.post("/login", data={"login": "x", "password": "y"}, environ_base={"REMOTE_ADDR": "10.1.1.1"})
    assert other_ip.status_code == 200


def test_forwarded_for_is_ignored_without_a_trusted_proxy():
    from tests.conftest import make_app

    limited = make_app(SIGNIN_RATE_LIMIT="2/minute")
    client = limited.test_client()
    statuses = [
        client.post(
            "/login", data={"login": "x", "password": "y"}, headers={"X-Forwarded-For": f"203.0.113.{i}"}
        ).status_code
        for i in range(3)
    ]
    assert statuses[-1] == 429


def test_forwarded_for_is_read_behind_one_trusted_proxy():
    from tests.conftest import make_app

    limited = make_app(SIGNIN_RATE_LIMIT="2/minute", TRUSTED_PROXIES=1)
    client = limited.test_client()
    statuses = [
        client.post(
            "/login", data={"login": "x", "password": "y"}, headers={"X-Forwarded-For": f"203.0.113.{i}"}
        ).status_code
        for i in range(3)
    ]
    assert statuses == [200, 200, 200]
