"""Every command that uses the tables says to migrate a database nobody migrated."""

from __future__ import annotations

import click
import pytest
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from portal.config import ROOT
from tests.conftest import make_app
from tests.fixtures.cli import refused

# Commands that need no migrated database: `db` migrates it, `demo` migrates it first, `totp`
# only computes a code.
WITHOUT_TABLES = {"db", "demo", "totp"}

# Arguments each data command is run with. A new command must be added here (the first test
# fails until it is), so it is proven to check the schema too.
CASES = {
    "accounts create": ["--role", "doctor", "--login", "90012345", "--name", "Dr A. Weber"],
    "accounts unlock": ["90012345"],
    "accounts reset-password": ["90012345"],
    "accounts suspend": ["90012345", "--reason", "lost phone"],
    "accounts resume": ["90012345", "--reason", "found"],
    "accounts deactivate": ["90012345", "--reason", "left the practice"],
    "accounts grant-admin": ["T0012345"],
    "accounts revoke-admin": ["T0012345"],
    "registry import": ["{csv}"],
    "terms publish": [],
    "nomenclature load": [],
    "purge": [],
    "worker": ["--burst"],
    "scheduler": [],
    "outbox failed": [],
    "outbox retry": ["1"],
    "outbox deliver": [],
    "maintenance schedule": ["--from", "2030-01-10 22:00", "--to", "2030-01-10 23:00"],
    "maintenance cancel": ["1"],
    "maintenance list": [],
}


def data_commands(group: click.Group, prefix: str = ""):
    for name, command in group.commands.items():
        if not prefix and name in WITHOUT_TABLES:
            continue
        if isinstance(command, click.Group):
            yield from data_commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}"


def test_every_data_command_is_checked_below(app):
    assert sorted(data_commands(app.cli)) == sorted(CASES)


@pytest.mark.committing  # the unmigrated database needs the session of its own app
@pytest.mark.parametrize("command", sorted(CASES))
def test_an_empty_database_gets_told_to_upgrade(tmp_path, command):
    empty = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    csv_file = tmp_path / "registry.csv"
    csv_file.write_text("matricule,surname,given_name,birth_date\n")
    args = [*command.split(), *(arg.replace("{csv}", str(csv_file)) for arg in CASES[command])]
    output = refused(empty.test_cli_runner().invoke(args=args),
                     "The database has no tables yet: run flask --app app db upgrade first.")
    assert "Traceback" not in output and "sqlite3" not in output


@pytest.mark.committing
def test_a_database_one_revision_behind_gets_told_to_upgrade(tmp_path):
    scripts = ScriptDirectory(str(ROOT / "migrations"))
    head = scripts.get_current_head()
    previous = scripts.get_revision(head).down_revision
    behind = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'behind.sqlite3'}")
    with behind.app_context():
        upgrade(revision=previous)
    refused(behind.test_cli_runner().invoke(args=["purge"]),
            f"The database is at revision {previous}, this version needs {head}: run flask --app app db upgrade first.")
