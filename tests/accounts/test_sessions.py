"""Server-side sessions: idle lock, idle sign-out, absolute lifetime, revocation."""

from datetime import timedelta

import pytest

from portal.core import clock
from portal.extensions import db
from portal.models import UserSession
from tests.fixtures.clients import fresh_code, sign_in, text_of


def _later(**delta):
    clock.freeze(clock.now() + timedelta(**delta))


def test_a_patient_session_locks_after_one_minute_idle(patient_client):
    client = patient_client
    _later(seconds=59)
    assert client.get("/patient/invoices").status_code == 200
    _later(seconds=61)
    response = client.get("/patient/invoices")
    assert response.status_code == 303
    assert response.headers["Location"] == "/unlock?next=/patient/invoices"


def test_doctors_lock_later_than_patients(app, people):
    client = app.test_client()
    sign_in(client, people["doctor"])
    _later(minutes=5)
    assert client.get("/doctor/").status_code == 200
    _later(minutes=16)
    assert client.get("/doctor/").headers["Location"].startswith("/unlock")


def test_unlock_asks_for_the_password_only_and_returns_to_the_page(patient_client, people):
    client, patient = patient_client, people["patient"]
    _later(seconds=61)
    client.get("/patient/invoices")
    response = client.post("/unlock?next=/patient/invoices", data={"password": "wrong password entirely"})
    assert response.status_code == 200
    response = client.post("/unlock?next=/patient/invoices", data={"password": patient.password})
    assert response.headers["Location"] == "/patient/invoices"
    assert client.get("/patient/invoices").status_code == 200


def test_htmx_requests_on_a_locked_session_get_hx_redirect(patient_client):
    client = patient_client
    _later(seconds=61)
    response = client.get("/patient/invoices", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == "/unlock?next=/patient/invoices"
    assert b"password" not in response.data.lower()


def test_the_unlock_page_does_not_poll_and_a_poll_from_it_keeps_its_return_address(patient_client):
    """A page left open on the unlock form was sent to the unlock form again by every poll, each
    time with the previous address wrapped in a new `next` (and what was typed gone)."""
    client = patient_client
    _later(seconds=61)
    client.get("/patient/invoices")
    unlock_page = client.get("/unlock?next=/patient/claims")
    assert unlock_page.status_code == 200 and b'id="session-status"' not in unlock_page.data
    # A poll still in flight from a page opened before the lock, or from an older copy of the form:
    response = client.get("/session/status", headers={"HX-Request": "true",
                                                      "HX-Current-URL": "http://localhost/unlock?next=/patient/claims"})
    assert response.headers["HX-Redirect"] == "/unlock?next=/patient/claims"


def test_an_unlocked_page_polls_the_session(patient_client):
    assert b'id="session-status"' in patient_client.get("/patient/").data


def test_polling_does_not_keep_the_session_alive(patient_client):
    client = patient_client
    for _ in range(7):
        _later(seconds=10)
        client.get("/session/status", headers={"HX-Request": "true"})
    response = client.get("/patient/")
    assert response.headers["Location"].startswith("/unlock")


def test_the_poll_warns_shortly_before_the_lock(patient_client):
    client = patient_client
    quiet = client.get("/session/status?lang=en", headers={"HX-Request": "true"})
    assert b"session-warning" not in quiet.data
    _later(seconds=45)
    warning = client.get("/session/status?lang=en", headers={"HX-Request": "true"})
    assert b"session-warning" in warning.data and "Stay signed in" in text_of(warning)
    client.post("/session/keepalive", headers={"HX-Request": "true"})
    _later(seconds=45)
    assert client.get("/patient/").status_code == 200


def test_a_locked_poll_redirects_the_page(patient_client):
    client = patient_client
    _later(seconds=61)
    response = client.get("/session/status", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"].startswith("/unlock")


def test_long_idle_signs_out(app, people):
    client = app.test_client()
    sign_in(client, people["doctor"])
    _later(minutes=31)
    response = client.get("/doctor/")
    assert response.headers["Location"].startswith("/login?expired=1")
    assert client.get("/doctor/").headers["Location"].startswith("/login?next=")


def test_absolute_lifetime_ends_even_an_active_session(app, people):
    client = app.test_client()
    sign_in(client, people["doctor"])
    for _ in range(12 * 6 + 1):
        _later(minutes=10)
        response = client.get("/doctor/")
        if response.status_code != 200:
            break
    assert response.headers["Location"].startswith("/login?expired=1")


def test_sessions_page_lists_and_ends_sessions(app, people, app_ctx):
    doctor = people["doctor"]
    first, second = app.test_client(), app.test_client()
    sign_in(first, doctor)
    sign_in(second, doctor)
    listing = first.get("/account/sessions?lang=en")
    assert "this session" in text_of(listing)
    assert first.post("/account/sessions/end-others").status_code == 303
    assert second.get("/doctor/").headers["Location"].startswith("/login")
    assert first.get("/doctor/").status_code == 200


def test_ending_another_accounts_session_is_not_possible(app, people, app_ctx):
    victim, attacker = app.test_client(), app.test_client()
    sign_in(victim, people["patient"])
    sign_in(attacker, people["doctor"])
    victim_session = db.session.scalar(
        db.select(UserSession).where(UserSession.account_id == people["patient"].account.id)
    )
    assert attacker.post(f"/account/sessions/{victim_session.id}/end").status_code == 404
    assert victim.get("/patient/").status_code == 200


def test_password_change_ends_the_other_sessions(app, people):
    doctor = people["doctor"]
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, doctor)
    sign_in(elsewhere, doctor)
    copied = elsewhere.get_cookie("portal_session").value
    response = here.post(
        "/account/password",
        data={
            "current_password": doctor.password,
            "code": fresh_code(doctor),
            "new_password": "new violet tractor passphrase",
            "confirm": "new violet tractor passphrase",
        },
    )
    assert response.status_code == 303
    assert here.get("/doctor/").status_code == 200
    thief = app.test_client()
    thief.set_cookie("portal_session", copied)
    assert thief.get("/doctor/").headers["Location"].startswith("/login")


def test_password_change_needs_the_current_password(app, people):
    client = app.test_client()
    sign_in(client, people["doctor"])
    response = client.post(
        "/account/password?lang=en",
        data={
            "current_password": "not the password",
            "code": fresh_code(people["doctor"]),
            "new_password": "new violet tractor passphrase",
            "confirm": "new violet tractor passphrase",
        },
    )
    assert response.status_code == 200 and "not correct" in text_of(response)


def test_a_suspended_account_loses_its_sessions(app, people, app_ctx):
    from portal.accounts import sessions

    client = app.test_client()
    sign_in(client, people["patient"])
    ended = sessions.end_all(people["patient"].account.id, "suspended")
    db.session.commit()
    assert ended == 1
    assert client.get("/patient/").headers["Location"].startswith("/login")


def test_a_lock_found_by_the_poll_returns_to_the_page_on_screen(patient_client):
    client = patient_client
    _later(seconds=61)
    response = client.get(
        "/session/status",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/patient/invoices?page=2"},
    )
    assert response.headers["HX-Redirect"] == "/unlock?next=/patient/invoices?page%3D2"


def _stay_active_until_the_lifetime_ends(client):
    """A doctor who keeps clicking "stay signed in" every ten minutes for twelve hours."""
    for _ in range(12 * 6 - 1):
        _later(minutes=10)
        assert client.post("/session/keepalive", headers={"HX-Request": "true"}).status_code == 200
    _later(minutes=11)


@pytest.mark.parametrize("limit", ["idle sign-out", "absolute lifetime"])
def test_an_expired_session_sends_htmx_to_the_sign_in_page(app, people, limit):
    client = app.test_client()
    sign_in(client, people["doctor"])
    if limit == "idle sign-out":
        _later(minutes=31)
    else:
        _stay_active_until_the_lifetime_ends(client)
    response = client.get("/doctor/activations", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].startswith("/login?expired=1")
    # Nothing for htmx to swap into the page: no sign-in form inside a fragment.
    assert response.data == b""
    full_page = client.get("/doctor/activations")
    assert full_page.status_code == 303 and full_page.headers["Location"].startswith("/login")


def test_unlocking_after_a_form_sent_while_locked_lands_on_a_page(patient_client, people):
    client, patient = patient_client, people["patient"]
    _later(seconds=61)
    # The form's address answers POST only: it cannot be where unlocking leads back.
    response = client.post("/account/sessions/end-others")
    assert response.status_code == 303
    unlock_page = response.headers["Location"]
    assert unlock_page.startswith("/unlock") and "end-others" not in unlock_page
    response = client.post(unlock_page, data={"password": patient.password})
    assert response.status_code == 303
    landing = client.get(response.headers["Location"])
    assert landing.status_code == 200
    assert response.headers["Location"] == "/patient/"


def test_signing_in_again_after_a_form_sent_on_an_ended_session_lands_on_a_page(app, people):
    doctor = people["doctor"]
    client = app.test_client()
    sign_in(client, doctor)
    _later(minutes=31)
    response = client.post("/account/sessions/end-others")
    sign_in_page = response.headers["Location"]
    assert sign_in_page.startswith("/login?expired=1") and "end-others" not in sign_in_page
    client.post(sign_in_page, data={"login": doctor.login, "password": doctor.password})
    response = client.post("/login/code", data={"code": fresh_code(doctor)})
    assert response.status_code == 303
    assert client.get(response.headers["Location"]).status_code == 200


def test_an_htmx_form_sent_while_locked_returns_to_the_page_on_screen(patient_client, people):
    client, patient = patient_client, people["patient"]
    _later(seconds=61)
    response = client.post(
        "/session/keepalive",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/patient/invoices"},
    )
    assert response.headers["HX-Redirect"] == "/unlock?next=/patient/invoices"
    response = client.post(response.headers["HX-Redirect"], data={"password": patient.password})
    assert response.headers["Location"] == "/patient/invoices"
    assert client.get("/patient/invoices").status_code == 200
