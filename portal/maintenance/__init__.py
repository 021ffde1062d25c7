"""Maintenance windows: scheduled by an operator, announced on every page from MAINTENANCE_NOTICE
before they begin, and, while one lasts, every request but the health check answered 503.

Several instances serve the portal, so the windows live in the database; each process reads the
windows still to come once every MAINTENANCE_CACHE_SECONDS, and compares them with the clock on
every request: a page pays no SQL statement for this, and a window scheduled from any instance
reaches every one within those seconds. When the database cannot be read (it may be down for the
maintenance itself) the process keeps what it knew.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError

from portal import audit
from portal.core import clock
from portal.core.refused import Refused
from portal.extensions import db
from portal.models import MaintenanceWindow


class MaintenanceRefused(Refused):
    pass


@dataclass(frozen=True)
class Window:
    """What a request needs of a window, detached from any database session."""

    id: int
    starts_at: datetime
    ends_at: datetime
    message: str | None

    def is_on(self, moment: datetime) -> bool:
        return self.starts_at <= moment < self.ends_at


_known: tuple[float, tuple[Window, ...]] | None = None


def _still_to_end():
    return (
        db.select(MaintenanceWindow)
        .where(MaintenanceWindow.cancelled_at.is_(None), MaintenanceWindow.ends_at > clock.now())
        .order_by(MaintenanceWindow.starts_at)
    )


def known() -> tuple[Window, ...]:
    """The windows not over yet, as this process last read them."""
    global _known
    now = time.monotonic()
    if _known is None or now - _known[0] > current_app.config["MAINTENANCE_CACHE_SECONDS"]:
        try:
            rows = db.session.scalars(_still_to_end()).all()
        except SQLAlchemyError:
            db.session.rollback()
            if _known is None:
                return ()
            _known = (now, _known[1])  # try again after another interval, not on every request
            return _known[1]
        _known = (now, tuple(Window(r.id, r.starts_at, r.ends_at, r.message) for r in rows))
    return _known[1]


def forget(*_args) -> None:
    global _known
    _known = None


def current(moment: datetime | None = None) -> Window | None:
    """The window under way, if any."""
    moment = moment or clock.now()
    return next((window for window in known() if window.is_on(moment)), None)


def announced(moment: datetime | None = None) -> Window | None:
    """The next window, once it is less than MAINTENANCE_NOTICE away (or under way)."""
    moment = moment or clock.now()
    notice = current_app.config["MAINTENANCE_NOTICE"]
    return next((w for w in known() if w.ends_at > moment and w.starts_at - notice <= moment), None)


def upcoming() -> list[MaintenanceWindow]:
    return list(db.session.scalars(_still_to_end()))


def _forget_when_settled() -> None:
    # Read again once the change is settled either way; other instances see it within their interval.
    forget()
    session = db.session()
    event.listen(session, "after_commit", forget, once=True)
    event.listen(session, "after_soft_rollback", forget, once=True)


def schedule(starts_at: datetime, ends_at: datetime, message: str | None = None) -> MaintenanceWindow:
    """Add a window; raises MaintenanceRefused. The caller commits."""
    problems = []
    if ends_at <= starts_at:
        problems.append("The window must end after it begins.")
    if ends_at <= clock.now():
        problems.append("The window is already over.")
    message = (message or "").strip() or None
    if message and len(message) > 1000:
        problems.append("The message is longer than 1000 characters.")
    if problems:
        raise MaintenanceRefused(*problems)
    window = MaintenanceWindow(starts_at=starts_at, ends_at=ends_at, message=message)
    db.session.add(window)
    db.session.flush()
    audit.record(audit.MAINTENANCE_SCHEDULED, window_id=window.id,
                 starts_at=starts_at.isoformat(), ends_at=ends_at.isoformat())
    _forget_when_settled()
    return window


def cancel(window_id: int) -> MaintenanceWindow:
    """Cancel a window not over yet; raises MaintenanceRefused. The caller commits."""
    window = db.session.get(MaintenanceWindow, window_id)
    if window is None or window.cancelled_at is not None or window.ends_at <= clock.now():
        raise MaintenanceRefused(f"No maintenance window {window_id} is still to come.")
    window.cancelled_at = clock.now()
    audit.record(audit.MAINTENANCE_CANCELLED, window_id=window.id)
    _forget_when_settled()
    return window
