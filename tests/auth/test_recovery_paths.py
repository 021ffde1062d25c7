"""Forgotten password, enrolment of operator-created accounts, rate limits."""

import re

from portal.auth import totp
from portal.extensions import db
from portal.models import AuditEvent
from tests.fixtures.clients import fresh_code, page, text_of

NEW = "a brand new violet passphrase"


def test_reset_with_login_and_code(client, people):
    patient = people["patient"]
    response = client.post(
        "/forgot", data={"login": patient.login, "code": fresh_code(patient), "new_password": NEW, "confirm": NEW}
    )
    assert response.headers["Location"] == "/login"
    assert client.post("/login", data={"login": patient.login, "password": NEW}).status_code == 303


def test_reset_with_a_recovery_code(client, people, app_ctx):
    patient = people["patient"]
    codes = totp.issue_recovery_codes(patient.account.id)
    db.session.commit()
    response = client.post(
        "/forgot", data={"login": patient.login, "code": codes[3], "new_password": NEW, "confirm": NEW}
    )
    assert response.status_code == 303


def test_reset_with_a_wrong_code_changes_nothing(client, people, app_ctx):
    patient = people["patient"]
    old_hash = patient.account.credential.password_hash
    response = client.post(
        "/forgot?lang=en", data={"login": patient.login, "code": "00000-00000", "new_password": NEW, "confirm": NEW}
    )
    assert response.status_code == 200 and "not correct" in text_of(response)
    db.session.refresh(patient.account.credential)
    assert patient.account.credential.password_hash == old_hash


def test_reset_refuses_a_weak_password(client, people):
    patient = people["patient"]
    response = client.post(
        "/forgot?lang=en",
        data={
            "login": patient.login,
            "code": fresh_code(patient),
            "new_password": "password1234",
            "confirm": "password1234",
        },
    )
    assert response.status_code == 400
    assert page(response).select_one("#new_password-error")


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
