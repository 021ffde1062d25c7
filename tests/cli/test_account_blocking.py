"""flask --app app accounts suspend | resume | deactivate | grant-admin | revoke-admin."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.activation import codes
from portal.core import clock
from portal.extensions import db
from portal.invoicing import invoices, nomenclature
from portal.models import AccountBlock, AccountStatus, ActivationCode, AuditEvent, Fund, Invoice, UserSession
from tests.fixtures.cli import refused
from tests.fixtures.clients import signed_in_as
from tests.fixtures.invoices import new_invoice

NEWCOMER = {"document_type": "passport", "document_last4": "AB12", "mobile": "+352 621 123 456",
            "language": "fr", "identity_checked": "y"}


def run(runner, *args):
    return runner.invoke(args=["accounts", *args])


def audited(name: str) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(AuditEvent).where(AuditEvent.event == name))


def test_suspend_blocks_at_once_and_resume_lifts_it(runner, app, people):
    patient = people["patient"]
    browser = signed_in_as(app, patient)
    result = run(runner, "suspend", patient.login, "--reason", "Lost phone, called the help desk.")
    assert result.exit_code == 0, result.output
    db.session.refresh(patient.account)
    assert patient.account.status == AccountStatus.BLOCKED
    block = db.session.scalar(db.select(AccountBlock).where(AccountBlock.account_id == patient.account.id))
    assert (block.source, block.reason) == ("operator", "Lost phone, called the help desk.")
    assert browser.get("/patient/").headers["Location"].startswith("/login")  # the cookie gives nothing
    assert audited("account.blocked") == 1
    again = run(runner, "suspend", patient.login, "--reason", "Twice.")
    assert again.exit_code == 0 and "already blocked" in again.output

    result = run(runner, "resume", patient.login, "--reason", "Owner came with an identity card.")
    assert result.exit_code == 0, result.output
    db.session.refresh(patient.account)
    assert patient.account.status == AccountStatus.ACTIVE
    assert audited("account.unblocked") == 1
    assert "was not blocked" in run(runner, "resume", patient.login, "--reason", "Again.").output


def test_a_copied_cookie_of_a_blocked_account_gives_nothing_even_if_its_session_survived(runner, app, people):
    patient = people["patient"]
    browser = signed_in_as(app, patient)
    assert run(runner, "suspend", patient.login, "--reason", "Stolen laptop.").exit_code == 0
    # A session the block somehow missed (a row written in a race): the status alone stops it.
    db.session.execute(db.update(UserSession).where(UserSession.account_id == patient.account.id)
                       .values(revoked_at=None, ended_reason=None))
    db.session.commit()
    assert browser.get("/patient/").headers["Location"].startswith("/login")
    assert browser.get("/patient/invoices").status_code == 303


@pytest.mark.parametrize("args", [
    ("suspend", "{login}", "--reason", "   "),
    ("suspend", "nobody-here", "--reason", "Lost phone."),
    ("resume", "{login}", "--reason", ""),
    ("deactivate", "{login}", "--reason", "Left."),  # a patient: not deactivated by an operator
])
def test_bad_input_is_refused_with_nothing_written(runner, people, args):
    login = people["patient"].login
    result = run(runner, *(part.format(login=login) for part in args))
    refused(result)
    db.session.refresh(people["patient"].account)
    assert people["patient"].account.status == AccountStatus.ACTIVE
    assert db.session.scalar(db.select(db.func.count()).select_from(AccountBlock)) == 0


def test_a_suspend_without_a_reason_is_refused(runner, people):
    result = run(runner, "suspend", people["patient"].login)
    assert result.exit_code != 0 and "--reason" in result.output


def test_deactivating_a_doctor_closes_everything_but_keeps_the_invoices(runner, app, people, make_patient):
    doctor, patient = people["doctor"], people["patient"]
    invoice = new_invoice(patient, doctor)
    newcomer = make_patient(with_account=False)
    pending, _token = codes.issue(newcomer.profile, doctor=doctor.profile, document_type="passport",
                                  document_last4="AB12", mobile="+352621123456")
    db.session.commit()
    browser = signed_in_as(app, doctor)
    result = run(runner, "deactivate", doctor.login, "--reason", "Retired on 30 November.")
    assert result.exit_code == 0, result.output
    assert "1 session(s) ended, 1 pending activation code(s) revoked" in result.output
    db.session.refresh(doctor.account)
    db.session.refresh(pending)
    assert doctor.account.status == AccountStatus.CLOSED
    assert pending.revoked_at is not None and pending.revoke_reason == "deactivated"
    assert browser.get("/doctor/").headers["Location"].startswith("/login")
    assert audited("account.deactivated") == 1
    # The patient still reads the invoice the doctor issued.
    reader = signed_in_as(app, patient)
    assert reader.get(f"/patient/invoices/{invoice.id}").status_code == 200
    # Nor can the doctor sign in again.
    response = app.test_client().post("/login", data={"login": doctor.login, "password": doctor.password})
    assert response.status_code != 303
    refused(run(runner, "deactivate", doctor.login, "--reason", "Twice."), "already closed")


def test_deactivating_an_agent_ends_their_sessions_and_administration(runner, app, make_staff):
    agent = make_staff(administrator=True)
    browser = signed_in_as(app, agent)
    assert run(runner, "deactivate", agent.login, "--reason", "Moved to another service.").exit_code == 0
    db.session.refresh(agent.profile)
    assert agent.profile.is_administrator is False
    assert browser.get("/cns/").headers["Location"].startswith("/login")


def test_a_deactivated_doctor_cannot_issue_codes_or_invoices_even_with_a_surviving_session(app, people, make_patient):
    doctor, patient = people["doctor"], people["patient"]
    newcomer = make_patient(with_account=False)
    browser = signed_in_as(app, doctor)
    # Closed behind the session's back (as if the session had survived deactivation).
    doctor.account.status = AccountStatus.CLOSED
    db.session.commit()
    browser.post("/doctor/activations", data={"matricule": newcomer.profile.matricule, **NEWCOMER})
    service = clock.today() - timedelta(days=2)
    browser.post("/doctor/invoices/new", data={
        "matricule": patient.profile.matricule, "service_date": service.isoformat(), "lines-0-code": "C1",
        "lines-0-quantity": "1", "paid_on_site": "yes", "payer_is_patient": "yes", "submit": "1"})
    assert db.session.scalar(db.select(db.func.count()).select_from(ActivationCode)) == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(Invoice)) == 0
    # The domain refuses too, whoever calls it.
    with pytest.raises(codes.DoctorInactive):
        codes.issue(newcomer.profile, doctor=doctor.profile, document_type="passport",
                    document_last4="AB12", mobile="+352621123456")
    draft = invoices.Draft(patient=patient.profile, service_date=service, paid_on_site=True,
                           payer_is_patient=True, lines=[(nomenclature.act_on("C1", service), 1)])
    with pytest.raises(codes.DoctorInactive):
        invoices.issue(doctor.profile, draft)


def test_grant_and_revoke_administration(runner, make_staff):
    agent = make_staff()
    assert run(runner, "grant-admin", agent.login).exit_code == 0
    db.session.refresh(agent.profile)
    assert agent.profile.is_administrator is True
    assert "already" in run(runner, "grant-admin", agent.login).output
    assert run(runner, "revoke-admin", agent.login).exit_code == 0
    db.session.refresh(agent.profile)
    assert agent.profile.is_administrator is False
    assert audited("staff.administrator_granted") == 1 and audited("staff.administrator_revoked") == 1


@pytest.mark.parametrize("fund", [Fund.CMFEP, Fund.CMFEC, Fund.EMCFL])
def test_another_funds_agent_is_never_made_administrator(runner, make_staff, fund):
    agent = make_staff(fund=fund)
    refused(run(runner, "grant-admin", agent.login), f"works for {fund}")
    db.session.refresh(agent.profile)
    assert agent.profile.is_administrator is False
    assert audited("staff.administrator_granted") == 0


def test_only_staff_accounts_are_made_administrators(runner, people):
    refused(run(runner, "grant-admin", people["doctor"].login), "not a CNS staff account")
    refused(run(runner, "grant-admin", people["patient"].login), "not a CNS staff account")


@pytest.mark.committing  # the demo command commits in its own transaction
def test_the_demo_cns_agent_administers_and_the_cmfep_agent_does_not(runner, app):
    from portal.models import CnsStaff

    assert runner.invoke(args=["demo", "--json"]).exit_code == 0
    with app.app_context():
        staff = {s.staff_id: s.is_administrator for s in db.session.scalars(db.select(CnsStaff))}
    assert staff["CNS0001"] is True
    assert staff["CMFEP001"] is False
