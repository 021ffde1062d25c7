"""An account only its owner can take: a doctor who issued the code and knows the birth date
cannot finish an activation without the code sent to the register's contact, a copied cookie
gives nothing, and a working account changes hands only after a wait its owner can stop."""

from datetime import timedelta

from portal.core import clock
from portal.extensions import db
from portal.models import (
    Account,
    AccountStatus,
    ActivationCode,
    AuditEvent,
    OutboxMessage,
    PendingReactivation,
    SecurityAlert,
    UserSession,
)
from tests.fixtures.activation import STEPS, sent_code, walk
from tests.fixtures.clients import page, sign_in, text_of

NEW_PASSWORD = "violet tractor under the bridge"


def _signs_in(app, login: str, password: str) -> bool:
    return app.test_client().post("/login", data={"login": login, "password": password}).status_code == 303


def _open_sessions(account_id: int) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(UserSession).where(
        UserSession.account_id == account_id, UserSession.revoked_at.is_(None)))


def _account(patient) -> Account | None:
    db.session.expire_all()
    return db.session.get(type(patient), patient.id).account


def test_a_doctor_with_the_code_and_the_birth_date_cannot_finish(app, make_patient, make_doctor, issue_code):
    patient, doctor = make_patient(with_account=False).profile, make_doctor()
    code, token = issue_code(patient, doctor.profile, mobile="+352699000001")  # the doctor's own phone
    thief = app.test_client()
    walk(thief, token, patient.birth_date, until="contact_code")
    sms = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.channel == "sms")).all()
    assert {m.recipient for m in sms} == {patient.mobile}  # the register's mobile, never the typed one
    assert "•" in text_of(thief.get("/activate/continue")) and patient.mobile[-3:] in text_of(
        thief.get("/activate/continue"))
    # Skipping the step does nothing; guessing spends the code.
    response = thief.post("/activate/continue", data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400 and page(response).select_one("#contact_code")
    wrong = "000000" if sent_code() != "000000" else "111111"
    for _ in range(6):
        thief.post("/activate/continue", data={"contact_code": wrong})
    assert thief.post("/activate/continue", data={"contact_code": sent_code()}).status_code != 303
    account = _account(patient)
    assert account.status == AccountStatus.PENDING and account.credential.password_hash is None
    assert db.session.get(ActivationCode, code.id).used_at is None


def test_the_owner_finishes_with_the_code_sent_to_the_register(app, make_patient, make_doctor, issue_code):
    patient, doctor = make_patient(with_account=False).profile, make_doctor()
    _, token = issue_code(patient, doctor.profile)
    client = app.test_client()
    walk(client, token, patient.birth_date)
    assert client.get("/patient/").status_code == 200
    events = [e.event for e in db.session.scalars(db.select(AuditEvent))]
    assert {"activation.contact_code_checked", "activation.completed"} <= set(events)
    kinds = {a.kind for a in db.session.scalars(db.select(SecurityAlert))}
    assert {"code_issued", "activated"} <= kinds


def test_the_resend_button_is_rate_limited(app, make_patient, make_doctor, issue_code):
    patient, doctor = make_patient(with_account=False).profile, make_doctor()
    _, token = issue_code(patient, doctor.profile)
    client = app.test_client()
    walk(client, token, patient.birth_date, until="contact_code")
    count = db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage))
    client.post("/activate/resend")
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == count  # too soon
    clock.freeze(clock.now() + timedelta(minutes=2))
    try:
        assert client.post("/activate/resend").status_code == 303
        assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == count + 1
        assert client.post("/activate/continue", data={"contact_code": sent_code()}).status_code == 303
    finally:
        clock.freeze(None)


def test_without_a_register_contact_the_activation_waits_for_staff(app, make_patient, make_doctor, issue_code,
                                                                   signed_in):
    patient, doctor = make_patient(with_account=False).profile, make_doctor()
    patient.mobile = patient.email = None
    db.session.commit()
    code, token = issue_code(patient, doctor.profile)
    client = app.test_client()
    walk(client, token, patient.birth_date, until="contact_code")
    assert "by post" in text_of(client.get("/activate/continue?lang=en"))
    assert client.post("/activate/continue", data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}) \
        .status_code != 303
    db.session.refresh(code)
    assert code.staff_confirmation_requested_at is not None and code.used_at is None

    staff, _person = signed_in("cns")
    assert patient.full_name in text_of(staff.get("/cns/activation-checks"))
    assert staff.post(f"/cns/activation-checks/{code.id}/confirm", data={"checked": "y"}).status_code == 303
    db.session.refresh(code)
    assert code.staff_confirmed_at is not None and code.staff_confirmed_by_id is not None

    again = app.test_client()
    walk(again, token, patient.birth_date, until="contact_code")
    assert page(again.get("/activate/continue")).select_one("#new_password")  # the code step is skipped
    walk_rest = again.post("/activate/continue", data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert walk_rest.status_code == 303
    assert "activation.staff_confirmed" in {e.event for e in db.session.scalars(db.select(AuditEvent))}


def _cookie(client) -> str:
    return client.get_cookie("portal_session").value


def _replay(app, cookie: str):
    thief = app.test_client()
    thief.set_cookie("portal_session", cookie)
    return thief


def _tries_everything(thief, patient) -> None:
    """Every step's form, posted with the copied cookie: none may do anything."""
    for data in ({"birth_date": patient.birth_date.isoformat()}, {"contact_code": "123456"},
                 {"new_password": "stolen password for me", "confirm": "stolen password for me"},
                 {"code": "123456"}, {"accept": "y", "submit": "1"}):
        response = thief.post("/activate/continue", data=data)
        assert response.status_code == 303 and response.headers["Location"] in ("/activate", "/activate/invalid")
    assert thief.get("/patient/").status_code != 200
    assert thief.get("/activate/authenticator.svg").status_code == 404


def test_a_copied_cookie_from_any_step_gives_nothing_after_the_end(app, make_patient, make_doctor, issue_code):
    from portal.accounts import terms

    terms.publish({"fr": "Texte", "de": "Text", "en": "Text"})  # so that the last step waits for a click
    doctor = make_doctor()
    for step in STEPS:
        patient = make_patient(with_account=False).profile
        _, token = issue_code(patient, doctor.profile)
        client = app.test_client()
        walk(client, token, patient.birth_date, until=step)
        copied = _cookie(client)
        client.get("/activate/continue")  # the page as it was
        _resume(client, patient, step)
        account = _account(patient)
        password_hash = account.credential.password_hash
        _tries_everything(_replay(app, copied), patient)
        account = _account(patient)
        assert account.credential.password_hash == password_hash
        assert _open_sessions(account.id) == 1  # the owner's own, nobody else's


def _resume(client, patient, step: str) -> None:
    from portal.accounts import totp

    for later in STEPS[STEPS.index(step):]:
        if later == "birth_date":
            client.post("/activate/continue", data={"birth_date": patient.birth_date.isoformat()})
        elif later == "contact_code":
            client.post("/activate/continue", data={"contact_code": sent_code()})
        elif later == "password":
            client.post("/activate/continue", data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        elif later == "authenticator":
            secret = page(client.get("/activate/continue")).select_one("code.secret").get_text().replace(" ", "")
            client.post("/activate/continue", data={"code": totp.code_for(secret)})
        else:
            assert client.post("/activate/continue", data={"accept": "y", "submit": "1"}).headers[
                "Location"] == "/patient/"


def test_a_copied_cookie_gives_nothing_once_the_original_moved_on(app, make_patient, make_doctor, issue_code):
    patient, doctor = make_patient(with_account=False).profile, make_doctor()
    _, token = issue_code(patient, doctor.profile)
    client = app.test_client()
    walk(client, token, patient.birth_date, until="contact_code")
    copied = _cookie(client)
    assert client.post("/activate/continue", data={"contact_code": sent_code()}).status_code == 303
    thief = _replay(app, copied)
    response = thief.post("/activate/continue", data={"contact_code": "123456"})
    assert response.headers["Location"] in ("/activate", "/activate/invalid")
    # The original goes on as if nothing happened.
    assert page(client.get("/activate/continue")).select_one("#new_password")


def test_an_active_account_changes_only_after_the_wait(app, make_patient, make_doctor, issue_code):
    person, doctor = make_patient(), make_doctor()
    _, token = issue_code(person.profile, doctor.profile)
    client = app.test_client()
    walk(client, token, person.profile.birth_date)
    assert client.get("/patient/").status_code != 200  # not signed in: nothing changed yet
    assert _signs_in(app, person.login, person.password)
    assert not _signs_in(app, person.login, NEW_PASSWORD)
    pending = db.session.scalars(db.select(PendingReactivation)).one()
    assert pending.effective_at is not None and pending.applied_at is None
    assert "reactivation" in {a.kind for a in db.session.scalars(db.select(SecurityAlert))}
    clock.freeze(clock.now() + timedelta(hours=app.config["REACTIVATION_WAIT"].total_seconds() / 3600 + 1))
    try:
        assert _signs_in(app, person.login, NEW_PASSWORD)
        assert not _signs_in(app, person.login, person.password)
    finally:
        clock.freeze(None)
    db.session.refresh(pending)
    assert pending.applied_at is not None


def test_the_owner_cancels_a_reactivation_while_signed_in(app, make_patient, make_doctor, issue_code):
    person, doctor = make_patient(), make_doctor()
    _, token = issue_code(person.profile, doctor.profile)
    walk(app.test_client(), token, person.profile.birth_date)
    owner = app.test_client()
    sign_in(owner, person)
    home = owner.get("/patient/?lang=en")
    assert "Cancel the new activation" in text_of(home)
    assert owner.post("/patient/reactivation/cancel").status_code == 303
    assert "Cancel the new activation" not in text_of(owner.get("/patient/?lang=en"))
    assert "reactivation.cancelled" in {e.event for e in db.session.scalars(db.select(AuditEvent))}
    clock.freeze(clock.now() + timedelta(days=3))
    try:
        assert not _signs_in(app, person.login, NEW_PASSWORD)
        assert _signs_in(app, person.login, person.password)
    finally:
        clock.freeze(None)


def test_staff_waive_the_wait(app, make_patient, make_doctor, issue_code, signed_in):
    person, doctor = make_patient(), make_doctor()
    _, token = issue_code(person.profile, doctor.profile)
    walk(app.test_client(), token, person.profile.birth_date)
    pending = db.session.scalars(db.select(PendingReactivation)).one()
    staff, _person = signed_in("cns")
    assert person.profile.full_name in text_of(staff.get("/cns/activation-checks"))
    assert staff.post(f"/cns/reactivations/{pending.id}/waive", data={"checked": "y"}).status_code == 303
    assert _signs_in(app, person.login, NEW_PASSWORD)
    db.session.refresh(pending)
    assert pending.waived_by_id is not None


def test_the_not_me_link_of_an_issued_code_blocks_and_stops_activation(app, make_patient, make_doctor, issue_code):
    person, doctor = make_patient(), make_doctor()
    owner = app.test_client()
    sign_in(owner, person)
    _, token = issue_code(person.profile, doctor.profile)
    message = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.body.contains("/not-me/"))).first()
    assert message.recipient == person.profile.mobile
    link = message.body[message.body.index("/not-me/"):].split()[0]
    assert app.test_client().post(link).status_code == 200
    assert _account(person.profile).status == AccountStatus.BLOCKED
    assert _open_sessions(person.account.id) == 0
    assert app.test_client().get(f"/activate/{token}").headers["Location"] == "/activate/invalid"


def test_a_not_me_link_blocks_a_pending_account_too(app, make_patient, make_doctor, issue_code):
    patient, doctor = make_patient(with_account=False).profile, make_doctor()
    _, token = issue_code(patient, doctor.profile)
    client = app.test_client()
    walk(client, token, patient.birth_date, until="password")
    message = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.body.contains("/not-me/"))).first()
    app.test_client().post(message.body[message.body.index("/not-me/"):].split()[0])
    assert _account(patient).status == AccountStatus.BLOCKED
    response = client.post("/activate/continue", data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.headers["Location"] in ("/activate", "/activate/invalid")
    assert _account(patient).credential.password_hash is None


def test_a_doctor_alone_cannot_open_a_child_space(app, make_patient, make_doctor, issue_code):
    from datetime import date

    parent = make_patient()
    child = make_patient(birth=date(clock.today().year - 8, 3, 1), with_account=False).profile
    doctor = make_doctor()
    _, token = issue_code(child, doctor.profile, guardian=parent.profile)
    thief = app.test_client()
    sign_in(thief, doctor)  # signed in, but as the doctor, not as the parent
    thief.get(f"/activate/{token}")
    thief.post("/activate/continue", data={"birth_date": child.birth_date.isoformat()})
    response = thief.post("/activate/continue", data={"submit": "1"})
    assert response.status_code != 303
    from portal.models import GuardianLink

    assert db.session.scalars(db.select(GuardianLink)).all() == []


def test_the_not_me_link_of_a_reactivation_blocks_and_cancels_it(app, make_patient, make_doctor, issue_code):
    person, doctor = make_patient(), make_doctor()
    _, token = issue_code(person.profile, doctor.profile)
    walk(app.test_client(), token, person.profile.birth_date)
    alert = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.body.contains("/not-me/"))
                               .order_by(OutboxMessage.id.desc())).first()
    app.test_client().post(alert.body[alert.body.index("/not-me/"):].split()[0])
    pending = db.session.scalars(db.select(PendingReactivation)).one()
    db.session.refresh(pending)
    assert pending.cancelled_at is not None and _account(person.profile).status == AccountStatus.BLOCKED
    clock.freeze(clock.now() + timedelta(days=3))
    try:
        assert not _signs_in(app, person.login, NEW_PASSWORD)
    finally:
        clock.freeze(None)


def test_the_purge_removes_expired_flows(app, make_patient, make_doctor, issue_code):
    from portal.models import ActivationFlow
    from portal.privacy import retention

    patient, doctor = make_patient(with_account=False).profile, make_doctor()
    _, token = issue_code(patient, doctor.profile)
    app.test_client().get(f"/activate/{token}")
    assert retention.purge()["activation_flows"] == 0
    clock.freeze(clock.now() + timedelta(minutes=31))
    try:
        assert retention.purge()["activation_flows"] == 1
    finally:
        clock.freeze(None)
    assert db.session.scalars(db.select(ActivationFlow)).all() == []
