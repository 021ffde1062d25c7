"""Operator commands: flask --app app demo | accounts … | registry import | terms publish."""

from __future__ import annotations

import csv
import json
import secrets
from datetime import date
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_migrate import upgrade

from portal import accounts, audit, terms
from portal.extensions import db
from portal.identity import InvalidIdentifier, validate_iban, validate_matricule
from portal.models import Account, CnsStaff, Doctor, Fund, Patient, Role


def _refuse_in_production() -> None:
    if current_app.config["PORTAL_ENV"] == "production":
        raise click.ClickException("Demo data are never loaded in production.")


@click.command("demo")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="Print the accounts as JSON.")
def demo_command(as_json: bool) -> None:
    """Apply migrations and load the demo data (idempotent)."""
    _refuse_in_production()
    from portal import demo

    upgrade()
    created = demo.seed()
    rows = [
        {
            "role": str(item.role),
            "login": item.login,
            "password": item.password,
            "totp_secret": demo.demo_secret(item.login),
            "name": item.name,
        }
        for item in created
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    click.echo("Demo accounts (demo data only — never use these values elsewhere):")
    for row in rows:
        click.echo(
            f"  {row['role']:<8} login {row['login']:<14} password {row['password']:<24} "
            f"TOTP secret {row['totp_secret']}  ({row['name']})"
        )
    click.echo("Add a TOTP secret to an authenticator app, or print a code with: flask --app app totp SECRET")


@click.command("totp")
@with_appcontext
@click.argument("secret")
def totp_command(secret: str) -> None:
    """Print the current one-time code for a (demo) TOTP secret."""
    _refuse_in_production()
    from portal.auth import totp

    click.echo(totp.code_for(secret))


accounts_cli = AppGroup("accounts", help="Create and unlock doctor and CNS staff accounts.")


@accounts_cli.command("create")
@click.option("--role", type=click.Choice(["doctor", "cns"]), required=True)
@click.option("--login", required=True, help="Provider code (doctor) or staff id (CNS).")
@click.option("--name", required=True)
@click.option("--specialty", default="General practice", show_default=True)
@click.option("--digital/--paper-only", default=True, help="Doctor takes part in digital invoicing.")
@click.option("--fund", type=click.Choice([f.value for f in Fund]), default="CNS", show_default=True)
def create_account(role, login, name, specialty, digital, fund) -> None:
    """Create an account with a one-time initial password; the user enrols TOTP at first sign-in."""
    if db.session.scalar(db.select(Account).where(Account.login == login)):
        raise click.ClickException(f"An account with login {login} already exists.")
    account = accounts.create(Role(role), login)
    if role == "doctor":
        db.session.add(
            Doctor(provider_code=login, name=name, specialty=specialty, is_digital_participant=digital, account=account)
        )
    else:
        db.session.add(CnsStaff(staff_id=login, name=name, fund_scope=fund, account=account))
    password = "-".join(secrets.token_urlsafe(6) for _ in range(3))
    accounts.set_password(account, password, method="operator")
    db.session.commit()
    click.echo(f"Created {role} account {login}. Initial password (give it in person): {password}")


@accounts_cli.command("unlock")
@click.argument("login")
def unlock_account(login: str) -> None:
    """Clear the failure counter and lock of an account."""
    account = db.session.scalar(db.select(Account).where(Account.login == login))
    if account is None or account.credential is None:
        raise click.ClickException("No such account.")
    account.credential.failed_attempts = 0
    account.credential.locked_until = None
    db.session.commit()
    click.echo(f"Unlocked {login}.")


registry_cli = AppGroup("registry", help="The insured-persons registry.")
REGISTRY_COLUMNS = ["matricule", "surname", "given_name", "birth_date", "mobile", "email", "fund", "iban"]


def _registry_row(row: dict) -> dict:
    matricule = validate_matricule(row["matricule"])
    fund = (row.get("fund") or "CNS").strip().upper()
    if fund not in {f.value for f in Fund}:
        raise InvalidIdentifier("fund")
    birth = date.fromisoformat(row["birth_date"].strip())
    if birth.strftime("%Y%m%d") != matricule[:8]:
        raise InvalidIdentifier("birth date does not match the matricule")
    surname, given = row["surname"].strip(), row["given_name"].strip()
    if not surname or not given:
        raise InvalidIdentifier("name")
    return {
        "matricule": matricule,
        "surname": surname,
        "given_name": given,
        "birth_date": birth,
        "mobile": (row.get("mobile") or "").strip() or None,
        "email": (row.get("email") or "").strip() or None,
        "fund": fund,
        "iban": validate_iban(row["iban"]) if (row.get("iban") or "").strip() else None,
    }


@registry_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_registry(path: Path) -> None:
    """Load insured persons from a CSV file (all rows or none)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = set(REGISTRY_COLUMNS[:4]) - set(reader.fieldnames or [])
        if missing:
            raise click.ClickException(f"Missing columns: {', '.join(sorted(missing))}")
        rows, errors = [], []
        for line, raw in enumerate(reader, start=2):
            try:
                rows.append(_registry_row(raw))
            except (InvalidIdentifier, ValueError, KeyError, AttributeError) as exc:
                errors.append(f"line {line}: {exc}")
    if errors:
        raise click.ClickException("Nothing imported.\n" + "\n".join(errors[:50]))
    created = updated = 0
    for values in rows:
        person = db.session.scalar(db.select(Patient).where(Patient.matricule == values["matricule"]))
        if person is None:
            db.session.add(Patient(**values))
            created += 1
        else:
            for key, value in values.items():
                setattr(person, key, value)
            updated += 1
    audit.record(audit.REGISTRY_IMPORTED, actor=None, created=created, updated=updated)
    db.session.commit()
    click.echo(f"Imported {created} new and {updated} updated insured persons.")


terms_cli = AppGroup("terms", help="Versioned terms of use.")


@terms_cli.command("publish")
@click.option(
    "--from",
    "folder",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder with fr.txt, de.txt and en.txt; default: the texts shipped with the portal.",
)
def publish_terms(folder: Path | None) -> None:
    """Publish a new version; every user must accept it at their next request."""
    if folder is None:
        version = terms.current_version()
        texts = terms.bundled_texts(version.number if version else 1)
    else:
        texts = {lang: (folder / f"{lang}.txt").read_text(encoding="utf-8") for lang in ("fr", "de", "en")}
    version = terms.publish(texts)
    db.session.commit()
    click.echo(f"Published version {version.number} of the terms of use.")


@click.command("purge")
@with_appcontext
def purge_command() -> None:
    """Delete what has outlived its retention period (safe to run from cron, idempotent)."""
    from portal import retention

    counts = retention.purge()
    db.session.commit()
    click.echo(", ".join(f"{name}: {count}" for name, count in counts.items()))


nomenclature_cli = AppGroup("nomenclature", help="The fee schedule of medical acts.")


@nomenclature_cli.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False)
def load_nomenclature(path: Path | None) -> None:
    """Insert or update acts from a CSV file (default: the schedule shipped with the portal)."""
    from portal import nomenclature

    created, updated = nomenclature.load(path or nomenclature.SOURCE)
    db.session.commit()
    click.echo(f"Nomenclature: {created} acts added, {updated} updated.")


def init_app(app: Flask) -> None:
    for command in (demo_command, totp_command, accounts_cli, registry_cli, terms_cli, purge_command,
                    nomenclature_cli):
        app.cli.add_command(command)
