"""Operator commands."""

import json

import pytest

from portal import invoices as invoice_rules
from portal.auth import passwords, totp
from portal.extensions import db
from portal.identity import make_matricule
from portal.models import Account, Claim, ClaimState, CnsStaff, Doctor, GuardianLink, Invoice, Patient
from tests.fixtures.clients import page


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


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
    for account in accounts:
        assert passwords.problems(account["password"], login=account["login"]) == []


def test_demo_refuses_to_run_in_production(app, runner):
    app.config["PORTAL_ENV"] = "production"
    try:
        result = runner.invoke(args=["demo"])
    finally:
        app.config["PORTAL_ENV"] = "testing"
    assert result.exit_code != 0 and "production" in result.output


def test_registry_import_loads_valid_rows(runner, tmp_path, app_ctx):
    from datetime import date

    matricule = make_matricule(date(1971, 2, 3), 777)
    csv_file = tmp_path / "registry.csv"
    csv_file.write_text(
        "matricule,surname,given_name,birth_date,mobile,email,fund,iban\n"
        f"{matricule},Feller,Tom,1971-02-03,+352691000000,,CMFEC,LU28 0019 4006 4475 0000\n"
    )
    result = runner.invoke(args=["registry", "import", str(csv_file)])
    assert result.exit_code == 0, result.output
    person = db.session.scalar(db.select(Patient).where(Patient.matricule == matricule))
    assert person.fund == "CMFEC" and person.iban == "LU280019400644750000"


def test_registry_import_is_all_or_nothing(runner, tmp_path, app_ctx):
    from datetime import date

    good = make_matricule(date(1971, 2, 3), 778)
    csv_file = tmp_path / "registry.csv"
    csv_file.write_text(
        "matricule,surname,given_name,birth_date,fund\n"
        f"{good},Feller,Tom,1971-02-03,CNS\n"
        "1971020377700,Bad,Row,1971-02-03,CNS\n"
    )
    result = runner.invoke(args=["registry", "import", str(csv_file)])
    assert result.exit_code != 0 and "line 3" in result.output
    assert db.session.scalar(db.select(Patient).where(Patient.matricule == good)) is None


@pytest.mark.parametrize(
    ("role", "login", "home", "profile"),
    [("doctor", "90555555", "/doctor/activations", Doctor), ("cns", "T905555", "/cns/identity-requests", CnsStaff)],
)
def test_accounts_create_makes_an_account_that_must_enrol(runner, app, app_ctx, role, login, home, profile):
    result = runner.invoke(args=["accounts", "create", "--role", role, "--login", login, "--name", "New Colleague"])
    assert result.exit_code == 0, result.output
    password = result.output.strip().rsplit(" ", 1)[-1]
    client = app.test_client()
    response = client.post("/login", data={"login": login, "password": password})
    assert response.headers["Location"] == "/login/enrol"
    secret = page(client.get("/login/enrol")).select_one("code.secret").get_text().strip()
    response = client.post("/login/enrol", data={"code": totp.code_for(secret)})
    assert response.status_code == 200 and len(page(response).select("ul.codes code")) == 10
    assert client.get(home).status_code == 200
    account = db.session.scalar(db.select(Account).where(Account.login == login))
    assert account.role == role
    assert db.session.scalar(db.select(profile).where(profile.account_id == account.id)).name == "New Colleague"


def test_terms_publish_command(runner, app_ctx):
    from portal import terms

    result = runner.invoke(args=["terms", "publish"])
    assert result.exit_code == 0, result.output
    assert terms.current_version().number >= 1
