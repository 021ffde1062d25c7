"""Operator commands."""

import json

import pytest

from portal.auth import passwords
from portal.extensions import db
from portal.identity import make_matricule
from portal.models import Account, Patient


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
        # A parent with a child under 18 is in the registry.
        assert any(p.birth_date.year > 2010 for p in db.session.scalars(db.select(Patient)))
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


def test_accounts_create_makes_an_account_that_must_enrol(runner, app, app_ctx):
    result = runner.invoke(args=["accounts", "create", "--role", "doctor", "--login", "90555555", "--name", "Dr New"])
    assert result.exit_code == 0, result.output
    password = result.output.strip().rsplit(" ", 1)[-1]
    client = app.test_client()
    response = client.post("/login", data={"login": "90555555", "password": password})
    assert response.headers["Location"] == "/login/enrol"


def test_terms_publish_command(runner, app_ctx):
    from portal import terms

    result = runner.invoke(args=["terms", "publish"])
    assert result.exit_code == 0, result.output
    assert terms.current_version().number >= 1
