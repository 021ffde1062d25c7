"""Attacks on sessions: fixed or copied cookies, and the cookie's own protection.

A session lives on the server (`user_session`); the signed cookie only names it. These
tests plant, copy and replay cookies the way a thief with a moment at someone's browser,
or a malicious browser extension, would. tests/accounts/test_sessions.py and test_signin.py
check the single mechanisms (one copy after sign-out, after a password change); here one
story runs through every way a session ends.
"""

from __future__ import annotations

import hashlib

import pytest

from portal.accounts import passwords, signin
from portal.extensions import db
from portal.models import AccountStatus, UserSession
from tests.conftest import make_app
from tests.core.test_security_headers import in_production
from tests.fixtures.clients import fresh_code, in_english, sign_in, text_of
from tests.security import test_auth_attacks

COOKIE = "portal_session"
DEVICE_COOKIE = "portal_device"  # names the browser, for new-device alerts (portal.accounts.devices)
HTTPS = "https://portal.example.lu"
NEW_PASSWORD = "new violet tractor passphrase"


# The attacker of test_auth_attacks.py: counts what it sends, and fails the test on a 5xx,
# on data shown or on a way in.
attacker = test_auth_attacks.attacker


def cookie_contents(app, value: str | None) -> dict:
    if value is None:
        return {}
    return dict(app.session_interface.get_signing_serializer(app).loads(value))


def cookie_value(client) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


def rows_of(person) -> list[UserSession]:
    return list(db.session.scalars(db.select(UserSession).where(UserSession.account_id == person.account.id)))


def copy_of(app, value: str | None):
    thief = app.test_client()
    if value is not None:
        thief.set_cookie(COOKIE, value)
    return thief


# ---------------------------------------------------------------------------------------
# The session id changes at each step of signing in


def test_the_session_id_is_new_before_sign_in_after_the_password_and_after_the_code(app, people, attacker):
    patient = people["patient"]
    browser = app.test_client()
    browser.get("/login?lang=en")  # choosing a language already sets the cookie
    before = cookie_value(browser)
    assert browser.post("/login", data={"login": patient.login, "password": patient.password}).status_code == 303
    middle = cookie_value(browser)
    assert rows_of(patient) == [], "no server-side session before the second factor"
    assert browser.post("/login/code", data={"code": fresh_code(patient)}).headers["Location"] == "/patient/"
    after = cookie_value(browser)

    assert len({before, middle, after}) == 3
    contents = [cookie_contents(app, value) for value in (before, middle, after)]
    assert "sid" not in contents[0] and "sid" not in contents[1]
    assert contents[1]["signin"]["account"] == patient.account.id and "signin" not in contents[2]
    (row,) = rows_of(patient)
    assert row.id == hashlib.sha256(contents[2]["sid"].encode()).hexdigest()

    # Copies taken before sign-in and between the two steps give nothing afterwards.
    for copied in (before, middle):
        response = attacker.send(copy_of(app, copied), "GET", "/patient/", protected=True)
        assert response.headers["Location"].startswith("/login")

    # Signing in again, in the same browser, gives another id and another row.
    browser.post("/logout")
    sign_in(browser, patient)
    assert cookie_contents(app, cookie_value(browser))["sid"] != contents[2]["sid"]
    assert len({r.id for r in rows_of(patient)}) == 2


def test_a_cookie_planted_by_an_attacker_does_not_carry_over_into_the_victims_session(app, people, attacker):
    """Session fixation: the attacker signs in as themselves and slips their cookie into a
    shared computer's browser; the victim then signs in there."""
    patient, accomplice = people["patient"], people["doctor"]
    planted = app.test_client()
    sign_in(planted, accomplice)
    attackers_cookie = cookie_value(planted)
    shared = app.test_client()
    shared.set_cookie(COOKIE, attackers_cookie)
    # The victim posts the sign-in form in that browser.
    shared.post("/login", data={"login": patient.login, "password": patient.password})
    shared.post("/login/code", data={"code": fresh_code(patient)})
    assert shared.get("/patient/").status_code == 200
    victims_sid = cookie_contents(app, cookie_value(shared))["sid"]
    assert victims_sid != cookie_contents(app, attackers_cookie)["sid"]

    # Signing in ended the session the planted cookie held: it names no session at all now,
    # and certainly not the victim's.
    response = attacker.send(copy_of(app, attackers_cookie), "GET", "/patient/", protected=True)
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    (row,) = rows_of(patient)
    assert row.id == hashlib.sha256(victims_sid.encode()).hexdigest()


def test_a_borrowed_session_cannot_guess_the_password_at_the_password_change_form(app, make_patient, attacker):
    patient = make_patient()
    borrowed = in_english(app.test_client())  # a browser left signed in
    sign_in(borrowed, patient)
    change = {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "code": "123456"}  # no phone: a guess
    for n in range(signin.LOCK_AFTER):
        response = attacker.send(borrowed, "POST", "/account/password",
                                 data={"current_password": f"guess number {n} of many", **change})
        assert response.status_code in (200, 400) and "not correct" in text_of(response)
    # The guesses counted like failed sign-ins: the account is locked, and even the right
    # password is now refused here.
    response = attacker.send(borrowed, "POST", "/account/password", data={"current_password": patient.password,
                                                                          **change})
    assert response.status_code in (200, 400) and "locked" in text_of(response)
    db.session.refresh(patient.account.credential)
    assert signin.is_locked(patient.account.credential)
    assert patient.account.credential.failed_attempts == signin.LOCK_AFTER
    assert passwords.verify_password(patient.account.credential.password_hash, patient.password)


# ---------------------------------------------------------------------------------------
# Cookie flags


def _session_cookies(responses) -> list[dict[str, str]]:
    cookies = []
    for response in responses:
        for header in response.headers.getlist("Set-Cookie"):
            name = header.split("=", 1)[0]
            attributes = {}
            for part in header.split(";")[1:]:
                key, _, value = part.strip().partition("=")
                attributes[key.lower()] = value
            cookies.append({"name": name, **attributes})
    return cookies


def _walk_through_sign_in(client, person, base_url: str) -> list:
    responses = [
        client.get("/login?lang=en", base_url=base_url),
        client.post("/login", data={"login": person.login, "password": person.password}, base_url=base_url),
    ]
    responses.append(client.post("/login/code", data={"code": fresh_code(person)}, base_url=base_url))
    assert responses[-1].headers["Location"] == "/patient/", text_of(responses[-1])
    responses.append(client.get("/patient/", base_url=base_url))
    responses.append(client.post("/logout", base_url=base_url))
    return responses


@pytest.fixture
def production_app(monkeypatch):
    return in_production(monkeypatch)


def test_in_production_every_session_cookie_is_secure_http_only_and_same_site(production_app, people):
    cookies = _session_cookies(_walk_through_sign_in(production_app.test_client(), people["patient"], HTTPS))
    assert len(cookies) >= 3  # language chosen, password step, code step, sign-out
    for cookie in cookies:
        # The portal names its cookie portal_session (no __Host- prefix); these attributes
        # give what the prefix would demand: Secure, Path=/ and no Domain.
        assert cookie["name"] in (COOKIE, DEVICE_COOKIE), cookie
        assert "secure" in cookie and "httponly" in cookie, cookie
        assert cookie["samesite"].lower() in ("lax", "strict"), cookie
        assert cookie["path"] == "/" and "domain" not in cookie, cookie


@pytest.mark.parametrize("environment", ["development", "testing"])
def test_in_every_configuration_the_session_cookie_is_http_only(monkeypatch, people, environment):
    monkeypatch.setenv("PORTAL_ENV", environment)
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    application = make_app(PORTAL_ENV=environment)
    cookies = _session_cookies(_walk_through_sign_in(application.test_client(), people["patient"], "http://localhost"))
    assert cookies
    for cookie in cookies:
        assert cookie["name"] in (COOKIE, DEVICE_COOKIE) and "httponly" in cookie, cookie
        assert cookie["samesite"].lower() in ("lax", "strict"), cookie


# ---------------------------------------------------------------------------------------
# A copied cookie is dead once its session ends


def _sign_out(victim, person):
    assert victim.post("/logout").status_code == 303


def _change_password(victim, person):
    response = victim.post("/account/password", data={
        "current_password": person.password, "code": fresh_code(person), "new_password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
    })
    assert response.status_code == 303
    assert victim.get(f"/{person.account.role}/").status_code == 200, "the browser that changed it stays in"


def _withdraw_consent(victim, person):
    response = victim.post("/patient/my-data/withdraw", data={"understood": "y"})
    assert response.headers["Location"].startswith("/login")


def _withdraw_then_restore(victim, person):
    _withdraw_consent(victim, person)
    sign_in(victim, person)
    assert victim.post("/patient/my-data/restore").headers["Location"] == "/patient/"


def _operator_suspends(victim, person):
    # No operator command exists: an operator sets the status in the database.
    person.account.status = AccountStatus.SUSPENDED
    db.session.commit()


def _erase(victim, person):
    response = victim.post("/patient/my-data/erase?lang=en", data={
        "password": person.password, "code": fresh_code(person), "confirmation": "ERASE",
    })
    assert response.headers["Location"] == "/erased", text_of(response)


ENDINGS = {
    "sign-out": ("patient", _sign_out),
    "password change": ("patient", _change_password),
    "consent withdrawal (suspension)": ("patient", _withdraw_consent),
    "consent withdrawn, then restored": ("patient", _withdraw_then_restore),
    "a doctor suspended by an operator": ("doctor", _operator_suspends),
    "erasure": ("patient", _erase),
}
PROTECTED = {
    "patient": [("GET", "/patient/"), ("GET", "/patient/invoices"), ("GET", "/patient/my-data"),
                ("GET", "/patient/my-data/access-log"), ("POST", "/patient/my-data/export")],
    "doctor": [("GET", "/doctor/"), ("GET", "/doctor/invoices"), ("GET", "/doctor/activations")],
}
SHARED = [("GET", "/account/sessions"), ("GET", "/account/password")]


def refused(response) -> bool:
    if response.status_code in (401, 403):
        return True
    if 200 <= response.status_code < 300:  # an htmx request: an empty answer that sends the page away
        return response.data == b"" and response.headers.get("HX-Redirect", "").startswith("/login")
    return response.status_code in (302, 303) and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_a_cookie_copied_before_the_session_ends_is_refused_afterwards(app, make_patient, make_doctor, attacker,
                                                                       ending):
    role, end = ENDINGS[ending]
    person = make_patient() if role == "patient" else make_doctor()
    victim = in_english(app.test_client())
    sign_in(victim, person)
    # The thief copies the cookie from the victim's own browser while it is signed in;
    # until the session ends the copy works, which is why a stolen cookie matters.
    thief = copy_of(app, cookie_value(victim))
    copied_sid = cookie_contents(app, cookie_value(victim))["sid"]
    assert thief.get(f"/{role}/").status_code == 200

    end(victim, person)

    pages = PROTECTED[role] + SHARED
    for method, path in pages:
        for headers in ({}, {"HX-Request": "true", "HX-Current-URL": f"http://localhost{path}"}):
            response = attacker.send(thief, method, path, protected=True, headers=headers)
            assert refused(response), (ending, method, path, headers, response.status_code, response.headers)
    if ending != "a doctor suspended by an operator":  # there the row stays, and the status refuses
        copied = db.session.get(UserSession, hashlib.sha256(copied_sid.encode()).hexdigest())
        assert copied is None or copied.revoked_at is not None, "the copied session's row is still open"
