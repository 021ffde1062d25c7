"""/block: the owner blocks their account with a code sent to the register's contact."""

from __future__ import annotations

import re

import pytest

from portal.extensions import db
from portal.models import AccountBlock, AccountStatus, ContactCode, OutboxMessage
from tests.fixtures.clients import sign_in, text_of


def sent_code(patient) -> str:
    message = db.session.scalars(
        db.select(OutboxMessage).where(OutboxMessage.recipient == patient.profile.mobile)
        .order_by(OutboxMessage.id.desc())
    ).first()
    return re.search(r"\b(\d{6})\b", message.body)[1]


def ask(client, login: str):
    response = client.post("/block?lang=en", data={"login": login})
    assert response.status_code == 303 and response.headers["Location"] == "/block/confirm"
    return client.get("/block/confirm?lang=en")


def blocks() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(AccountBlock))


def test_the_sign_in_page_links_to_it(client):
    assert 'href="/block"' in client.get("/login").get_data(as_text=True)
    assert client.get("/block").status_code == 200


def test_the_owner_blocks_the_account_with_the_code_and_every_session_ends(app, client, people):
    patient = people["patient"]
    thief = app.test_client()
    sign_in(thief, patient)
    ask(client, patient.login)
    response = client.post("/block/confirm?lang=en", data={"code": sent_code(patient)})
    assert response.status_code == 200 and "Your account is blocked" in text_of(response)
    db.session.refresh(patient.account)
    assert patient.account.status == AccountStatus.BLOCKED
    row = db.session.scalar(db.select(AccountBlock))
    assert row.source == "owner"
    # The copied cookie gives nothing now, and the password no longer signs in.
    assert thief.get("/patient/").headers["Location"].startswith("/login")
    again = app.test_client().post("/login", data={"login": patient.login, "password": patient.password})
    assert again.status_code != 303


def test_a_wrong_code_blocks_nothing(client, people):
    patient = people["patient"]
    ask(client, patient.login)
    right = sent_code(patient)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = client.post("/block/confirm?lang=en", data={"code": wrong})
    assert response.status_code == 400 and "not correct" in text_of(response)
    db.session.refresh(patient.account)
    assert patient.account.status == AccountStatus.ACTIVE and blocks() == 0


def test_the_code_works_only_in_the_browser_that_asked_for_it(app, client, people):
    patient = people["patient"]
    ask(client, patient.login)
    other = app.test_client()
    ask(other, "0000000000000")  # a flow of its own, for another login
    assert other.post("/block/confirm", data={"code": sent_code(patient)}).status_code == 400
    assert blocks() == 0


def _visible(response) -> str:
    # The page apart from its CSRF tokens (in the form and in htmx's headers), which differ per session.
    return re.sub(r"[\w-]+\.[\w-]{6}\.[\w-]{20,}", "TOKEN", response.get_data(as_text=True))


@pytest.mark.parametrize("role", ["doctor", "cns"])
def test_the_answer_does_not_say_whether_the_login_exists(app, people, role):
    answers = {}
    for name, login in (("patient", people["patient"].login), ("unknown", "1999010112345"),
                        ("staff", people[role].login)):
        browser = app.test_client()
        answers[name] = _visible(ask(browser, login))
        wrong = browser.post("/block/confirm?lang=en", data={"code": "123456"})
        assert wrong.status_code == 400
        answers[name + " wrong"] = _visible(wrong)
    assert answers["patient"] == answers["unknown"] == answers["staff"]
    assert answers["patient wrong"] == answers["unknown wrong"] == answers["staff wrong"]
    # A code went only to the patient; nothing to a doctor's or agent's login.
    assert db.session.scalar(db.select(db.func.count()).select_from(ContactCode)) == 1
    assert blocks() == 0


def test_the_confirm_page_without_a_flow_goes_back_to_the_start(client):
    response = client.post("/block/confirm", data={"code": "123456"})
    assert response.status_code == 303 and response.headers["Location"] == "/block"


def test_one_code_a_minute_per_person(app, people):
    patient = people["patient"]
    for _ in range(3):
        ask(app.test_client(), patient.login)
    assert db.session.scalar(db.select(db.func.count()).select_from(ContactCode)) == 1


def test_the_steps_are_rate_limited():
    from tests.conftest import make_app

    client = make_app(CODE_RATE_LIMIT="3/minute").test_client()
    statuses = [client.post("/block", data={"login": "1999010112345"}).status_code for _ in range(4)]
    assert statuses == [303, 303, 303, 429]
    assert client.post("/block/confirm", data={"code": "123456"}).status_code == 429  # one budget for both
