"""The pages whose cost must not grow with the data: the CNS queue (first, deepest and a
filtered page) and the patient's and doctor's invoice lists. Each is timed by calling the
portal's own functions (the queries the view runs, nothing else) on a data set, and its
statements are shown with EXPLAIN ANALYZE, with those of every other order and filter of the
queue and the lists (`--explain` writes them as bench/EXPLAIN.md does).

    .venv/bin/python -m bench.scaling --database portal_bench_small --database portal_bench
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import event

from bench import common, report, targets

WARM_UP = 6
REPEAT = 200


def _app(database: str):
    from portal import create_app

    return create_app(common.app_config(database))


def _people(database: str):
    from portal.extensions import db
    from portal.models import CnsStaff, Doctor, Patient

    staff = db.session.scalar(db.select(CnsStaff).where(CnsStaff.staff_id == common.staff_login(0)))
    patient = db.session.scalar(db.select(Patient).where(Patient.matricule == common.patient_login(0)))
    doctor = db.session.scalar(db.select(Doctor).where(Doctor.provider_code == common.doctor_login(0)))
    # Detached, so the commit between calls does not make every call reload them first.
    for person in (staff, patient, doctor):
        db.session.expunge(person)
    return staff, patient, doctor


def _keyset(after: str | None):
    if not after:
        return None
    micros, last_id = (int(part) for part in after.split(":"))
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros), last_id


def _queue_page(staff, filters, keyset=None):
    """What the queue view runs: one page and the counts above it."""
    from portal.claims import review

    def call():
        rows, _next = review.queue(staff, filters, keyset)
        review.counts(staff, filters)
        return rows

    return call


def patient_list(patient, filters):
    """What the patient's list view runs: the rows, the count with the invoices' version, and
    the doctors of the filter as on a worker that has not kept them yet (the worst case)."""
    from portal.invoicing import invoices, rows

    def call():
        found, _more = rows.for_patient(patient, filters=filters, page=1)
        invoices.tally(patient.id, filters)
        rows.doctor_names(patient.id)
        return found

    return call


def doctor_list(doctor, filters):
    """What the doctor's list view runs: the rows and their count."""
    from portal.invoicing import invoices, rows

    def call():
        found, _more = rows.for_doctor(doctor.id, filters=filters, page=1)
        invoices.count(doctor_id=doctor.id, filters=filters)
        return found

    return call


def _pages(database: str):
    """(title, callable) for each measured page, with the arguments its view would pass."""
    from portal.claims import review
    from portal.invoicing import invoices

    with psycopg.connect(common.database_url(database)) as conn:
        keyset = _keyset(targets.deepest_after(conn))
        (claims_total,) = conn.execute("SELECT count(*) FROM claim").fetchone()
        (invoices_total,) = conn.execute("SELECT count(*) FROM invoice").fetchone()
    staff, patient, doctor = _people(database)
    every = invoices.Filters()

    sizes = {"claims": claims_total, "invoices": invoices_total}
    return sizes, [
        ("CNS queue, first page", _queue_page(staff, review.QueueFilters())),
        ("CNS queue, deepest page", _queue_page(staff, review.QueueFilters(state="shared"), keyset)),
        ("CNS queue, filtered", _queue_page(staff, review.QueueFilters(
            state="accepted", channel="paper_qr", amount_min_cents=2000, sort="newest"))),
        ("patient invoice list", patient_list(patient, every)),
        ("doctor invoice list", doctor_list(doctor, every)),
    ]


def _plans(database: str):
    """(title, callable) for every order and filter the queue offers, and the invoice lists'
    filters: EXPLAINed only, to show each is read through an index."""
    from portal.claims import review
    from portal.invoicing import invoices
    from portal.models import CnsStaff, Fund

    staff, patient, doctor = _people(database)
    fund_agent = CnsStaff(staff_id="BENCH-CMFEP", name="Bench", fund_scope=Fund.CMFEP)  # never saved
    with psycopg.connect(common.database_url(database)) as conn:
        keyset = _keyset(targets.deepest_after(conn, "accepted"))
    month_ago = datetime.now(UTC).date() - timedelta(days=30)
    queue = review.QueueFilters
    cases = [(f"queue: {state or 'all states'}, {sort}", staff, queue(state=state, sort=sort))
             for state in (None, "shared", "accepted") for sort in review.SORTS]
    cases += [
        ("queue: accepted, oldest, deepest page", staff, queue(state="accepted"), keyset),
        ("queue: fund CMFEP", staff, queue(fund=Fund.CMFEP)),
        ("queue: in review, fund EMCFL, newest", staff, queue(state="in_review", fund=Fund.EMCFL, sort="newest")),
        ("queue: paper, shared", staff, queue(state="shared", channel="paper_qr")),
        ("queue: one doctor, all states", staff, queue(doctor_id=doctor.id)),
        ("queue: one doctor, accepted, amount high", staff, queue(state="accepted", doctor_id=doctor.id,
                                                                  sort="amount_high")),
        ("queue: last 30 days, accepted, amount high", staff, queue(state="accepted", date_from=month_ago,
                                                                    sort="amount_high")),
        ("queue: amounts 50-60 €, all states, oldest", staff, queue(amount_min_cents=5000, amount_max_cents=6000)),
        ("queue: a CMFEP agent, shared", fund_agent, queue(state="shared")),
        ("queue: a CMFEP agent, accepted, amount low", fund_agent, queue(state="accepted", sort="amount_low")),
    ]
    plans = [(title, _queue_page(agent, filters, *rest)) for title, agent, filters, *rest in cases]
    for state in ("shared", "issued", "expired"):
        filters = invoices.Filters(state=state)
        plans.append((f"doctor invoice list: {state}", doctor_list(doctor, filters)))
        plans.append((f"patient invoice list: {state}", patient_list(patient, filters)))
    return plans


def measure(databases: list[str], *, explain: bool) -> list[dict]:
    """Each page timed on every database in turn, call after call (A, B, A, B …), so that
    what else the machine does at the time weighs on each size alike; the statements of the
    last database are EXPLAINed if asked."""
    from portal.extensions import db

    runs, contexts = [], []
    for database in databases:
        context = _app(database).app_context()
        with context:
            sizes, pages = _pages(database)
        contexts.append((context, pages))
        runs.append({"database": database, "rows": sizes, "pages": {}})
    for index, (title, _call) in enumerate(contexts[0][1]):
        timings = [[] for _ in databases]
        # Each call ends with COMMIT, as a reading request does in the portal (portal/core/
        # prepared.py): a ROLLBACK would make psycopg drop the statements it prepared, and
        # every call would be planned again, which no running portal does. The first calls
        # warm the caches and prepare the statements, as a running portal has them.
        for round_ in range(WARM_UP + REPEAT):
            for (context, pages), found in zip(contexts, timings, strict=True):
                with context:
                    started = time.perf_counter()
                    pages[index][1]()
                    elapsed = time.perf_counter() - started
                    db.session.commit()
                if round_ >= WARM_UP:
                    found.append(elapsed)
        for run, found in zip(runs, timings, strict=True):
            run["pages"][title] = {"median_ms": statistics.median(found) * 1000,
                                   "p95_ms": sorted(found)[int(0.95 * REPEAT)] * 1000}
    if explain:
        context, pages = contexts[-1]
        with context:
            for title, call in pages:
                runs[-1]["pages"][title]["explain"] = _explain(call)
            runs[-1]["plans"] = {title: _explain(call) for title, call in _plans(databases[-1])}
    return runs


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
    parser.add_argument("--explain", metavar="FILE", help="write the plans at the last database's size there")
    args = parser.parse_args(argv)
    runs = measure(args.database, explain=bool(args.explain))
    for result in runs:
        for title, entry in result["pages"].items():
            print(f"{result['database']:22} {title:28} median {entry['median_ms']:7.2f} ms  p95 {entry['p95_ms']:7.2f} ms")
    if len(runs) > 1:
        for title, entry in runs[-1]["pages"].items():
            print(f"{title:28} x{entry['median_ms'] / runs[0]['pages'][title]['median_ms']:.2f}")
    if args.explain:
        run = {"scaling": {"runs": runs}, "command": "python -m bench.scaling --explain",
               "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
        Path(args.explain).write_text(report.explain_md(run))


if __name__ == "__main__":
    main()
