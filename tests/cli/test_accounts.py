"""flask --app app accounts create | unlock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.accounts import totp
from portal.core import clock
from portal.extensions import db
from portal.models import Account, AuditEvent, CnsStaff, Doctor
from tests.fixtures.cli import refused
from tests.fixtures.clients import fresh_code, page, sign_in, text_of

OWN_PASSWORD = "violet tractor under the moselle bridge"


def create(runner, role="doctor", login="90555555", name="New Colleague", *more):
    return runner.invoke(args=["accounts", "create", "--role", role, "--login", login, "--name", name, *more])


def account(login: str) -> Account | None:
    return db.session.scalar(db.select(Account).where(Account.login == login))


@pytest.mark.parametrize(
    ("role", "login", "home", "profile"),
    [("doctor", "90555555", "/doctor/activations", Doctor), ("cns", "T905555", "/cns/identity-requests", CnsStaff)],
)
def test_the_first_sign_in_replaces_the_initial_password_then_enrols(runner, app, app_ctx, role, login, home, profile):
    result = create(runner, role, login)
    assert result.exit_code == 0, result.output
    initial = result.output.strip().rsplit(" ", 1)[-1]
    client = app.test_client()
    response = client.post("/login", data={"login": login, "password": initial})
    assert response.headers["Location"] == "/login/new-password"
    # Nothing else opens before the new password: neither the space nor the enrolment.
    assert client.get(home).headers["Location"].startswith("/login")
    assert client.get("/login/enrol").headers["Location"] == "/login"
    client.post("/login", data={"login": login, "password": initial})

    same = client.post("/login/new-password?lang=en", data={"new_password": initial, "confirm": initial})
    assert same.status_code == 400 and "other than the one you were given" in text_of(same)
    response = client.post("/login/new-password", data={"new_password": OWN_PASSWORD, "confirm": OWN_PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/login/enrol"

    secret = page(client.get("/login/enrol")).select_one("code.secret").get_text().strip()
    response = client.post("/login/enrol", data={"code": totp.code_for(secret)})
    assert response.status_code == 200 and len(page(response).select("ul.codes code")) == 10
    assert client.get(home).status_code == 200
    created = account(login)
    assert created.role == role and not created.credential.is_password_temporary
    assert db.session.scalar(db.select(profile).where(profile.account_id == created.id)).name == "New Colleague"
    # The operator's password opens nothing any more.
    stranger = app.test_client()
    assert stranger.post("/login", data={"login": login, "password": initial}).status_code == 200


def test_the_new_password_page_follows_the_password_rules(runner, app, app_ctx):
    initial = create(runner).output.strip().rsplit(" ", 1)[-1]
    client = app.test_client()
    client.post("/login", data={"login": "90555555", "password": initial})
    weak = client.post("/login/new-password?lang=en", data={"new_password": "password1234", "confirm": "password1234"})
    assert weak.status_code == 400 and "too common" in text_of(weak)
    differ = client.post("/login/new-password?lang=en", data={"new_password": OWN_PASSWORD, "confirm": OWN_PASSWORD + "x"})
    assert differ.status_code == 400 and "The two passwords differ." in text_of(differ)
    assert account("90555555").credential.is_password_temporary


@pytest.mark.parametrize(
    ("login", "error"),
    [
        (" CNS0042", "starts or ends with a space"),
        ("CNS0042 ", "starts or ends with a space"),
        ("", "The login is empty."),
        ("   ", "The login is empty."),
        ("CNS 0042", "only the letters A to Z"),
        ("CNS\u00a00042", "only the letters A to Z"),  # a non-breaking space
        ("CNS0042\u200b", "only the letters A to Z"),  # a zero-width space
        ("ÄRZT42", "only the letters A to Z"),
        ("-CNS0042", "only the letters A to Z"),
        ("C" * 21, "at most 20 characters"),
    ],
)
def test_a_login_nobody_could_type_back_is_refused(runner, app_ctx, login, error):
    refused(create(runner, "cns", login), error, "Nothing was written.")
    assert db.session.scalar(db.select(db.func.count()).select_from(CnsStaff)) == 0
    assert account(login) is None and account(login.strip()) is None


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (["--name", " Dr A. Weber"], "The name starts or ends with a space."),
        (["--name", "Dr A. Weber "], "The name starts or ends with a space."),
        (["--name", ""], "The name is empty."),
        (["--name", "Dr A.\tWeber"], "The name contains a control character."),
        (["--specialty", " "], "The specialty is empty."),
        (["--login", "9001234567890"], "at most 12 characters"),
    ],
)
def test_blank_or_padded_names_are_refused(runner, app_ctx, options, error):
    refused(create(runner, "doctor", "90012345", "Dr A. Weber", *options), error)
    assert db.session.scalar(db.select(db.func.count()).select_from(Doctor)) == 0


def test_a_login_in_use_is_refused(runner, make_doctor, app_ctx):
    doctor = make_doctor()
    refused(create(runner, "doctor", doctor.login), f"An account with login {doctor.login} already exists.")
    orphan = Doctor(provider_code="90777777", name="Dr Registry", specialty="Surgery")
    db.session.add(orphan)
    db.session.commit()
    refused(create(runner, "doctor", "90777777"), "A doctor with the code 90777777 is already registered.")
    assert account("90777777") is None


def test_unlock_clears_the_lock_and_is_audited(runner, app, make_staff, app_ctx):
    staff = make_staff()
    credential = staff.account.credential
    credential.failed_attempts, credential.locked_until = 7, clock.now() + timedelta(minutes=30)
    db.session.commit()
    result = runner.invoke(args=["accounts", "unlock", staff.login])
    assert result.exit_code == 0 and f"Unlocked {staff.login}." in result.output
    db.session.refresh(credential)
    assert (credential.failed_attempts, credential.locked_until) == (0, None)
    events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == "account.unlocked")).all()
    assert [(e.actor_account_id, e.data) for e in events] == [(None, {"account_id": staff.account.id, "failures": 7})]
    assert sign_in(app.test_client(), staff).status_code == 303


def test_unlock_of_an_unlocked_account_writes_nothing(runner, make_staff, app_ctx):
    staff = make_staff()
    result = runner.invoke(args=["accounts", "unlock", staff.login])
    assert result.exit_code == 0 and "was not locked; nothing changed" in result.output
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.event == "account.unlocked")) is None


def test_unlock_of_an_unknown_login_is_refused(runner, app_ctx):
    refused(runner.invoke(args=["accounts", "unlock", "NOBODY"]), "No account has the login 'NOBODY'.")


def test_reset_password_gives_a_temporary_password_and_ends_every_session(runner, app, make_staff, app_ctx):
    staff = make_staff()
    before = app.test_client()
    assert sign_in(before, staff).status_code == 303
    result = runner.invoke(args=["accounts", "reset-password", staff.login])
    assert result.exit_code == 0, result.output
    temporary = result.output.strip().rsplit(" ", 1)[-1]
    # The session that was open ends, and the old password opens nothing.
    assert before.get("/cns/identity-requests").headers["Location"].startswith("/login")
    assert app.test_client().post("/login", data={"login": staff.login, "password": staff.password}).status_code == 200
    # The temporary password needs the code, then must be replaced before anything else.
    client = app.test_client()
    assert client.post("/login", data={"login": staff.login, "password": temporary}).status_code == 303
    response = client.post("/login/code", data={"code": fresh_code(staff)})
    assert response.headers["Location"] == "/login/new-password"
    events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == "account.password_reset")).all()
    assert [(e.actor_account_id, e.data["account_id"], e.data["sessions"]) for e in events] == [
        (None, staff.account.id, 1)]
    assert temporary not in str(events[0].data)


def test_reset_password_refuses_a_patient_and_an_unknown_login(runner, make_patient, app_ctx):
    patient = make_patient()
    refused(runner.invoke(args=["accounts", "reset-password", patient.login]), "new activation code")
    refused(runner.invoke(args=["accounts", "reset-password", "NOBODY"]), "No account has the login 'NOBODY'.")
