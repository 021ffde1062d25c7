"""Whether the database holds the schema this version's migrations build.

The operator commands ask first: on a database nobody migrated, their queries would fail
with a driver's error about a missing table instead of saying what to do.
"""

from __future__ import annotations

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy.exc import DBAPIError

from portal.extensions import db

UPGRADE = "flask --app app db upgrade"


def problem() -> str | None:
    """What is wrong with the database's schema, in words for an operator; None when it is current."""
    scripts = ScriptDirectory(current_app.extensions["migrate"].directory)
    heads = set(scripts.get_heads())
    try:
        applied = set(MigrationContext.configure(db.session.connection()).get_current_heads())
    except DBAPIError as error:
        db.session.rollback()
        first_line = str(error.orig).strip().partition("\n")[0]
        return f"Cannot open the database ({type(error.orig).__name__}: {first_line})."
    if applied == heads:
        return None
    if not applied:
        return f"The database has no tables yet: run {UPGRADE} first."
    known = {script.revision for script in scripts.walk_revisions()}
    if applied - known:
        return (f"The database was migrated by a newer version of the portal (revision {', '.join(sorted(applied))}); "
                "run this command with that version.")
    return (f"The database is at revision {', '.join(sorted(applied))}, this version needs {', '.join(sorted(heads))}: "
            f"run {UPGRADE} first.")
