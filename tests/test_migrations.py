"""The schema comes from migrations only; they must match the models exactly."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

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
        return
    connection = db.session.connection()
    assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
