"""The two pages whose cost must not grow with the data: the CNS queue's deepest page and a
patient's invoice list. Each is timed by calling the portal's own functions (the queries the
view runs, nothing else) on a data set, and its statements are shown with EXPLAIN ANALYZE.

    .venv/bin/python -m bench.scaling --database portal_bench_small --database portal_bench
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import event

from bench import common, targets

REPEAT = 30


def _app(database: str):
    from portal import create_app

    return create_app({
        "PORTAL_ENV": "production", "SQLALCHEMY_DATABASE_URI": common.database_url(database),
        "SECRET_KEY": common.SECRET_KEY, "FIELD_ENCRYPTION_KEY": common.FIELD_ENCRYPTION_KEY,
        "PUBLIC_BASE_URL": common.PUBLIC_BASE_URL,
    })


def _pages(database: str):
    """(title, callable) for each measured page, with the arguments its view would pass."""
    from portal.claims import review, sharing
    from portal.extensions import db
    from portal.invoicing import invoices
    from portal.models import CnsStaff, Patient

    with psycopg.connect(common.database_url(database)) as conn:
        after = targets.deepest_after(conn)
        (claims_total,) = conn.execute("SELECT count(*) FROM claim").fetchone()
        (invoices_total,) = conn.execute("SELECT count(*) FROM invoice").fetchone()
    staff = db.session.scalar(db.select(CnsStaff).where(CnsStaff.staff_id == common.staff_login(0)))
    patient = db.session.scalar(db.select(Patient).where(Patient.matricule == common.patient_login(0)))
    # Detached, so the rollback between calls does not make every call reload them first.
    db.session.expunge(staff)
    db.session.expunge(patient)
    keyset = None
    if after:
        micros, last_id = (int(part) for part in after.split(":"))
        keyset = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros), last_id)
    filters = review.QueueFilters(state="shared")

    def queue_deepest():
        rows, _next = review.queue(staff, filters, keyset)
        review.counts(staff, filters)
        return rows

    def patient_list():
        rows, _more = invoices.listing(patient_id=patient.id, filters=invoices.Filters(), page=1)
        invoices.doctors_of(patient.id)
        sharing.claimed_invoice_ids([row.id for row in rows])
        return rows

    sizes = {"claims": claims_total, "invoices": invoices_total}
    return sizes, [("CNS queue, deepest page", queue_deepest), ("patient invoice list", patient_list)]


def measure(database: str, *, explain: bool) -> dict:
    from portal.extensions import db

    app = _app(database)
    out = {"database": database, "pages": {}}
    with app.app_context():
        sizes, pages = _pages(database)
        out["rows"] = sizes
        for title, call in pages:
            for _ in range(3):  # warm the caches, as a running portal would have them
                call()
                db.session.rollback()
            timings = []
            for _ in range(REPEAT):
                started = time.perf_counter()
                call()
                timings.append(time.perf_counter() - started)
                db.session.rollback()
            entry = {"median_ms": statistics.median(timings) * 1000, "p95_ms": sorted(timings)[int(0.95 * REPEAT)] * 1000}
            if explain:
                entry["explain"] = _explain(call)
            out["pages"][title] = entry
    return out


def _explain(call) -> list[tuple[str, str]]:
    from portal.extensions import db

    captured: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, *_args):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            captured.append((statement, parameters))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    db.session.rollback()
    plans = []
    with engine.connect() as conn:
        for statement, parameters in captured:
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
            plans.append((_with_values(statement, parameters), "\n".join(row[0] for row in rows)))
    return plans


def _with_values(statement: str, parameters) -> str:
    """The statement as a person would paste it into psql (values in place of placeholders)."""
    if isinstance(parameters, dict):
        for name, value in sorted(parameters.items(), key=lambda item: -len(item[0])):
            literal = f"'{value}'" if isinstance(value, str | datetime) else str(value)
            statement = statement.replace(f"%({name})s", literal)
    return statement


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", action="append", required=True)
    args = parser.parse_args(argv)
    for database in args.database:
        result = measure(database, explain=False)
        for title, entry in result["pages"].items():
            print(f"{database:22} {title:28} median {entry['median_ms']:7.2f} ms  p95 {entry['p95_ms']:7.2f} ms")


if __name__ == "__main__":
    main()
