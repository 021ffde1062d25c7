"""A password someone else chose is replaced at the next sign-in, before anything else opens.

The operator's path (no authenticator yet) is in tests/cli/test_accounts.py; here, an account
that already has one meets the new-password page after its code, never before it."""

from __future__ import annotations

import pytest

from portal import accounts
from portal.accounts import passwords, totp
from portal.extensions import db
from portal.models import AuditEvent
from tests.fixtures.clients import fresh_code, text_of

GIVEN = "given by the operator 4711"
OWN = "violet tractor under the moselle bridge"


@pytest.fixture
def staff(make_staff):
    person = make_staff()
    accounts.set_password(person.account, GIVEN, method="operator", temporary=True)
    db.session.commit()
    person.password = GIVEN
    return person


def _password_step(client, person):
    response = client.post("/login", data={"login": person.login, "password": person.password})
    assert response.status_code == 303, text_of(response)
    return response


def test_the_page_comes_after_the_code_and_the_sign_in_finishes_there(client, staff, app_ctx):
    assert _password_step(client, staff).headers["Location"] == "/login/code"
    assert client.get("/login/new-password").headers["Location"] == "/login"  # not before the code
    response = client.post("/login/code", data={"code": fresh_code(staff)})
    assert response.headers["Location"] == "/login/new-password"
    assert client.get("/cns/").headers["Location"].startswith("/login")  # not signed in yet
    response = client.post("/login/new-password", data={"new_password": OWN, "confirm": OWN})
    assert response.status_code == 303 and response.headers["Location"] == "/cns/"
    assert client.get("/cns/").status_code == 200
    credential = staff.account.credential
    db.session.refresh(credential)
    assert not credential.is_password_temporary and passwords.verify_password(credential.password_hash, OWN)
    methods = db.session.scalars(
        db.select(AuditEvent.data).where(AuditEvent.event == "password.changed", AuditEvent.actor_account_id == staff.account.id)
    ).all()
    assert methods[-1] == {"method": "initial"}


def test_a_recovery_code_leads_to_the_page_too(client, staff, app_ctx):
    codes = totp.issue_recovery_codes(staff.account.id)
    db.session.commit()
    _password_step(client, staff)
    response = client.post("/login/recovery", data={"code": codes[0]})
    assert response.headers["Location"] == "/login/new-password"


def test_the_page_is_only_for_a_sign_in_under_way(client, people):
    assert client.get("/login/new-password").headers["Location"] == "/login"
    patient = people["patient"]
    _password_step(client, patient)
    response = client.post("/login/new-password", data={"new_password": OWN, "confirm": OWN})
    assert response.headers["Location"] == "/login"  # a person whose password is their own
