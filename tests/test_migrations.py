"""The schema comes from migrations only; they must match the models exactly."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from portal.extensions import db
from portal.models.types import render_item


@pytest.mark.committing  # reads the schema on its own connection, outside a test transaction
def test_models_and_migrations_agree(app_ctx):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "render_item": render_item})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], f"models differ from migrations: {differences}"


def test_every_model_table_exists(app_ctx):
    tables = set(inspect(db.session.connection()).get_table_names())
    assert set(db.metadata.tables) <= tables


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(app_ctx):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only: PostgreSQL has no journal mode to check")
    connection = db.session.connection()
    assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_0008_makes_operator_passwords_nobody_used_temporary(tmp_path):
    """Accounts an operator created before 0008 and nobody signed in to still hold the password
    the operator saw: their first sign-in replaces it. Nobody else is asked."""
    from flask_migrate import upgrade

    from tests.conftest import make_app

    other = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'before-0008.sqlite3'}")
    accounts = [  # login, role, status, is_demo, totp_secret
        ("90000001", "doctor", "pending", False, None),  # created, never used: flagged
        ("T000002", "cns", "pending", False, None),  # the same for staff
        ("90000003", "doctor", "active", False, "secret"),  # signed in and enrolled
        ("90000004", "doctor", "pending", True, None),  # demo data
        ("1980051710012", "patient", "pending", False, None),  # patients set their own at activation
    ]
    with other.app_context():
        upgrade(revision="0007")
        with db.engine.begin() as connection:
            for number, (login, role, status, is_demo, secret) in enumerate(accounts, start=1):
                connection.execute(
                    text("INSERT INTO account (id, role, login, status, is_demo, created_at) "
                         "VALUES (:id, :role, :login, :status, :demo, CURRENT_TIMESTAMP)"),
                    {"id": number, "role": role, "login": login, "status": status, "demo": is_demo},
                )
                connection.execute(
                    text("INSERT INTO credential (account_id, password_hash, totp_secret, failed_attempts) "
                         "VALUES (:id, 'hash', :secret, 0)"),
                    {"id": number, "secret": secret},
                )
        upgrade()
        with db.engine.connect() as connection:
            flagged = connection.execute(text(
                "SELECT login FROM account JOIN credential ON credential.account_id = account.id "
                "WHERE credential.is_password_temporary ORDER BY login"
            )).scalars().all()
        db.engine.dispose()
    assert flagged == ["90000001", "T000002"]


def test_0014_copies_each_accounts_newest_accepted_terms_to_the_account(tmp_path):
    from flask_migrate import upgrade

    from tests.conftest import make_app

    other = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'before-0014.sqlite3'}")
    decisions = {  # account id -> (version number, accepted) in the order they were taken
        1: [(1, True), (2, True)],
        2: [(1, True), (2, False)],  # refused the second: still on the first
        3: [(1, False)],
        4: [],
    }
    with other.app_context():
        upgrade(revision="0013")
        with db.engine.begin() as connection:
            for number in (1, 2):
                connection.execute(text(
                    "INSERT INTO terms_version (id, number, published_at, text_fr, text_de, text_en) "
                    "VALUES (:n, :n, CURRENT_TIMESTAMP, 'fr', 'de', 'en')"), {"n": number})
            for account_id, taken in decisions.items():
                connection.execute(
                    text("INSERT INTO account (id, role, login, status, is_demo, created_at) "
                         "VALUES (:id, 'doctor', :login, 'active', false, CURRENT_TIMESTAMP)"),
                    {"id": account_id, "login": f"9000000{account_id}"},
                )
                for version, accepted in taken:
                    connection.execute(text(
                        "INSERT INTO terms_decision (account_id, terms_version_id, is_accepted, decided_at) "
                        "VALUES (:a, :v, :ok, CURRENT_TIMESTAMP)"), {"a": account_id, "v": version, "ok": accepted})
        upgrade()
        with db.engine.connect() as connection:
            copied = dict(connection.execute(text("SELECT id, terms_accepted FROM account")).all())
        db.engine.dispose()
    assert copied == {1: 2, 2: 1, 3: None, 4: None}


def test_sqlite_enforces_foreign_keys_again_after_an_upgrade(tmp_path):
    """Migrations switch SQLite's foreign keys off while they rebuild tables (otherwise rebuilding
    `account` would cascade into `credential`, as the 0008 test shows); the connections the portal
    then uses must have them on, or deleting a claim would leave its consent receipt behind."""
    from flask_migrate import upgrade

    from tests.conftest import make_app

    other = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'upgraded.sqlite3'}")
    with other.app_context():
        upgrade()
        with db.engine.connect() as connection:
            enforced = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
        db.engine.dispose()
    assert enforced == 1
