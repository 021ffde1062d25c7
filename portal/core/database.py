"""Engine settings that depend on the database in use."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date

from flask import Flask, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from portal.core.numbers import page_number
from portal.extensions import db

_installed = False


def configure(app: Flask) -> None:
    global _installed
    if _installed:
        return
    _installed = True
    event.listen(Engine, "connect", _on_connect)
    event.listen(Engine, "begin", _on_begin)


def _on_connect(dbapi_connection, _record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # WAL lets readers go on while one writer commits; the busy timeout makes a second
    # writer wait for the lock instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # pysqlite opens transactions behind SQLAlchemy's back and breaks SAVEPOINT;
    # take control of BEGIN ourselves (the recipe in SQLAlchemy's SQLite dialect notes).
    dbapi_connection.isolation_level = None


def _on_begin(connection) -> None:
    if connection.dialect.name == "sqlite":
        # IMMEDIATE takes the write lock up front, where the busy timeout applies; a
        # deferred transaction that reads and then writes fails at once with
        # "database is locked" when another writer committed in between.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@dataclass
class ListFilters:
    """What a list of invoices or claims can be narrowed to: the state, the dates of service,
    the doctor and the channel; None leaves that criterion out."""

    state: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    doctor_id: int | None = None
    channel: str | None = None


def one_page(query, page: int, size: int, *, columns: bool = False) -> tuple[list, bool]:
    """The rows of page `page` (from 1), and whether another page follows: one row more is
    read to know. `columns`: the query selects columns, read as read-only rows, not objects."""
    query = query.offset((page - 1) * size).limit(size + 1)
    rows = (db.session.execute(query) if columns else db.session.scalars(query)).all()
    return rows[:size], len(rows) > size


def requested_page(query, size: int) -> dict:
    """one_page() of the page the request asks for (?page=, the first if malformed), as the list
    templates take it: `rows`, `page` and `has_next`."""
    page = page_number(request.args.get("page"))
    rows, has_next = one_page(query, page, size)
    return {"rows": rows, "page": page, "has_next": has_next}


def count_of(query) -> int:
    """How many rows the query gives on all its pages together (for "12 claims" above a list)."""
    return db.session.scalar(db.select(db.func.count()).select_from(query.order_by(None).subquery())) or 0


def add_unless_taken(row) -> IntegrityError | None:
    """Add and flush the row in a savepoint: None once it is in, or the IntegrityError a
    unique constraint answered, with the savepoint (only) rolled back, for the caller to
    look up the row that won or to raise."""
    savepoint = db.session.begin_nested()
    try:
        db.session.add(row)
        db.session.flush()
    except IntegrityError as clash:
        savepoint.rollback()
        return clash
    savepoint.commit()
    return None
