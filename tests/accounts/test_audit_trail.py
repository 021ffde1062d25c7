"""The audit trail: who did what, when (UTC) and from where, and never a secret."""

import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from portal.accounts import signin, terms, totp
from portal.core import clock
from portal.extensions import db
from portal.models import AuditEvent, IdentityRequest
from tests.fixtures.clients import fresh_code, sign_in
from tests.fixtures.images import jpeg as _jpeg

IP = "192.0.2.41"  # documentation range: proves the row took the address of the request
NOON = datetime(2031, 3, 14, 12, 0, tzinfo=UTC)


@pytest.fixture
def browser(app):
    """A browser at a known address, at a known moment."""
    clock.freeze(NOON)
    test_client = app.test_client()
    test_client.environ_base["REMOTE_ADDR"] = IP
    return test_client


def _latest_id() -> int:
    return db.session.scalar(db.select(db.func.max(AuditEvent.id))) or 0


def written_since(mark: int, event: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.id > mark, AuditEvent.event == event).order_by(AuditEvent.id)
        )
    )


def assert_traced(row: AuditEvent, person, *secrets: str) -> None:
    """The row names the account and its role, the UTC time, the address, and holds no secret."""
    if person is None:
        assert row.actor_account_id is None and row.actor_role is None
    else:
        assert row.actor_account_id == person.account.id
        assert row.actor_role == str(person.account.role)
    assert row.occurred_at.utcoffset() == timedelta(0)
    assert abs(row.occurred_at - clock.now()) < timedelta(minutes=2)
    assert row.ip == IP
    dumped = json.dumps(row.data)
    known = [*secrets]
    if person is not None:
        known += [person.password, person.secret]
    for secret in filter(None, known):
        assert secret not in dumped, f"{row.event} holds a secret"


def the_one(mark: int, event: str) -> AuditEvent:
    rows = written_since(mark, event)
    assert len(rows) == 1, f"expected one {event}, found {len(rows)}"
    return rows[0]


def test_a_sign_in_is_traced(browser, people):
    patient = people["patient"]
    mark = _latest_id()
    browser.post("/login", data={"login": patient.login, "password": patient.password})
    code = fresh_code(patient)
    browser.post("/login/code", data={"code": code})
    row = the_one(mark, "signin.succeeded")
    assert_traced(row, patient, code)
    assert row.data == {"method": "totp"}


def test_an_unknown_login_is_traced_without_an_account_or_the_password(browser, people):
    mark = _latest_id()
    browser.post("/login", data={"login": "0000000000000", "password": "my secret guess 1"})
    row = the_one(mark, "signin.failed")
    assert_traced(row, None, "my secret guess 1")
    assert row.data == {"stage": "password", "reason": "unknown"}


def test_a_wrong_password_is_traced_to_the_account(browser, people):
    patient = people["patient"]
    mark = _latest_id()
    browser.post("/login", data={"login": patient.login, "password": "my secret guess 2"})
    row = the_one(mark, "signin.failed")
    assert_traced(row, patient, "my secret guess 2")
    assert row.data == {"stage": "password", "reason": "wrong"}


def test_locking_an_account_is_traced(browser, people):
    doctor = people["doctor"]
    mark = _latest_id()
    for attempt in range(signin.LOCK_AFTER):
        browser.post("/login", data={"login": doctor.login, "password": f"my secret guess {attempt}"})
    row = the_one(mark, "account.locked")
    assert_traced(row, doctor, *(f"my secret guess {attempt}" for attempt in range(signin.LOCK_AFTER)))
    assert row.data["failures"] == signin.LOCK_AFTER


def test_locking_and_unlocking_a_session_are_traced(browser, people):
    patient = people["patient"]
    sign_in(browser, patient)
    mark = _latest_id()
    clock.freeze(clock.now() + timedelta(seconds=61))
    assert browser.get("/patient/").headers["Location"].startswith("/unlock")
    assert_traced(the_one(mark, "session.locked"), patient)
    browser.post("/unlock", data={"password": patient.password})
    assert_traced(the_one(mark, "session.unlocked"), patient)


def test_changing_the_password_is_traced(browser, people):
    doctor = people["doctor"]
    sign_in(browser, doctor)
    mark = _latest_id()
    new = "new violet tractor passphrase"
    response = browser.post(
        "/account/password",
        data={"current_password": doctor.password, "code": fresh_code(doctor), "new_password": new, "confirm": new},
    )
    assert response.status_code == 303
    row = the_one(mark, "password.changed")
    assert_traced(row, doctor, new)
    assert row.data == {"method": "change"}


@pytest.fixture
def new_terms(app_ctx):
    version = terms.publish({"fr": "## Objet\n\nTexte.", "de": "## Gegenstand\n\nText.", "en": "## Purpose\n\nText."})
    db.session.commit()
    return version


@pytest.mark.parametrize(("answer", "event"), [({"refuse": "1"}, "terms.refused"), ({"accept": "y"}, "terms.accepted")])
def test_deciding_on_the_terms_is_traced(browser, people, new_terms, answer, event):
    patient = people["patient"]
    sign_in(browser, patient)
    mark = _latest_id()
    assert browser.post("/terms/accept", data={**answer, "submit": "1"}).status_code == 303
    row = the_one(mark, event)
    assert_traced(row, patient)
    assert row.data == {"version": new_terms.number}


def test_signing_out_is_traced(browser, people):
    cns = people["cns"]
    sign_in(browser, cns)
    mark = _latest_id()
    browser.post("/logout")
    row = the_one(mark, "signout")
    assert_traced(row, cns)
    assert row.data == {"reason": "user"}


def test_signing_in_with_a_recovery_code_is_traced(browser, people):
    patient = people["patient"]
    recovery_codes = totp.issue_recovery_codes(patient.account.id)
    db.session.commit()
    mark = _latest_id()
    browser.post("/login", data={"login": patient.login, "password": patient.password})
    response = browser.post("/login/recovery", data={"code": recovery_codes[0]})
    assert response.status_code == 303
    row = the_one(mark, "recovery_code.used")
    assert_traced(row, patient, *recovery_codes)
    assert row.data == {"remaining": len(recovery_codes) - 1}


def test_a_doctor_looking_up_a_patient_is_traced(browser, people, make_patient):
    doctor = people["doctor"]
    patient = make_patient(with_account=False).profile
    sign_in(browser, doctor)
    mark = _latest_id()
    query = f"matricule={patient.matricule}&birth_date={patient.birth_date.isoformat()}"
    assert browser.get(f"/doctor/activations?{query}").status_code == 200
    row = the_one(mark, "patient.looked_up")
    assert_traced(row, doctor)
    assert row.patient_id == patient.id and row.data == {"purpose": "activation"}


def test_deciding_an_identity_request_is_traced(app, browser, people, make_patient):
    patient = make_patient(with_account=False).profile
    app.test_client().post(
        "/activate/request",
        data={
            "matricule": patient.matricule,
            "surname": patient.surname,
            "given_name": patient.given_name,
            "birth_date": patient.birth_date.isoformat(),
            "mobile": "+352 621 000 111",
            "email": "",
            "consent": "y",
            "document": (io.BytesIO(_jpeg()), "id.jpg"),
        },
        content_type="multipart/form-data",
    )
    filed = db.session.scalar(db.select(IdentityRequest).where(IdentityRequest.patient_id == patient.id))
    staff = people["cns"]
    sign_in(browser, staff)
    mark = _latest_id()
    assert browser.post(f"/cns/identity-requests/{filed.id}/approve").status_code == 303
    row = the_one(mark, "identity_request.decided")
    assert_traced(row, staff)
    assert row.patient_id == patient.id and row.data == {"request_id": filed.id, "decision": "approved"}
