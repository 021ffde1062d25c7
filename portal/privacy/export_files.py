"""The files of the portable export besides data.json: CSV tables, PDFs, and the ZIP."""

from __future__ import annotations

import io
import re
import time
import zipfile
from datetime import datetime
from functools import partial

from portal.claims import statement_pdf
from portal.core import csv_output
from portal.documents import stored
from portal.extensions import db
from portal.invoicing import invoice_pdf, invoices
from portal.models import Claim, Invoice, Patient

neutralise = csv_output.neutralise  # the export's tests and readers name it here too
_csv = csv_output.table


def _invoice_rows(data: dict) -> list[dict]:
    return [{**row, "doctor": row["doctor"]["name"], "provider_code": row["doctor"]["provider_code"]}
            for row in data["invoices"]]


def _line_rows(data: dict) -> list[dict]:
    return [{"invoice_number": row["number"], "provider_code": row["doctor"]["provider_code"], **line}
            for row in data["invoices"] for line in row["lines"]]


def _claim_rows(data: dict) -> list[dict]:
    return [{**row, "doctor": row["doctor"]["name"]} for row in data["claims"]]


def _statement_rows(data: dict) -> list[dict]:
    return [{"claim_reference": row["reference"], **row["statement"]} for row in data["claims"] if row["statement"]]


def _access_rows(data: dict) -> list[dict]:
    return [
        {"at": row["at"], "event": row["event"], "actor_role": row["actor"]["role"],
         "actor_kind": row["actor"]["kind"], "actor_name": row["actor"].get("name"),
         "staff_reference": row["actor"].get("staff_reference")}
        for row in data["access_log"]
    ]


# file name → (columns, rows taken from data.json); the columns are documented in docs/export-schema.md.
TABLES = {
    "invoices.csv": (
        ("number", "doctor", "provider_code", "service_date", "issued_at", "channel", "state", "total_cents",
         "paid_on_site", "paid_at", "payer_is_patient", "voided_at", "void_reason", "available_until"),
        _invoice_rows,
    ),
    "invoice_lines.csv": (
        ("invoice_number", "provider_code", "position", "act_code", "description", "quantity", "unit_fee_cents",
         "total_cents"),
        _line_rows,
    ),
    "claims.csv": (
        ("reference", "invoice_number", "doctor", "fund", "state", "shared_at", "decided_at", "total_cents",
         "reimbursed_cents", "adjustment_reason", "adjustment_note", "rejection_reason", "rejection_note", "frozen_at"),
        _claim_rows,
    ),
    "statements.csv": (
        ("number", "claim_reference", "issued_at", "payment_date", "billed_cents", "reimbursed_cents",
         "adjustment_cents"),
        _statement_rows,
    ),
    "notifications.csv": (
        ("kind", "created_at", "read_at", "claim_reference", "invoice_number"),
        lambda data: data["notifications"]["notices"],
    ),
    "messages.csv": (
        ("channel", "kind", "recipient", "subject", "body", "created_at", "state", "attempts", "sent_at"),
        lambda data: data["notifications"]["messages"],
    ),
    "consents.csv": (
        ("given_at", "claim_reference", "invoice_number", "recipient_fund", "method", "given_by"),
        lambda data: data["consents"],
    ),
    "access_log.csv": (
        ("at", "event", "actor_role", "actor_kind", "actor_name", "staff_reference"),
        _access_rows,
    ),
}


def csv_files(data: dict) -> dict[str, bytes]:
    return {name: _csv(columns, rows(data)) for name, (columns, rows) in TABLES.items()}


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def _sources(patient: Patient, claims: list[Claim], language: str):
    """(file name, stored key, renderer) of each PDF the export holds, in the patient's language:
    invoices within their two years, and every statement."""
    rows = db.session.scalars(db.select(Invoice).where(Invoice.patient_id == patient.id).order_by(Invoice.id))
    for invoice in rows:
        if invoices.state_of(invoice) != "expired":
            name = f"documents/invoice-{_safe(invoice.provider_code)}-{_safe(invoice.number)}.pdf"
            yield name, invoice_pdf.key_of(invoice), partial(invoice_pdf.render, invoice, language)
    for claim in claims:
        if claim.statement is not None:
            name = f"documents/statement-{_safe(claim.statement.number)}.pdf"
            yield (name, statement_pdf.key_of(claim, claim.statement),
                   partial(statement_pdf.render, claim, claim.statement, language))


def documents(patient: Patient, claims: list[Claim], language: str) -> dict[str, bytes]:
    """The PDFs, stored ones read, others rendered and stored."""
    return {
        name: stored.read_or_render(key, language, render) for name, key, render in _sources(patient, claims, language)
    }


def store_missing(patient: Patient, claims: list[Claim], language: str, *, seconds: float) -> bool:
    """Render and store the PDFs not stored yet, for about `seconds` at most; True once none is left."""
    sources = {key: render for _name, key, render in _sources(patient, claims, language)}
    deadline = time.monotonic() + seconds
    left = stored.missing(list(sources), language)
    for done, key in enumerate(left, start=1):
        stored.keep(key, language, sources[key]())
        if done < len(left) and time.monotonic() > deadline:  # at least one per turn: every turn moves on
            return False
    return True


def zip_of(files: dict[str, bytes], at: datetime) -> bytes:
    buffer = io.BytesIO()
    stamp = at.timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            entry = zipfile.ZipInfo(name, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, content)
    return buffer.getvalue()
