"""One-time codes: tolerance, single use (also under concurrency), recovery codes."""

import threading
from datetime import timedelta

import pytest

from portal.accounts import totp
from portal.core import clock
from portal.extensions import db
from portal.models import AuditEvent
from tests.fixtures.clients import sign_in


def _password_step(client, person):
    client.post("/login", data={"login": person.login, "password": person.password})


def test_a_code_is_accepted_only_once(app, people):
    patient = people["patient"]
    first, second = app.test_client(), app.test_client()
    _password_step(first, patient)
    _password_step(second, patient)
    code = totp.code_for(patient.secret)
    assert first.post("/login/code", data={"code": code}).status_code == 303
    assert second.post("/login/code", data={"code": code}).status_code == 200


def test_the_previous_step_is_accepted(client, people):
    patient = people["patient"]
    _password_step(client, patient)
    code = totp.code_for(patient.secret, totp.current_step() - 1)
    assert client.post("/login/code", data={"code": code}).status_code == 303


def test_three_steps_back_is_refused(client, people):
    patient = people["patient"]
    _password_step(client, patient)
    code = totp.code_for(patient.secret, totp.current_step() - 3)
    if code in {totp.code_for(patient.secret, totp.current_step() + d) for d in (-1, 0, 1)}:
        pytest.skip("astronomically unlikely collision of codes between steps")
    assert client.post("/login/code", data={"code": code}).status_code == 200


def test_an_older_code_is_refused_after_a_newer_one(client, app, people):
    patient = people["patient"]
    sign_in(client, patient)  # uses the current step
    other = app.test_client()
    _password_step(other, patient)
    older = totp.code_for(patient.secret, totp.current_step() - 1)
    assert other.post("/login/code", data={"code": older}).status_code == 200


@pytest.mark.committing
def test_two_parallel_requests_with_one_code_sign_in_once(app, make_patient):
    patient = make_patient()
    login, password, secret = patient.login, patient.password, patient.secret
    db.session.close()  # the test's own reads must not hold SQLite's write lock
    clients = [app.test_client() for _ in range(2)]
    for c in clients:
        assert c.post("/login", data={"login": login, "password": password}).status_code == 303
    code = totp.code_for(secret)
    barrier = threading.Barrier(len(clients), timeout=30)
    statuses = []

    def submit(c):
        barrier.wait()
        statuses.append(c.post("/login/code", data={"code": code}).status_code)

    threads = [threading.Thread(target=submit, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 303]


def test_recovery_codes_work_once(app, people, app_ctx):
    patient = people["patient"]
    codes = totp.issue_recovery_codes(patient.account.id)
    db.session.commit()
    assert len(codes) == 10 and len(set(codes)) == 10
    client = app.test_client()
    _password_step(client, patient)
    assert client.post("/login/recovery", data={"code": codes[0].upper()}).status_code == 303
    again = app.test_client()
    _password_step(again, patient)
    assert again.post("/login/recovery", data={"code": codes[0]}).status_code == 200
    used = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == "recovery_code.used")).all()
    assert [event.data["remaining"] for event in used] == [9]


def test_recovery_codes_are_stored_hashed(app_ctx, people):
    from portal.models import RecoveryCode

    codes = totp.issue_recovery_codes(people["patient"].account.id)
    stored = {row.code_hash for row in db.session.scalars(db.select(RecoveryCode))}
    assert not stored & set(codes)


def test_the_secret_is_stored_encrypted(app_ctx, people):
    patient = people["patient"]
    stored = patient.account.credential.totp_secret
    assert patient.secret not in stored
    assert totp.decrypt(stored) == patient.secret


def test_codes_follow_the_clock(app_ctx, people):
    patient = people["patient"]
    code_now = totp.code_for(patient.secret)
    clock.freeze(clock.now() + timedelta(minutes=5))
    assert totp.matching_step(patient.secret, code_now) is None


def test_enrolment_keeps_one_pending_secret_until_a_code_from_it_is_confirmed(app_ctx, people):
    from portal import accounts

    account = people["patient"].account
    credential = account.credential
    secret = totp.pending_secret(credential)
    assert totp.pending_secret(credential) == secret  # the page and its QR code show the same one
    assert secret not in credential.totp_pending_secret  # stored encrypted
    assert totp.enrolment_qr(secret, account.login).lstrip().startswith(b"<?xml")
    code = totp.code_for(secret)
    codes = accounts.enrol_authenticator(account, secret, code)
    assert len(codes) == totp.RECOVERY_CODE_COUNT
    assert credential.totp_pending_secret is None
    assert totp.decrypt(credential.totp_secret) == secret
    assert not totp.consume_code(credential, code)  # the code that confirmed it is used up
    actions = set(db.session.scalars(db.select(AuditEvent.event).where(AuditEvent.actor_account_id == account.id)))
    assert {"totp.enrolled", "recovery_codes.issued"} <= actions
