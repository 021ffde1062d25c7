"""The erasure form tells every mistake at once, and a mistake in one field does not use up the
one-time code: the person corrects the form and sends it again with the same code."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Credential, ErasureTombstone, Patient
from tests.fixtures.clients import fresh_code, page, signed_in_as, text_of

ERASE = "/patient/my-data/erase?lang=en"


@pytest.fixture
def eraser(app, make_patient):
    person = make_patient()
    browser = signed_in_as(app, person, lang="en")
    browser.get(ERASE)
    return browser, person


def _credential(person) -> Credential:
    db.session.expire_all()
    return db.session.get(Credential, person.account.id)


def _summary(response) -> dict[str, str]:
    """The error summary's links: the field each one leads to, and what it says."""
    links = page(response).select(".error-summary a")
    return {link["href"]: link.get_text(" ", strip=True) for link in links}


def test_every_mistake_is_reported_at_once(eraser):
    browser, person = eraser
    response = browser.post(ERASE, data={"password": "not my password", "code": "", "confirmation": ""})
    assert response.status_code == 400
    summary = _summary(response)
    assert set(summary) == {"#password", "#code", "#confirmation"}, summary
    assert "The password is not correct." in summary["#password"]
    assert "Enter the code your authenticator app shows." in summary["#code"]
    assert "Type the word ERASE to confirm." in summary["#confirmation"]
    assert _credential(person).failed_attempts == 1  # the wrong password counts, as at sign-in


def test_a_wrong_word_keeps_the_code_for_the_corrected_form(eraser):
    browser, person = eraser
    patient_id = person.profile.id
    code = fresh_code(person)
    last_step = _credential(person).totp_last_step
    response = browser.post(ERASE, data={"password": person.password, "code": code, "confirmation": "DELETE"})
    assert response.status_code == 400
    assert set(_summary(response)) == {"#confirmation"}
    credential = _credential(person)
    assert credential.totp_last_step == last_step and credential.failed_attempts == 0

    response = browser.post(ERASE, data={"password": person.password, "code": code, "confirmation": "ERASE"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/erased")
    assert db.session.get(Patient, patient_id) is None
    assert db.session.scalar(select(ErasureTombstone)) is not None


def test_a_wrong_code_is_reported_with_the_word_and_counts(eraser):
    browser, person = eraser
    right = fresh_code(person)
    wrong = "111111" if right != "111111" else "222222"
    response = browser.post(ERASE, data={"password": person.password, "code": wrong, "confirmation": "nope"})
    assert response.status_code == 400
    summary = _summary(response)
    assert set(summary) == {"#code", "#confirmation"}, summary
    assert "This code is not correct" in summary["#code"]
    assert _credential(person).failed_attempts == 1


def test_a_wrong_password_hides_whether_the_code_was_right(eraser):
    """The code is checked only behind the right password, as at sign-in."""
    browser, person = eraser
    response = browser.post(ERASE, data={"password": "not my password", "code": fresh_code(person),
                                         "confirmation": "ERASE"})
    assert set(_summary(response)) == {"#password"}
    assert "This code is not correct" not in text_of(response)



def test_a_code_the_form_refuses_is_not_tried(eraser):
    browser, person = eraser
    response = browser.post(ERASE, data={"password": person.password, "code": "1" * 17, "confirmation": "ERASE"})
    assert set(_summary(response)) == {"#code"}  # too long: the form says so, nothing more
    assert _credential(person).failed_attempts == 0
