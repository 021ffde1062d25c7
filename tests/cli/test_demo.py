"""flask --app app demo: demonstration data, never in production."""

import json

import pytest

from portal.accounts import passwords
from portal.extensions import db
from portal.invoicing import invoices as invoice_rules
from portal.models import Account, Claim, ClaimState, GuardianLink, HelpRequest, Invoice, Patient
from tests.fixtures.cli import refused


@pytest.mark.committing
def test_demo_prints_accounts_as_json_and_is_idempotent(runner, app):
    first = runner.invoke(args=["demo", "--json"])
    assert first.exit_code == 0, first.output
    accounts = json.loads(first.stdout)
    assert {a["role"] for a in accounts} == {"patient", "doctor", "cns"}
    assert all({"role", "login", "password", "totp_secret"} <= set(a) for a in accounts)
    second = runner.invoke(args=["demo", "--json"])
    assert json.loads(second.stdout) == accounts
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Account)) == len(accounts)
        assert all(a.is_demo for a in db.session.scalars(db.select(Account)))
        # A parent holds the space of a child under 18.
        link = db.session.scalars(db.select(GuardianLink)).one()
        assert link.child.birth_date.year > 2010 and link.ended_at is None
        # Invoices of every channel and state, claims in every state and both channels.
        invoices = db.session.scalars(db.select(Invoice)).all()
        assert {i.channel for i in invoices} == {"digital", "paper_qr", "paper"}
        assert {"voided", "expired", "issued"} <= {invoice_rules.state_of(i) for i in invoices}
        claims = db.session.scalars(db.select(Claim)).all()
        assert {c.state for c in claims} == set(ClaimState.ALL)
        assert {c.channel for c in claims} == {"digital", "paper_qr"}
        assert len({c.fund for c in claims}) > 1
        assert all(c.statement is not None for c in claims if c.state == ClaimState.ACCEPTED)
        # The help desk holds one message of the demo patient, answered; the second run added none.
        (question,) = db.session.scalars(db.select(HelpRequest)).all()
        assert db.session.get(Patient, question.patient_id).matricule == accounts[0]["login"]
        assert question.state == "answered" and len(question.replies) == 1
        assert question.replies[0].created_at > question.created_at
    for account in accounts:
        assert passwords.problems(account["password"], login=account["login"]) == []


def test_demo_refuses_to_run_in_production(app, runner):
    app.config["PORTAL_ENV"] = "production"
    try:
        result = runner.invoke(args=["demo"])
    finally:
        app.config["PORTAL_ENV"] = "testing"
    assert result.exit_code != 0 and "production" in result.output


def test_totp_prints_the_current_code_and_refuses_what_is_not_a_secret(runner):
    from portal.accounts import totp
    from portal.core import clock

    clock.freeze(clock.now())  # both codes from the same 30-second step
    secret = totp.new_secret()
    result = runner.invoke(args=["totp", secret])
    assert result.exit_code == 0 and result.output.strip() == totp.code_for(secret)
    for wrong in ("not base32!", "ABCD"):
        refused(runner.invoke(args=["totp", wrong]), "Not a TOTP secret")
