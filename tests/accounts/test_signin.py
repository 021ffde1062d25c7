"""Sign-in in two steps: password, then the one-time code."""

from datetime import timedelta

import pytest

from portal.accounts import signin, totp
from portal.core import clock
from portal.extensions import db
from portal.models import AuditEvent, UserSession
from tests.fixtures.clients import fresh_code, page, sign_in, text_of

GENERIC = "not correct"


def _events(name):
    return db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == name)).all()


def test_password_then_code_signs_in(client, people):
    patient = people["patient"]
    response = client.post("/login", data={"login": patient.login, "password": patient.password})
    assert response.status_code == 303 and response.headers["Location"] == "/login/code"
    # Not signed in yet: the patient space still sends to sign-in.
    assert client.get("/patient/").headers["Location"].startswith("/login")
    response = client.post("/login/code", data={"code": fresh_code(patient)})
    assert response.status_code == 303 and response.headers["Location"] == "/patient/"
    assert client.get("/patient/").status_code == 200
    assert _events("signin.succeeded")


def test_the_cookie_changes_at_each_step(client, people):
    patient = people["patient"]
    client.get("/login")
    before = client.get_cookie("portal_session")
    client.post("/login", data={"login": patient.login, "password": patient.password})
    middle = client.get_cookie("portal_session")
    client.post("/login/code", data={"code": fresh_code(patient)})
    after = client.get_cookie("portal_session")
    values = [c.value if c else None for c in (before, middle, after)]
    assert len(set(values)) == 3


def test_unknown_wrong_and_locked_get_the_same_answer(client, people, app_ctx):
    patient = people["patient"]
    answers = []
    for login, password in [("0000000000000", "whatever it is"), (patient.login, "wrong password here")]:
        response = client.post("/login?lang=en", data={"login": login, "password": password})
        answers.append((response.status_code, page(response).select_one(".flash-error").get_text()))
    patient.account.credential.locked_until = clock.now() + timedelta(minutes=5)
    db.session.commit()
    response = client.post("/login?lang=en", data={"login": patient.login, "password": patient.password})
    answers.append((response.status_code, page(response).select_one(".flash-error").get_text()))
    assert len(set(answers)) == 1 and answers[0][0] == 200
    assert GENERIC in answers[0][1]


def test_a_wrong_code_does_not_sign_in(client, people):
    patient = people["patient"]
    client.post("/login", data={"login": patient.login, "password": patient.password})
    wrong = "000000" if fresh_code(patient) != "000000" else "111111"
    response = client.post("/login/code?lang=en", data={"code": wrong})
    assert response.status_code == 200 and GENERIC in text_of(response)
    assert client.get("/patient/").status_code == 303


def test_the_code_step_needs_the_password_step(client):
    assert client.get("/login/code").headers["Location"] == "/login"
    assert client.post("/login/code", data={"code": "123456"}).headers["Location"] == "/login"


def test_failures_lock_the_account_with_growing_delays(client, people, app_ctx):
    patient = people["patient"]
    for _ in range(signin.LOCK_AFTER):
        client.post("/login", data={"login": patient.login, "password": "not my password at all"})
    credential = patient.account.credential
    db.session.refresh(credential)
    assert credential.failed_attempts == signin.LOCK_AFTER
    first_lock = credential.locked_until - clock.now()
    assert timedelta(seconds=50) < first_lock <= timedelta(minutes=1)
    # Even the right password is refused while locked.
    response = client.post("/login", data={"login": patient.login, "password": patient.password})
    assert response.status_code == 200
    assert _events("account.locked")
    assert signin.lock_delay(6) == timedelta(minutes=2)
    assert signin.lock_delay(40) == timedelta(minutes=signin.MAX_LOCK_MINUTES)
    assert signin.lock_delay(signin.HARD_LOCK_AFTER) > timedelta(days=365)


def test_success_resets_the_failure_counter(client, people, app_ctx):
    patient = people["patient"]
    client.post("/login", data={"login": patient.login, "password": "not my password at all"})
    sign_in(client, patient)
    db.session.refresh(patient.account.credential)
    assert patient.account.credential.failed_attempts == 0


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "/%09/evil.example/x", "/%0a/evil.example", "/\\evil.example", "https://evil.example/",
     "/%5Cevil.example", " //evil.example"],
)
def test_next_is_followed_only_to_local_paths(client, people, target):
    patient = people["patient"]
    client.post(f"/login?next={target}", data={"login": patient.login, "password": patient.password})
    response = client.post("/login/code", data={"code": fresh_code(patient)})
    assert response.headers["Location"] == "/patient/"


def test_next_brings_the_user_back(client, people):
    patient = people["patient"]
    client.post("/login?next=/patient/my-data", data={"login": patient.login, "password": patient.password})
    response = client.post("/login/code", data={"code": fresh_code(patient)})
    assert response.headers["Location"] == "/patient/my-data"


def test_sign_in_creates_a_server_side_session(client, people, app_ctx):
    patient = people["patient"]
    sign_in(client, patient)
    rows = db.session.scalars(db.select(UserSession).where(UserSession.account_id == patient.account.id)).all()
    assert len(rows) == 1 and rows[0].revoked_at is None


def test_audit_rows_hold_no_secrets(client, people, app_ctx):
    patient = people["patient"]
    client.post("/login", data={"login": patient.login, "password": "wrong password value"})
    sign_in(client, patient)
    for event in db.session.scalars(db.select(AuditEvent)):
        dumped = str(event.data)
        assert "wrong password value" not in dumped and patient.password not in dumped
        assert totp.code_for(patient.secret) not in dumped or event.event == "__never__"


def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(app, people):
    client = app.test_client()
    sign_in(client, people["patient"])
    copied = client.get_cookie("portal_session").value
    client.post("/logout")
    thief = app.test_client()
    thief.set_cookie("portal_session", copied)
    assert thief.get("/patient/").headers["Location"].startswith("/login")


def test_signing_in_again_from_the_same_browser_ends_the_session_it_held(app, people):
    client = app.test_client()
    sign_in(client, people["patient"])
    copied = client.get_cookie("portal_session").value
    sign_in(client, people["patient"])  # a POST to /login is taken even while signed in
    assert client.get("/patient/").status_code == 200
    thief = app.test_client()
    thief.set_cookie("portal_session", copied)
    assert thief.get("/patient/").headers["Location"].startswith("/login")
