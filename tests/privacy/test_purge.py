"""`flask --app app purge`: logs after 13 months, documents after two years, except what a
restriction or a legal hold protects; idempotent, counted, audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from portal import audit
from portal.claims import sharing
from portal.core import clock
from portal.extensions import db
from portal.invoicing import invoices
from portal.models import AuditEvent, Claim, ClaimEvent, ConsentReceipt, ErasureTombstone, Invoice
from portal.privacy import retention, rights
from tests.fixtures.images import png as _png


def _purge(app) -> dict[str, int]:
    output = app.test_cli_runner().invoke(args=["purge"]).output.strip()
    return {name: int(count) for name, count in (part.split(": ") for part in output.split(", "))}


def _answered(people, make_claim) -> tuple[Claim, str]:
    """A claim with a document the patient attached to an answer; returns it and the file name."""
    claim = make_claim(people["patient"], people["doctor"], people["cns"], state="info_requested")
    sharing.answer(claim, "Here is the prescription.", by=people["patient"].account, document=_png())
    db.session.commit()
    event = next(e for e in claim.events if e.document_name)
    return claim, event.document_name


def _stored(app, name: str) -> bool:
    return (Path(app.instance_path) / "uploads" / name).exists()


@pytest.mark.parametrize(("moment", "expected"), [
    (datetime(2026, 3, 31, 9, tzinfo=UTC), datetime(2025, 2, 28, 9, tzinfo=UTC)),
    (datetime(2025, 12, 15, tzinfo=UTC), datetime(2024, 11, 15, tzinfo=UTC)),
    (datetime(2026, 1, 1, tzinfo=UTC), datetime(2024, 12, 1, tzinfo=UTC)),
])
def test_thirteen_months_are_counted_on_the_calendar(moment, expected):
    assert retention.months_before(moment, 13) == expected
    assert retention.log_cutoff(moment) == expected


def test_logs_go_after_thirteen_months_and_the_purge_audits_itself(app, people):
    audit.record(audit.INVOICE_VIEWED, actor=None, patient_id=people["patient"].profile.id, invoice_id=1)
    db.session.commit()
    row = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    row_id, written = row.id, row.occurred_at

    clock.freeze(retention.months_before(written, -13) - timedelta(days=1))
    assert _purge(app)["audit_events"] == 0
    assert db.session.get(AuditEvent, row_id) is not None

    clock.freeze(retention.months_before(written, -13) + timedelta(days=1))
    older = db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)
                              .where(AuditEvent.occurred_at < retention.log_cutoff()))
    counts = _purge(app)
    assert counts["audit_events"] == older >= 1
    db.session.expire_all()
    assert db.session.get(AuditEvent, row_id) is None
    logged = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == audit.LOGS_PURGED.name)
                                .order_by(AuditEvent.id)).all()
    assert [event.data for event in logged][-1] == {"events": older}
    assert _purge(app)["audit_events"] == 0  # idempotent
    # The purge's own record is recent: it stays, and the access log still hides anything older.
    assert db.session.scalar(db.select(db.func.min(AuditEvent.occurred_at))) >= retention.log_cutoff()


def test_the_output_names_every_kind(app):
    output = app.test_cli_runner().invoke(args=["purge"]).output
    for kind in ("invoices: ", "claim_documents: ", "audit_events: "):
        assert kind in output


def test_documents_go_after_two_years_unless_frozen_or_held(app, people, make_claim, make_invoice):
    patient, doctor = people["patient"], people["doctor"]
    unshared = make_invoice(patient, doctor)
    withdrawn = make_claim(patient, doctor, state="withdrawn")
    kept_with_claim = make_claim(patient, doctor)
    answered, answered_file = _answered(people, make_claim)
    frozen, frozen_file = _answered(people, make_claim)
    rights.freeze(frozen, by=patient.account)
    held, held_file = _answered(people, make_claim)
    tombstone = ErasureTombstone(reference="E-TEST0000001", scope={}, legal_basis="Social Security Code")
    db.session.add(tombstone)
    db.session.flush()
    held.retained_by_id = tombstone.id
    frozen_withdrawn = make_claim(patient, doctor)
    rights.freeze(frozen_withdrawn, by=patient.account)
    sharing.withdraw(frozen_withdrawn, by=patient.account)
    db.session.commit()
    issued = unshared.issued_at

    clock.freeze(invoices.add_years(issued, 2) - timedelta(days=1))
    assert _purge(app) | {"audit_events": 0} == {"invoices": 0, "claim_documents": 0, "audit_events": 0, "exports": 0,
                                                    "paid_ibans": 0, "activation_flows": 0, "help_requests": 0,
                                                    "former_accounts": 0}
    assert all(_stored(app, name) for name in (answered_file, frozen_file, held_file))

    clock.freeze(invoices.add_years(issued, 2) + timedelta(days=1))
    counts = _purge(app)
    assert (counts["invoices"], counts["claim_documents"]) == (2, 1)  # the unshared one and the withdrawn claim's
    db.session.expire_all()
    assert db.session.get(Invoice, unshared.id) is None
    assert db.session.get(Claim, withdrawn.id) is None and db.session.get(Invoice, withdrawn.invoice_id) is None
    assert db.session.scalar(db.select(ConsentReceipt).where(ConsentReceipt.claim_id == withdrawn.id)) is None
    # What the fund keeps as its record, and what a restriction or a legal hold protects, stays.
    for kept in (kept_with_claim, answered, frozen, held, frozen_withdrawn):
        assert db.session.get(Claim, kept.id) is not None and db.session.get(Invoice, kept.invoice_id) is not None
    assert not _stored(app, answered_file)
    assert db.session.scalar(db.select(ClaimEvent).where(ClaimEvent.claim_id == answered.id,
                                                         ClaimEvent.document_name.is_not(None))) is None
    assert _stored(app, frozen_file) and _stored(app, held_file)
    purged = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == audit.DOCUMENTS_PURGED.name)
                                .order_by(AuditEvent.id)).all()
    assert purged[-1].data == {"invoices": 2, "claim_documents": 1}

    again = _purge(app)
    assert (again["invoices"], again["claim_documents"]) == (0, 0)


def test_the_readme_shows_the_cron_line():
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert "flask --app app purge" in readme and "* * *" in readme
