"""What keeps an account with its owner: codes sent to the register's contacts, alerts with a
"this wasn't me" link, and blocks."""

import re
from datetime import timedelta

from portal.accounts import blocking, contact_codes, security_alerts
from portal.core import clock
from portal.extensions import db
from portal.models import AccountBlock, AccountStatus, AuditEvent, OutboxMessage, UserSession
from tests.fixtures.clients import page, sign_in

FLOW = contact_codes.flow_digest("the-browser-flow-secret")


def _sent_code() -> str:
    message = db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    return re.search(r"\b(\d{6})\b", message.body)[1]


def test_a_code_goes_to_the_register_mobile_and_works_once_in_its_flow(make_patient):
    person = make_patient().profile
    row = contact_codes.send(person, "reset", bound_to=FLOW, language="en")
    message = db.session.scalars(db.select(OutboxMessage)).one()
    assert (message.channel, message.recipient) == ("sms", person.mobile) and row.channel == "sms"
    code = _sent_code()
    assert contact_codes.check("reset", bound_to=contact_codes.flow_digest("another-browser"), code=code) is None
    assert contact_codes.check("activation", bound_to=FLOW, code=code) is None
    assert contact_codes.check("reset", bound_to=FLOW, code=code) is not None
    assert contact_codes.check("reset", bound_to=FLOW, code=code) is None  # used up
    assert code not in str([e.data for e in db.session.scalars(db.select(AuditEvent))])


def test_e_mail_when_the_register_has_no_mobile_and_nothing_without_a_contact(make_patient):
    person = make_patient().profile
    person.mobile, person.email = None, "marie@example.lu"
    assert contact_codes.send(person, "reset", bound_to=FLOW, language="fr").channel == "email"
    person.email = None
    assert contact_codes.send(person, "reset", bound_to=FLOW, language="fr") is None
    assert contact_codes.channel_for(person) is None


def test_five_wrong_tries_spend_the_code_and_it_expires(make_patient):
    person = make_patient().profile
    contact_codes.send(person, "block", bound_to=FLOW, language="fr")
    code = _sent_code()
    wrong = "000000" if code != "000000" else "111111"
    for _attempt in range(contact_codes.MAX_ATTEMPTS):
        assert contact_codes.check("block", bound_to=FLOW, code=wrong) is None
    assert contact_codes.check("block", bound_to=FLOW, code=code) is None

    contact_codes.send(person, "block", bound_to=FLOW, language="fr")
    code = _sent_code()
    clock.freeze(clock.now() + contact_codes.LIFETIME + timedelta(seconds=1))
    try:
        assert contact_codes.check("block", bound_to=FLOW, code=code) is None
    finally:
        clock.freeze(None)


def test_a_new_code_replaces_the_one_before(make_patient):
    person = make_patient().profile
    contact_codes.send(person, "reset", bound_to=FLOW, language="fr")
    first = _sent_code()
    contact_codes.send(person, "reset", bound_to=FLOW, language="fr")
    second = _sent_code()
    if first != second:
        assert contact_codes.check("reset", bound_to=FLOW, code=first) is None
    assert contact_codes.check("reset", bound_to=FLOW, code=second) is not None


def test_blocking_ends_every_session_and_stops_sign_in_until_lifted(app, signed_in, people):
    client, person = signed_in("patient")
    block = blocking.block(person.account, source="operator", reason="lost phone")
    db.session.commit()
    assert person.account.status == AccountStatus.BLOCKED and block.previous_status == AccountStatus.ACTIVE
    assert not db.session.scalars(
        db.select(UserSession).where(UserSession.account_id == person.account.id, UserSession.revoked_at.is_(None))
    ).all()
    assert "/login" in client.get("/patient/").headers["Location"]
    again = app.test_client().post("/login", data={"login": person.login, "password": person.password})
    assert again.status_code == 200  # the same answer as a wrong password
    assert blocking.block(person.account, source="staff", reason="again") is block  # one block in force

    assert blocking.unblock(person.account, reason="identity checked at the desk")
    assert person.account.status == AccountStatus.ACTIVE
    assert not blocking.unblock(person.account, reason="twice")
    assert sign_in(app.test_client(), person).status_code == 303


def test_lifting_a_block_gives_back_a_withdrawal_of_consent(make_patient):
    person = make_patient()
    person.account.status = AccountStatus.SUSPENDED
    blocking.block(person.account, source="owner", reason="lost phone")
    blocking.unblock(person.account, reason="found it")
    assert person.account.status == AccountStatus.SUSPENDED


def test_an_alert_reaches_every_register_contact_and_its_link_blocks_the_account(app, signed_in):
    client, person = signed_in("patient")
    patient = person.profile
    patient.email = "marie@example.lu"
    alert = security_alerts.announce(person.account, patient, "bank_account_changed", also=[("sms", "+352691000999")])
    db.session.commit()
    messages = db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert {(m.channel, m.recipient) for m in messages} == {
        ("sms", patient.mobile), ("email", "marie@example.lu"), ("sms", "+352691000999")}
    link = re.search(r"https?://\S+/not-me/\S+", messages[0].body)[0]
    path = "/" + link.split("/", 3)[3]

    visitor = app.test_client()
    asking = visitor.get(path + "?lang=en")
    assert asking.status_code == 200
    assert page(asking).select_one("main form [type=submit]")["value"] == "Block my account now"
    assert person.account.status == AccountStatus.ACTIVE  # opening the link (a preview) blocks nothing
    assert visitor.post(path + "?lang=en").status_code == 200
    db.session.refresh(person.account)
    assert person.account.status == AccountStatus.BLOCKED
    assert db.session.scalar(db.select(AccountBlock.source)) == "alert"
    assert "/login" in client.get("/patient/").headers["Location"]
    assert visitor.get(path).status_code == 404  # used once
    db.session.refresh(alert)
    assert alert.used_at is not None


def test_a_made_up_or_expired_alert_link_does_nothing(app, make_patient):
    person = make_patient()
    security_alerts.announce(person.account, person.profile, "password_changed")
    clock.freeze(clock.now() + security_alerts.LIFETIME + timedelta(minutes=1))
    try:
        message = db.session.scalars(db.select(OutboxMessage)).first()
        path = "/" + re.search(r"https?://\S+/not-me/\S+", message.body)[0].split("/", 3)[3]
        client = app.test_client()
        assert client.post(path).status_code == 404
        assert client.post("/not-me/" + "A" * 32).status_code == 404
        assert page(client.get("/not-me/x" * 30)).select_one("h1")
    finally:
        clock.freeze(None)
    assert person.account.status == AccountStatus.ACTIVE
