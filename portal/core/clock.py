"""The one clock the portal reads, so tests can move time forward."""

from __future__ import annotations

from datetime import UTC, date, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """Current time in UTC, timezone-aware."""
    return _frozen or datetime.now(UTC)


def today() -> date:
    return now().date()


def freeze(moment: datetime | None) -> None:
    """Tests only: pin the clock (None releases it)."""
    global _frozen
    _frozen = moment
