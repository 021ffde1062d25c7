"""A first activation left half-way is finished later: with the same link (the code's proofs
again), or by signing in with the password chosen; the sign-in says the activation is unfinished
only to someone who gave the right password."""

from __future__ import annotations

import pytest

from portal.accounts import terms, totp
from portal.activation import codes
from portal.extensions import db
from portal.models import AccountStatus, AuditEvent, Patient
from tests.fixtures.activation import sent_code, walk
from tests.fixtures.clients import page, text_of

PASSWORD = "violet tractor under the bridge"
UNFINISHED = "Your activation is not finished"
FAILED = "The login, password or code is not correct"
STEP_FIELDS = {"password": "new_password", "authenticator": "code", "terms": "accept"}


@pytest.fixture
def left(app, make_patient, make_doctor, issue_code):
    """left(step) -> (patient, token, secret): an activation left just before `step`."""

    terms.publish({"fr": "Texte", "de": "Text", "en": "Text"})  # a terms step to stop before
    db.session.commit()

    def leave(step: str):
        patient = make_patient(with_account=False)
        _, token = issue_code(patient.profile, make_doctor().profile)
        secret = walk(app.test_client(), token, patient.profile.birth_date, until=step, password=PASSWORD)
        person = db.session.get(Patient, patient.profile.id)
        db.session.refresh(person)
        assert person.account.status == AccountStatus.PENDING
        return person, token, secret

    return leave


def step_shown(client) -> str:
    shown = page(client.get("/activate/continue"))
    return next(step for step, name in STEP_FIELDS.items() if shown.select_one(f"input[name={name}]"))


def resumed(name: str) -> list[dict]:
    return [event.data for event in db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == name))]


@pytest.mark.parametrize("step", ["password", "authenticator", "terms"])
def test_the_same_link_asks_the_proofs_again_then_goes_on_where_it_stopped(app, left, step):
    person, token, _secret = left(step)
    client = app.test_client()
    assert client.get(f"/activate/{token}").headers["Location"] == "/activate/continue"
    assert page(client.get("/activate/continue")).select_one("input[name=birth_date]")  # not skipped
    client.post("/activate/continue", data={"birth_date": person.birth_date.isoformat()})
    assert page(client.get("/activate/continue")).select_one("input[name=contact_code]")
    moved = client.post("/activate/continue", data={"contact_code": sent_code()})
    assert moved.headers["Location"] == "/activate/continue"
    assert step_shown(client) == step
    assert resumed("activation.resumed")[-1]["step"] == step and resumed("activation.resumed")[-1]["by"] == "link"


def test_a_wrong_birth_date_on_the_way_back_counts_like_the_first_time(app, left):
    person, token, _secret = left("terms")
    client = app.test_client()
    client.get(f"/activate/{token}")
    refused = client.post("/activate/continue", data={"birth_date": "1901-01-01"})
    assert refused.status_code == 200 and page(refused).select_one("#birth_date-error")
    code = db.session.scalar(db.select(codes.ActivationCode).where(codes.ActivationCode.patient_id == person.id))
    db.session.refresh(code)
    assert code.birth_date_failures == 1


def test_signing_in_with_the_password_goes_on_to_the_authenticator(app, left):
    person, _token, _secret = left("authenticator")
    client = app.test_client()
    response = client.post("/login?lang=en", data={"login": person.account.login, "password": PASSWORD})
    assert response.headers["Location"] == "/activate/continue"
    assert step_shown(client) == "authenticator"
    assert resumed("activation.resumed")[-1] == {"code_id": resumed("activation.resumed")[-1]["code_id"],
                                                 "step": "authenticator", "by": "password"}


def test_signing_in_after_the_recovery_codes_asks_the_code_then_the_terms(app, left):
    person, _token, secret = left("terms")
    client = app.test_client()
    response = client.post("/login?lang=en", data={"login": person.account.login, "password": PASSWORD})
    assert response.headers["Location"] == "/login/code"
    assert UNFINISHED in text_of(client.get("/login/code"))
    # The next 30-second step's code (one step of tolerance): the enrolment used the current one.
    response = client.post("/login/code", data={"code": totp.code_for(secret, totp.current_step() + 1)})
    assert response.headers["Location"] == "/activate/continue"
    assert step_shown(client) == "terms"
    assert client.get("/patient/").status_code != 200  # not signed in before the terms
    done = client.post("/activate/continue", data={"accept": "y", "submit": "1"})
    assert done.headers["Location"] == "/patient/"
    assert client.get("/patient/").status_code == 200
    db.session.refresh(person.account)
    assert person.account.status == AccountStatus.ACTIVE


def test_the_unfinished_activation_is_told_only_to_the_right_password(app, left):
    person, _token, _secret = left("terms")
    client = app.test_client()
    wrong = client.post("/login?lang=en", data={"login": person.account.login, "password": "not the password at all"})
    assert wrong.status_code == 200
    assert FAILED in text_of(wrong) and UNFINISHED not in text_of(wrong)
    db.session.refresh(person.account.credential)
    assert person.account.credential.failed_attempts == 1  # a guess counts towards the lock
    right = client.post("/login?lang=en", data={"login": person.account.login, "password": PASSWORD})
    assert right.status_code == 303


def test_a_replaced_code_resumes_nothing(app, left, make_doctor, issue_code):
    person, token, _secret = left("terms")
    issue_code(person, make_doctor().profile)  # the doctor gave a new code: the old one ends
    client = app.test_client()
    assert client.get(f"/activate/{token}").headers["Location"] == "/activate/invalid"
    refused = client.post("/login?lang=en", data={"login": person.account.login, "password": PASSWORD})
    assert refused.status_code == 200
    assert "its code can no longer be used. Ask your doctor for a new activation code." in text_of(refused)
    assert client.get("/activate/continue").headers["Location"] == "/activate"


def test_a_finished_activation_is_not_resumed_by_its_link(app, make_patient, make_doctor, issue_code):
    patient = make_patient(with_account=False)
    _, token = issue_code(patient.profile, make_doctor().profile)
    walk(app.test_client(), token, patient.profile.birth_date)
    assert app.test_client().get(f"/activate/{token}").headers["Location"] == "/activate/invalid"


def test_the_authenticator_step_offers_the_app_link_and_the_key_before_the_qr_code(app, left):
    person, token, _secret = left("authenticator")
    client = app.test_client()
    client.post("/login?lang=en", data={"login": person.account.login, "password": PASSWORD})
    shown = page(client.get("/activate/continue"))
    link = shown.find("a", string="Open in my authenticator app")
    key = shown.select_one("code.secret")
    assert link is not None and link["href"].startswith("otpauth://totp/")
    secret = key.get_text().replace(" ", "")
    assert f"secret={secret}" in link["href"]
    assert all(len(group) <= 4 for group in key.get_text().split())
    order = [tag for tag in shown.find_all(["a", "code", "img"]) if tag in (link, key) or tag.name == "img"]
    assert order.index(link) < order.index(key) < order.index(shown.select_one("figure.qr img"))
