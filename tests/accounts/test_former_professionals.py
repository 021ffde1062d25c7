"""Doctors and agents who left: kept whole for 12 months after deactivation, then the purge
reduces what identifies them to what the audit trail and the fund's records need."""

from __future__ import annotations

from datetime import timedelta

from portal.core import clock
from portal.extensions import db
from portal.models import AuditEvent, Credential, Invoice, RecoveryCode, UserSession
from portal.privacy import retention
from tests.fixtures.clients import signed_in_as, text_of
from tests.fixtures.invoices import new_invoice


def _run(runner, *args):
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _purged(runner) -> dict[str, int]:
    output = _run(runner, "purge").strip()
    return {name: int(count) for name, count in (part.split(": ") for part in output.split(", "))}


def test_a_former_agent_and_doctor_are_reduced_twelve_months_after_deactivation(runner, app, people, make_staff):
    doctor, patient = people["doctor"], people["patient"]
    agent = make_staff()
    agent.profile.email, doctor.profile.email = "agent@cns.lu", "dr@example.lu"
    invoice = new_invoice(patient, doctor)
    db.session.commit()
    signed_in_as(app, agent)  # a session and a credential to go
    staff_reference, provider_code, doctor_name = agent.profile.staff_id, doctor.profile.provider_code, doctor.profile.name
    _run(runner, "accounts", "deactivate", agent.login, "--reason", "Moved to another service.")
    _run(runner, "accounts", "deactivate", doctor.login, "--reason", "Retired.")
    db.session.refresh(agent.account)
    closed = agent.account.closed_at
    assert closed is not None

    clock.freeze(retention.months_before(closed, -12) - timedelta(days=1))
    assert _purged(runner)["former_accounts"] == 0
    db.session.expire_all()
    assert agent.account.login == staff_reference and agent.profile.name == "Agent Test"

    clock.freeze(retention.months_before(closed, -12) + timedelta(days=1))
    assert _purged(runner)["former_accounts"] == 2
    db.session.expire_all()
    for person in (agent, doctor):
        account_id = person.account.id
        assert person.account.login == f"former-{account_id}" and person.account.reduced_at is not None
        for model in (Credential, RecoveryCode, UserSession):
            assert db.session.scalar(db.select(model).where(model.account_id == account_id)) is None
        assert person.profile.email is None
        reduced = db.session.scalars(db.select(AuditEvent).where(
            AuditEvent.event == "account.identification_reduced")).all()
        assert account_id in {row.data["account_id"] for row in reduced}
    # What the trail and the fund's records need stays.
    assert (agent.profile.staff_id, agent.profile.name, agent.profile.fund_scope) == (staff_reference, staff_reference, "CNS")
    assert (doctor.profile.provider_code, doctor.profile.name) == (provider_code, doctor_name)
    assert db.session.get(Invoice, invoice.id).doctor_id == doctor.profile.id
    assert doctor_name in text_of(signed_in_as(app, patient, lang="en").get(f"/patient/invoices/{invoice.id}"))
    # Nobody signs in with the pseudonym, and the purge does not reduce twice.
    refused = app.test_client().post("/login", data={"login": f"former-{agent.account.id}", "password": agent.password})
    assert refused.status_code != 303
    assert _purged(runner)["former_accounts"] == 0


def test_an_account_still_open_is_never_reduced(runner, people):
    clock.freeze(clock.now() + timedelta(days=800))
    assert _purged(runner)["former_accounts"] == 0
    db.session.expire_all()
    assert people["doctor"].account.reduced_at is None
