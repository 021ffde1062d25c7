"""Operator commands: flask --app app demo | totp | accounts … | registry import | terms publish |
nomenclature load | purge | maintenance schedule/cancel/list. Thin wrappers: the rules live in the
domain modules they call.

Every command that reads or writes the portal's tables is a `data_command`: it checks the
schema first, and a refusal (portal.core.refused) becomes a message and a non-zero exit, never a
traceback, with nothing written.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_migrate import upgrade

from portal import demo, maintenance
from portal.accounts import registry_import, terms, totp
from portal.core import schema
from portal.core.refused import Refused
from portal.core.worker import scheduler_command, worker_command
from portal.extensions import db
from portal.invoicing import nomenclature
from portal.messaging import delivery
from portal.models import Fund, Role
from portal.privacy import retention
from portal.professionals import operators

MAX_PROBLEMS_SHOWN = 50


def data_command(command):
    """For a command that uses the portal's tables; goes below the command's app context."""

    @functools.wraps(command)
    def checked(*args, **kwargs):
        problem = schema.problem()
        if problem:
            raise click.ClickException(problem)
        try:
            return command(*args, **kwargs)
        except Refused as refused:
            db.session.rollback()
            shown = refused.problems[:MAX_PROBLEMS_SHOWN]
            more = len(refused.problems) - len(shown)
            if more:
                shown.append(f"… and {more} more.")
            raise click.ClickException("\n".join([*shown, "Nothing was written."])) from None

    return checked


def _refuse_in_production() -> None:
    if current_app.config["PORTAL_ENV"] == "production":
        raise click.ClickException("Demo data are never loaded in production.")


@click.command("demo")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="Print the accounts as JSON.")
def demo_command(as_json: bool) -> None:
    """Apply migrations and load the demo data (idempotent)."""
    _refuse_in_production()

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

    try:
        click.echo(totp.code_for(secret.replace(" ", "")))
    except ValueError:  # binascii.Error too: not base32, or too short
        raise click.ClickException("Not a TOTP secret: give the base32 secret the demo command printed.") from None


ENCODING = click.option(
    "--encoding", default="utf-8", show_default=True,
    help="The file's encoding, for example latin-1 or cp1252 (UTF-8 may start with a byte order mark).",
)
DRY_RUN = click.option("--dry-run", is_flag=True, help="Show what would change, and write nothing.")

accounts_cli = AppGroup("accounts", help="Create, unlock, reset, block and close accounts; grant administration.")


@accounts_cli.command("create")
@click.option("--role", type=click.Choice(["doctor", "cns"]), required=True)
@click.option("--login", required=True,
              help="Provider code (doctor) or staff id (CNS): letters A-Z, digits, dots, hyphens, underscores.")
@click.option("--name", required=True)
@click.option("--specialty", default="General practice", show_default=True)
@click.option("--digital/--paper-only", default=True, help="Doctor takes part in digital invoicing.")
@click.option("--fund", type=click.Choice([f.value for f in Fund]), default="CNS", show_default=True)
@click.option("--email", help="Where the account's security alerts go (sign-in from a new browser, changes).")
@data_command
def create_account(role, login, name, specialty, digital, fund, email) -> None:
    """Create an account with a one-time initial password.

    At first sign-in the user replaces that password with their own, then enrols TOTP."""
    _account, password = operators.create(
        Role(role), login, name=name, specialty=specialty, is_digital=digital, fund=fund, email=email
    )
    db.session.commit()
    click.echo(f"Created {role} account {login}. Initial password, to give in person "
               f"(it must be changed at first sign-in): {password}")


REASON = click.option("--reason", required=True, help="Why, in a sentence: staff read it in the list of blocks.")


def _account_command(name: str, *, reason: bool = False):
    """An `accounts` command on one LOGIN (and a --reason), that uses the portal's tables."""

    def register(command):
        command = data_command(command)
        if reason:
            command = REASON(command)
        return accounts_cli.command(name)(click.argument("login")(command))

    return register


def _commit_if(changed: bool, done: str, unchanged: str) -> None:
    if changed:
        db.session.commit()
    click.echo(done if changed else unchanged)


@_account_command("unlock")
def unlock_account(login: str) -> None:
    """Clear the failure counter and lock of an account (audited)."""
    _commit_if(operators.unlock(login), f"Unlocked {login.strip()}.",
               f"{login.strip()} was not locked; nothing changed.")


@_account_command("reset-password")
def reset_password(login: str) -> None:
    """Give a doctor or staff account a new temporary password and end its sessions (audited)."""
    password = operators.reset_password(login)
    db.session.commit()
    click.echo(f"Reset the password of {login.strip()}; every session ended. Temporary password, to give "
               f"in person (it must be replaced at the next sign-in): {password}")


@_account_command("suspend", reason=True)
def suspend_account(login: str, reason: str) -> None:
    """Block an account at once ("I lost my phone"): every session ends, no sign-in (audited)."""
    _commit_if(operators.suspend(login, reason), f"Blocked {login.strip()}; every session ended.",
               f"{login.strip()} was already blocked; nothing changed.")


@_account_command("resume", reason=True)
def resume_account(login: str, reason: str) -> None:
    """Lift the block in force on an account (audited)."""
    _commit_if(operators.resume(login, reason), f"Lifted the block on {login.strip()}.",
               f"{login.strip()} was not blocked; nothing changed.")


@_account_command("deactivate", reason=True)
def deactivate_account(login: str, reason: str) -> None:
    """Close a doctor's or agent's account for good; what they issued stays (audited)."""
    ended, revoked = operators.deactivate(login, reason)
    db.session.commit()
    click.echo(f"Closed {login.strip()}: {ended} session(s) ended, {revoked} pending activation code(s) revoked.")


@_account_command("grant-admin")
def grant_admin(login: str) -> None:
    """Let a CNS agent publish terms of use and block accounts (audited)."""
    _commit_if(operators.set_administrator(login, True), f"{login.strip()} is now an administrator.",
               f"{login.strip()} was already an administrator; nothing changed.")


@_account_command("revoke-admin")
def revoke_admin(login: str) -> None:
    """Withdraw a CNS agent's administration (audited)."""
    _commit_if(operators.set_administrator(login, False), f"{login.strip()} is no longer an administrator.",
               f"{login.strip()} was not an administrator; nothing changed.")


registry_cli = AppGroup("registry", help="The insured-persons registry.")


@registry_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--clear", multiple=True, type=click.Choice(registry_import.CLEARABLE),
    help="Empty this field for the rows whose cell is blank (repeat for several fields). "
         "Without it, a blank cell keeps the stored value.",
)
@ENCODING
@DRY_RUN
@data_command
def import_registry(path: Path, clear: tuple[str, ...], encoding: str, dry_run: bool) -> None:
    """Load insured persons from a CSV file, all rows or none.

    \b
    Columns (comma- or semicolon-separated, header first):
      matricule, surname, given_name, birth_date (YYYY-MM-DD)   required
      mobile, email, fund (default CNS), iban                   optional

    A blank cell keeps what is stored; --clear FIELD empties mobile, email or iban instead.
    Mobile numbers are stored as +352… (a number without a country code is a Luxembourg one).
    One bad row refuses the file, and the errors name each line and column. --dry-run lists
    each person the file would create or change, with the names of the fields, never values."""
    entries = registry_import.plan(path, encoding=encoding, clear=clear)
    unchanged = sum(1 for entry in entries if not entry.is_new and not entry.fields)
    if dry_run:
        for entry in entries:
            if entry.is_new:
                click.echo(f"{entry.matricule}: would be created")
            elif entry.fields:
                click.echo(f"{entry.matricule}: would change {', '.join(entry.fields)}")
        created = sum(1 for entry in entries if entry.is_new)
        click.echo(f"Dry run, nothing written: {created} to create, "
                   f"{len(entries) - created - unchanged} to update, {unchanged} unchanged.")
        return
    created, updated = registry_import.apply(entries)
    db.session.commit()
    click.echo(f"Imported {created} new and {updated} updated insured persons ({unchanged} unchanged).")


terms_cli = AppGroup("terms", help="Versioned terms of use.")


@terms_cli.command("publish")
@click.option(
    "--from",
    "folder",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder with fr.txt, de.txt and en.txt (UTF-8); default: the newest texts shipped with the portal.",
)
@data_command
def publish_terms(folder: Path | None) -> None:
    """Publish a new version; every user must accept it at their next request.

    Texts identical to the current version are refused."""
    texts = terms.read_folder(folder) if folder else terms.bundled_texts(terms.newest_bundled())
    try:
        version = terms.publish_changed(texts)
    except terms.TermsUnchanged as unchanged:
        if folder:
            raise
        raise terms.TermsUnchanged(
            f"{unchanged} They are the texts shipped with the portal; "
            "to publish new ones: flask --app app terms publish --from FOLDER"
        ) from None
    db.session.commit()
    click.echo(f"Published version {version.number} of the terms of use.")


@click.command("purge")
@with_appcontext
@data_command
def purge_command() -> None:
    """Delete what has outlived its retention period (safe to run from cron, idempotent)."""
    counts = retention.purge()
    db.session.commit()
    click.echo(", ".join(f"{name}: {count}" for name, count in counts.items()))


outbox_cli = AppGroup("outbox", help="The SMS and e-mails the portal sends.")


@outbox_cli.command("failed")
@data_command
def outbox_failed() -> None:
    """List the dead letters: messages that failed too often, or were refused for good."""
    letters = delivery.dead_letters()
    for message in letters:
        click.echo(f"{message.id}\t{message.channel}\t{message.recipient}\t{message.kind or '-'}\t"
                   f"attempts {message.attempts}\t{message.last_error or ''}")
    click.echo(f"{len(letters)} failed message(s).")


@outbox_cli.command("retry")
@click.argument("message_id", type=int)
@data_command
def outbox_retry(message_id: int) -> None:
    """Send a failed (or held) message again, with its attempts counted afresh."""
    if not delivery.retry(message_id):
        raise click.ClickException(f"Message {message_id} is neither failed nor held.")
    db.session.commit()
    click.echo(f"Message {message_id} is queued again.")


@outbox_cli.command("deliver")
@data_command
def outbox_deliver() -> None:
    """Queue every message that is due (safe to run from cron, or as the scheduler's repeating job)."""
    count = delivery.sweep()
    db.session.commit()
    click.echo(f"{count} message(s) queued.")


nomenclature_cli = AppGroup("nomenclature", help="The fee schedule of medical acts.")


@nomenclature_cli.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False)
@ENCODING
@DRY_RUN
@data_command
def load_nomenclature(path: Path | None, encoding: str, dry_run: bool) -> None:
    """Insert or update acts from a CSV file (default: the schedule shipped with the portal).

    \b
    Columns: code, key_letter (C, D or K), coefficient (greater than 0, at most two
    decimals), effective_from (YYYY-MM-DD), category, description_en, description_fr,
    description_de. One bad row refuses the file; the errors name each line and column."""
    changes = nomenclature.load(path or nomenclature.SOURCE, encoding=encoding, dry_run=dry_run)
    added = [c for c in changes if c.act is None]
    changed = [c for c in changes if c.act is not None and c.fields]
    unchanged = len(changes) - len(added) - len(changed)
    if dry_run:
        for change in added:
            click.echo(f"{change.row.code} from {change.row.effective_from}: would be added")
        for change in changed:
            click.echo(f"{change.row.code} from {change.row.effective_from}: would change {', '.join(change.fields)}")
        click.echo(f"Dry run, nothing written: {len(added)} to add, {len(changed)} to update, {unchanged} unchanged.")
        return
    db.session.commit()
    click.echo(f"Nomenclature: {len(added)} acts added, {len(changed)} updated, {unchanged} unchanged.")


# What `flask --app app scheduler` queues: (job, every N seconds, or a cron line in UTC).
maintenance_cli = AppGroup("maintenance", help="Maintenance windows, announced on every page before they begin.")
LUXEMBOURG = ZoneInfo("Europe/Luxembourg")


def _moment(_ctx, _param, value: str) -> datetime:
    """`2026-12-20 22:00` as the clocks in Luxembourg read it, or an ISO time with its own offset."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter("write it as 2026-12-20 22:00 (Luxembourg time)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=LUXEMBOURG)).astimezone(UTC)


def _shown(moment: datetime) -> str:
    return moment.astimezone(LUXEMBOURG).strftime("%Y-%m-%d %H:%M %Z")


@maintenance_cli.command("schedule")
@click.option("--from", "starts_at", required=True, callback=_moment, help="Start, Luxembourg time: 2026-12-20 22:00")
@click.option("--to", "ends_at", required=True, callback=_moment, help="End, Luxembourg time: 2026-12-20 23:30")
@click.option("--message-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="UTF-8 text shown under the announcement, as written.")
@data_command
def schedule_maintenance(starts_at: datetime, ends_at: datetime, message_file: Path | None) -> None:
    """Schedule a window: announced from MAINTENANCE_NOTICE_HOURS before, then every request answered 503."""
    try:
        message = message_file.read_text(encoding="utf-8-sig") if message_file else None
    except UnicodeDecodeError:
        raise click.ClickException(f"{message_file} is not UTF-8 text. Nothing was written.") from None
    window = maintenance.schedule(starts_at, ends_at, message)
    db.session.commit()
    click.echo(f"Scheduled maintenance window {window.id}: {_shown(starts_at)} to {_shown(ends_at)}.")


@maintenance_cli.command("cancel")
@click.argument("window_id", type=int)
@data_command
def cancel_maintenance(window_id: int) -> None:
    """Cancel a window that is not over yet (one under way ends at once)."""
    maintenance.cancel(window_id)
    db.session.commit()
    click.echo(f"Cancelled maintenance window {window_id}.")


@maintenance_cli.command("list")
@data_command
def list_maintenance() -> None:
    """The windows not over yet."""
    windows = maintenance.upcoming()
    for window in windows:
        click.echo(f"{window.id}\t{_shown(window.starts_at)}\t{_shown(window.ends_at)}\t{window.message or ''}")
    if not windows:
        click.echo("No maintenance window is scheduled.")


REPEATING = [
    (delivery.sweep_job, 60, None),  # retries whose job was lost, leases of dead workers
    (retention.purge_job, None, "30 2 * * *"),
]


def init_app(app: Flask) -> None:
    for command in (demo_command, totp_command, accounts_cli, registry_cli, terms_cli, purge_command,
                    nomenclature_cli, outbox_cli, maintenance_cli, worker_command,
                    scheduler_command(REPEATING)):
        app.cli.add_command(command)
