"""The slow jobs in the worker (issue 17): how long one real worker (`flask --app app worker
--burst`, RQ on Redis, PostgreSQL) takes to build the export of a patient with 1,000 invoices, and
what a stored PDF saves on a download.

    .venv/bin/python -m bench.jobs [--invoices 1000] [--downloads 30]

1. Drops and creates the database `portal_bench_jobs` (migrations, then the demo accounts), and
   issues `--invoices` invoices for one demo patient through the domain function the doctor's page
   calls. Each issue queues the job that renders and stores the patient's PDF: one worker runs
   them all (`worker --burst`), timed from its start to its exit.
2. The patient asks for an export (`portal.privacy.export.create`, committed: the job goes to
   Redis); one worker builds it. Timed twice: with every PDF already stored (the normal case) and
   with the stored PDFs deleted first (the worst case: every PDF rendered in the job).
3. A PDF download, stored against rendered: the median of `--downloads` calls of what the download
   view runs for the PDF itself, in one process: `invoice_pdf.render` (every download before this
   change) and `invoice_pdf.pdf_of` with the PDF stored (a SELECT and a decryption).

Writes its section of bench/RESULTS.md (between the markers below; `bench/run.sh` keeps it) and
prints the figures. Needs PostgreSQL and Redis like bench/run.sh (BENCH_PG, BENCH_REDIS_URL; the
Redis database is flushed).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import redis

from bench import common

NAME = "portal_bench_jobs"
START, END = "<!-- worker jobs -->", "<!-- /worker jobs -->"
INSTANCE = Path(tempfile.mkdtemp(prefix="portal-bench-jobs-"))


def _environment() -> dict[str, str]:
    """The settings the script and its workers share (the same database, Redis and instance folder)."""
    return {
        "PORTAL_ENV": "production", "DATABASE_URL": common.database_url(NAME), "REDIS_URL": common.REDIS_URL,
        "SECRET_KEY": common.SECRET_KEY, "FIELD_ENCRYPTION_KEY": common.FIELD_ENCRYPTION_KEY,
        "PUBLIC_BASE_URL": common.PUBLIC_BASE_URL, "PORTAL_INSTANCE_DIR": str(INSTANCE), **common.LEGAL,
    }


def _fresh_database() -> None:
    with psycopg.connect(common.database_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{NAME}"')


def _worker() -> float:
    """Run one worker until the queue is empty; its wall time in seconds (start-up included)."""
    started = time.monotonic()
    subprocess.run([str(common.ROOT / ".venv" / "bin" / "flask"), "--app", "app", "worker", "--burst"],  # noqa: S603 - fixed arguments
                   cwd=common.ROOT, env={**os.environ, **_environment()}, check=True)
    return time.monotonic() - started


def _issue(count: int) -> tuple[int, int]:
    """The demo data, then `count` invoices for the first demo patient; (patient id, doctor id)."""
    from portal import demo
    from portal.extensions import db
    from portal.invoicing import invoices, nomenclature
    from portal.models import Doctor, Patient

    demo.seed()
    db.session.commit()
    patient = db.session.scalars(db.select(Patient).where(Patient.account_id.is_not(None)).order_by(Patient.id)).first()
    doctor = db.session.scalars(db.select(Doctor).where(Doctor.account_id.is_not(None)).order_by(Doctor.id)).first()
    today = date.today()
    for i in range(count):
        service = today - timedelta(days=1 + i % 600)
        acts = [(nomenclature.act_on("C1", service), 1), (nomenclature.act_on("K4", service), 1 + i % 3)]
        invoices.issue(doctor, invoices.Draft(patient=patient, service_date=service, lines=acts))
        if i % 100 == 99:
            db.session.commit()
    db.session.commit()
    return patient.id, doctor.id


def _export_once(patient_id: int) -> dict:
    from portal.extensions import db
    from portal.models import DataExport, Patient, StoredDocument
    from portal.privacy import export

    patient = db.session.get(Patient, patient_id)
    made, _token = export.create(patient, by=patient.account, language="fr")
    db.session.commit()
    export.delete_replaced()
    wall = _worker()
    db.session.expire_all()
    made = db.session.get(DataExport, made.id)
    assert made.state == "ready", made.state
    ready_at = made.expires_at - timedelta(minutes=export.EXPORT_LINK_MINUTES)
    size = (INSTANCE / "uploads" / made.file_name).stat().st_size
    stored = db.session.scalar(db.select(db.func.count()).select_from(StoredDocument)
                               .where(StoredDocument.patient_id == patient_id))
    return {"worker_s": wall, "job_s": (ready_at - made.created_at).total_seconds(), "zip_bytes": size,
            "stored_after": stored}


def _median_ms(call, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _downloads(patient_id: int, runs: int) -> dict:
    from portal.extensions import db
    from portal.invoicing import invoice_pdf
    from portal.models import Invoice

    invoice = db.session.scalars(db.select(Invoice).where(Invoice.patient_id == patient_id)
                                 .order_by(Invoice.id.desc())).first()
    invoice_pdf.pdf_of(invoice, "fr")  # stored, if the issue job had not
    db.session.commit()
    with db.session.no_autoflush:
        return {
            "rendered_ms": _median_ms(lambda: invoice_pdf.render(invoice, "fr"), runs),
            "stored_ms": _median_ms(lambda: invoice_pdf.pdf_of(invoice, "fr"), runs),
            "bytes": len(invoice_pdf.pdf_of(invoice, "fr")),
        }


def measure(count: int, runs: int) -> dict:
    os.environ.update(_environment())  # before the portal is imported: it reads the instance folder then
    from portal import create_app
    from portal.extensions import db
    from portal.models import StoredDocument

    redis.Redis.from_url(common.REDIS_URL).flushdb()
    _fresh_database()
    app = create_app({"SQLALCHEMY_DATABASE_URI": common.database_url(NAME)})
    results: dict = {"invoices": count, "load_before": os.getloadavg()[0]}
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        patient_id, _doctor_id = _issue(count)
        queued = redis.Redis.from_url(common.REDIS_URL).llen(f"rq:queue:{app.config['JOB_QUEUE']}")
        results["issue_jobs"] = {"jobs": queued, "worker_s": _worker()}
        results["stored_after_issue"] = db.session.scalar(
            db.select(db.func.count()).select_from(StoredDocument).where(StoredDocument.patient_id == patient_id))
        results["export_stored"] = _export_once(patient_id)
        db.session.execute(db.delete(StoredDocument))
        db.session.commit()
        results["export_cold"] = _export_once(patient_id)
        results["download"] = _downloads(patient_id, runs)
    results["load_after"] = os.getloadavg()[0]
    return results


def section(r: dict) -> str:
    issue, warm, cold, download = r["issue_jobs"], r["export_stored"], r["export_cold"], r["download"]
    return "\n".join([
        START,
        "## Slow jobs in the worker (issue 17)",
        "",
        f"Written by `python -m bench.jobs` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; PostgreSQL and Redis on loopback; one worker "
        "(`flask --app app worker --burst`, a new process per measurement, its start-up included in its wall time).",
        "",
        "| what | figure |",
        "|---|---:|",
        f"| PDFs rendered and stored by the jobs that issuing {r['invoices']:,} invoices queued "
        f"({issue['jobs']:,} jobs) | {issue['worker_s']:.1f} s, {issue['jobs'] / issue['worker_s']:.1f} per second |",
        f"| export of a patient with {r['invoices']:,} invoices, PDFs already stored: worker wall time | "
        f"{warm['worker_s']:.1f} s |",
        f"| the same, the job alone (asked → ready, from the export's row) | {warm['job_s']:.1f} s |",
        f"| export with no PDF stored (every PDF rendered in the job): worker wall time | {cold['worker_s']:.1f} s |",
        f"| the same, the job alone | {cold['job_s']:.1f} s |",
        f"| the ZIP | {warm['zip_bytes'] / 1e6:.1f} MB |",
        f"| invoice PDF for a download, rendered (before: every download) | {download['rendered_ms']:.1f} ms |",
        f"| invoice PDF for a download, stored (a SELECT and a decryption) | {download['stored_ms']:.2f} ms |",
        "",
        f"PDF timings: median of the calls in one process on a warm connection ({download['bytes']:,}-byte PDF); "
        "the rest of the download request (session, ownership, audit row) is the same either way. "
        f"Load average (1 min) {r.get('load_before', 0):.1f} at the start, {r.get('load_after', 0):.1f} at the end: "
        "on a shared machine every figure here is an upper bound.",
        *([r["note"]] if r.get("note") else []),
        END,
    ])


def write(text: str, path: Path = common.BENCH / "RESULTS.md") -> None:
    current = path.read_text()
    if START in current:
        before, rest = current.split(START, 1)
        current = before + rest.split(END, 1)[1].lstrip("\n")
    path.write_text(current.rstrip("\n") + "\n\n" + text + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--downloads", type=int, default=30)
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    results = measure(args.invoices, args.downloads)
    text = section(results)
    print(text)
    print(results)
    if not args.no_write:
        write(text)


if __name__ == "__main__":
    main()
