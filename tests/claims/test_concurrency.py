"""Twenty requests sharing one invoice at the same moment create one claim (both databases)."""

from __future__ import annotations

import threading

import pytest

from portal.claims import sharing
from portal.extensions import db
from portal.models import Account, AuditEvent, Claim, ConsentReceipt, Invoice, Patient

PARALLEL = 20


@pytest.mark.committing
def test_twenty_parallel_shares_of_one_invoice_create_one_claim(app, make_patient, make_doctor, make_invoice):
    patient, doctor = make_patient(), make_doctor()
    invoice_id = make_invoice(patient, doctor).id
    patient_id, account_id = patient.profile.id, patient.account.id
    db.session.close()
    barrier = threading.Barrier(PARALLEL, timeout=30)
    claim_ids, errors = [], []

    def share():
        # Line up before touching the database: on SQLite the first read takes the write
        # lock (BEGIN IMMEDIATE), and a thread holding it at the barrier would stall the rest.
        barrier.wait()
        with app.app_context():
            try:
                person = db.session.get(Patient, patient_id)
                invoice = db.session.get(Invoice, invoice_id)
                (claim,) = sharing.share(person, [invoice], by=db.session.get(Account, account_id))
                db.session.commit()
                claim_ids.append(claim.id)
            except Exception as exc:  # collected: a thread's exception would otherwise vanish
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=share) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(claim_ids) == PARALLEL and len(set(claim_ids)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(Claim)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(ConsentReceipt)) == 1
    shared = db.session.scalar(
        db.select(db.func.count()).select_from(AuditEvent).where(AuditEvent.event == "claim.shared")
    )
    assert shared == 1
