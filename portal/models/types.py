"""Column types shared by the models."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import CheckConstraint, DateTime, TypeDecorator

from portal.core import clock


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC and always returns them aware.

    SQLite has no time zones; without this, values read back would be naive and
    comparisons with clock.now() would fail.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:

    return clock.now()


def render_item(type_, obj, autogen_context):
    """Alembic hook: migrations name plain SQLAlchemy types, never the portal's classes."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def one_of(column: str, values: Iterable[str]) -> CheckConstraint:
    """A CHECK, named after `column`, that the column holds one of `values` (an enum's members or
    a tuple): the database keeps the rule the code states, from the same list."""
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} in ({listed})", name=column)
