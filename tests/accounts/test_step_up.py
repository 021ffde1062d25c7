"""What moves money or identity asks for the password and a current code again: a copied
signed-in cookie (no password, no phone) cannot change the bank account, the contacts or the
password; the owner hears of every change on the old and the new contacts."""

import re

import pytest

from portal.accounts import stepup
from portal.core.identity import make_iban
from portal.extensions import db
from portal.models import AuditEvent, OutboxMessage, SecurityAlert
from tests.fixtures.clients import fresh_code, page, text_of

NEW_IBAN = make_iban("LU", "0019400644750000")
NEW_PASSWORD = "a fresh violet passphrase for later"


def _alerts(kind):
    return db.session.scalars(db.select(SecurityAlert).where(SecurityAlert.kind == kind)).all()


def _recipients():
    return {m.recipient for m in db.session.scalars(db.select(OutboxMessage)) if "/not-me/" in m.body}


def _failures(person):
    db.session.refresh(person.account.credential)
    return person.account.credential.failed_attempts or 0


@pytest.mark.parametrize("proof", [{}, {"password": "not the password", "code": "123456"}, "wrong code"])
def test_a_copied_cookie_cannot_change_the_bank_account(signed_in, proof):
    client, person = signed_in("patient")
    if proof == "wrong code":
        proof = {"password": person.password, "code": "000000"}
    before = person.profile.iban
    response = client.post("/patient/bank-account?lang=en", data={"iban": NEW_IBAN, **proof})
    assert response.status_code == 400 and page(response).select_one(".error-summary")
    db.session.refresh(person.profile)
    assert person.profile.iban == before and person.profile.iban_changed_at is None
    assert not _alerts("bank_account_changed")
    assert _failures(person) == (1 if proof else 0)  # a wrong try counts towards the lock


def test_the_owner_changes_the_bank_account_with_password_and_code_and_is_told(signed_in):
    client, person = signed_in("patient")
    person.profile.email = "marie@example.lu"
    db.session.commit()
    response = client.post("/patient/bank-account",
                           data={"iban": NEW_IBAN, "password": person.password, "code": fresh_code(person)})
    assert response.status_code == 303
    db.session.refresh(person.profile)
    assert person.profile.iban == NEW_IBAN and person.profile.iban_changed_at is not None
    assert len(_alerts("bank_account_changed")) == 1
    assert _recipients() == {person.profile.mobile, "marie@example.lu"}


@pytest.mark.parametrize("change", [{"mobile": "+352691000999"}, {"email": "thief@example.com"}])
def test_a_copied_cookie_cannot_change_the_contacts(signed_in, change):
    client, person = signed_in("patient")
    data = {"mobile": person.profile.mobile, "email": "", "language": "en", **change}
    response = client.post("/patient/my-data/contact?lang=en", data=data)
    assert response.status_code == 400
    db.session.refresh(person.profile)
    assert (person.profile.mobile, person.profile.email) == ("+352621123456", None)
    assert not _alerts("contact_changed")


def _code_sent_to(address: str) -> str:
    message = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.recipient == address)
                                 .order_by(OutboxMessage.id.desc())).first()
    return re.search(r"\b(\d{6})\b", message.body)[1]


def test_a_new_mobile_is_used_once_its_code_came_back_and_announced_on_old_and_new(signed_in):
    client, person = signed_in("patient")
    old = person.profile.mobile
    response = client.post("/patient/my-data/contact", data={
        "mobile": "+352691000999", "email": "marie@example.lu", "language": "fr",
        "password": person.password, "code": fresh_code(person)})
    assert response.status_code == 303 and response.headers["Location"] == "/patient/my-data/contact/confirm"
    db.session.refresh(person.profile)
    assert (person.profile.mobile, person.profile.email) == (old, None)  # not yet: the codes must come back
    codes = {"mobile": _code_sent_to("+352691000999"), "email": _code_sent_to("marie@example.lu")}
    assert not _alerts("contact_changed")

    wrong = client.post("/patient/my-data/contact/confirm?lang=en",
                        data={"mobile": codes["mobile"], "email": "000000" if codes["email"] != "000000" else "111111"})
    assert wrong.status_code == 400 and "A code is wrong" in text_of(wrong)
    db.session.refresh(person.profile)
    assert person.profile.mobile == old

    client.post("/patient/my-data/contact", data={
        "mobile": "+352691000999", "email": "marie@example.lu", "language": "fr",
        "password": person.password, "code": fresh_code(person)})
    codes = {"mobile": _code_sent_to("+352691000999"), "email": _code_sent_to("marie@example.lu")}
    done = client.post("/patient/my-data/contact/confirm", data=codes)
    assert done.status_code == 303
    db.session.refresh(person.profile)
    assert (person.profile.mobile, person.profile.email) == ("+352691000999", "marie@example.lu")
    assert len(_alerts("contact_changed")) == 1
    assert _recipients() == {old, "+352691000999", "marie@example.lu"}
    again = client.post("/patient/my-data/contact/confirm", data=codes)
    assert again.status_code == 303 and again.headers["Location"] == "/patient/my-data/contact"


def test_removing_a_contact_needs_no_code(signed_in):
    client, person = signed_in("patient")
    person.profile.email = "marie@example.lu"
    db.session.commit()
    response = client.post("/patient/my-data/contact", data={
        "mobile": person.profile.mobile, "email": "", "language": "fr",
        "password": person.password, "code": fresh_code(person)})
    assert response.status_code == 303 and "contact/confirm" not in response.headers["Location"]
    db.session.refresh(person.profile)
    assert person.profile.email is None


def test_the_language_alone_needs_no_step_up(signed_in):
    client, person = signed_in("patient")
    response = client.post("/patient/my-data/contact",
                           data={"mobile": person.profile.mobile, "email": "", "language": "de"})
    assert response.status_code == 303
    db.session.refresh(person.account)
    assert person.account.preferred_language == "de" and not _alerts("contact_changed")


@pytest.mark.parametrize("role", ["patient", "doctor"])
def test_a_copied_cookie_cannot_change_the_password_without_the_code(signed_in, role):
    client, person = signed_in(role)
    before = person.account.credential.password_hash
    response = client.post("/account/password?lang=en", data={
        "current_password": person.password, "code": "000000", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert "code is not correct" in text_of(response)
    db.session.refresh(person.account.credential)
    assert person.account.credential.password_hash == before and _failures(person) == 1


def test_a_password_change_is_announced_to_the_patient(signed_in):
    client, person = signed_in("patient")
    response = client.post("/account/password", data={
        "current_password": person.password, "code": fresh_code(person),
        "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 303
    assert len(_alerts("password_changed")) == 1 and _recipients() == {person.profile.mobile}
    stages = {e.data.get("stage") for e in db.session.scalars(db.select(AuditEvent))}
    assert "password_change" not in stages  # no failure recorded


# --- stepup.check itself: a code is used up only when asked to ---------------------------------


@pytest.mark.parametrize("code", ["", "   "])
def test_a_missing_code_is_never_taken_for_a_right_one(app_ctx, make_patient, code):
    person = make_patient()
    assert stepup.check(person.account, person.password, code, stage="test") == "missing"
    assert stepup.check(person.account, person.password, code, stage="test", use_code=False) is None  # the form says it
    db.session.commit()
    assert _failures(person) == 0


def test_a_code_looked_at_stays_good_and_a_code_used_does_not(app_ctx, make_patient):
    person = make_patient()
    code = fresh_code(person)
    assert stepup.check(person.account, person.password, code, stage="test", use_code=False) is None
    assert stepup.check(person.account, person.password, code, stage="test", use_code=False) is None
    assert stepup.check(person.account, person.password, code, stage="test") is None  # used up now
    assert stepup.check(person.account, person.password, code, stage="test", use_code=False) == "code"
    assert stepup.check(person.account, person.password, code, stage="test") == "code"
    db.session.commit()  # as the caller does: failures are kept
    assert _failures(person) == 2


def test_a_wrong_code_looked_at_counts_as_a_failure(app_ctx, make_patient):
    person = make_patient()
    right = fresh_code(person)
    wrong = "111111" if right != "111111" else "222222"
    assert stepup.check(person.account, person.password, wrong, stage="test", use_code=False) == "code"
    assert stepup.check(person.account, "not the password", right, stage="test", use_code=False) == "password"
    db.session.commit()  # as the caller does: failures are kept
    assert _failures(person) == 2
