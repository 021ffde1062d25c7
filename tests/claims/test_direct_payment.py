"""Direct immediate payment: the rules, in one table, then the doctor's claim it creates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portal.claims import counts, direct_payment, qr, reimbursement, review, sharing, states
from portal.core import clock
from portal.core.refused import Refused
from portal.extensions import db
from portal.invoicing import invoices, nomenclature
from portal.models import AuditEvent, Channel, Claim, ClaimState
from tests.fixtures.factories import new_doctor, new_patient
from tests.fixtures.invoices import direct_doctor, new_invoice

ADULT = date(1980, 5, 17)


def _child_birth() -> date:
    return clock.today() - timedelta(days=365 * 10)


def _fee(code: str) -> int:
    return nomenclature.act_on(code, clock.today() - timedelta(days=3)).fee_cents


def _share(cents: int, percent: int) -> int:
    # 88 % rounded half up to the cent, written out independently of the module under test.
    return (cents * percent * 2 + 100) // 200


# (case, birth date, acts, what to change, expected obstacle keys, expected patient share or None)
CASES = [
    ("adult", ADULT, (("C1", 1),), None, [], lambda: _fee("C1") - _share(_fee("C1"), 88)),
    ("child pays nothing", "child", (("C1", 1),), None, [], lambda: 0),
    ("several acts", ADULT, (("C1", 1), ("C2", 2)), None, [],
     lambda: (_fee("C1") - _share(_fee("C1"), 88)) + (2 * _fee("C2") - _share(2 * _fee("C2"), 88))),
    ("not covered on the service date", ADULT, (("C1", 1),), "coverage_ended", ["not_covered"], None),
    ("no coverage recorded", ADULT, (("C1", 1),), "no_coverage", ["not_covered"], None),
    ("non-eligible act", ADULT, (("C1", 1), ("K1", 1)), None, ["act"], None),
    ("doctor not participating", ADULT, (("C1", 1),), "paper_doctor", ["doctor"], None),
    ("doctor without bank account", ADULT, (("C1", 1),), "no_iban", ["doctor_iban"], None),
    ("payer not the patient", ADULT, (("C1", 1),), "third_party", ["payer"], None),
]


@pytest.mark.parametrize(("case", "birth", "acts", "change", "keys", "patient_share"), CASES,
                         ids=[case[0] for case in CASES])
def test_direct_payment_rules(app_ctx, case, birth, acts, change, keys, patient_share):
    patient = new_patient(birth=_child_birth() if birth == "child" else birth, with_account=False)
    doctor = new_doctor(digital=change != "paper_doctor", with_iban=change != "no_iban")
    if change == "coverage_ended":
        patient.profile.covered_until = clock.today() - timedelta(days=10)
    if change == "no_coverage":
        patient.profile.covered_from = None
    db.session.commit()
    kwargs = {"payer_is_patient": False} if change == "third_party" else {}
    if keys:
        with pytest.raises(Refused) as refused:
            new_invoice(patient, doctor, acts=acts, settlement="direct", **kwargs)
        assert "settlement" in refused.value.fields
        service = clock.today() - timedelta(days=3)
        found = direct_payment.obstacles(
            doctor.profile, patient.profile, service, [nomenclature.act_on(c, service) for c, _q in acts],
            payer_is_patient=change != "third_party")
        assert [o.key for o in found] == keys
        assert db.session.scalar(db.select(db.func.count()).select_from(Claim)) == 0
        return
    invoice = new_invoice(patient, doctor, acts=acts, settlement="direct")
    split = direct_payment.split_of(invoice)
    assert split.patient_cents == patient_share()
    assert split.fund_cents + split.patient_cents == invoice.total_cents
    assert [line.fund_cents + line.patient_cents for line in split.lines] == [ln.total_cents for ln in invoice.lines]
    # The same rounding as reimbursements: the fund pays the doctor what it would pay the patient back.
    assert split.fund_cents == reimbursement.reimbursement_of(invoice).reimbursed_cents
    claim = states.active_claim_of(invoice.id)
    assert claim.is_direct_payment and claim.state == ClaimState.SHARED
    assert claim.iban == doctor.profile.iban and claim.computed_cents == split.fund_cents


def test_issuing_records_consent_and_creates_the_doctors_claim_at_once(app_ctx):
    patient, doctor = new_patient(), direct_doctor()
    invoice = new_invoice(patient, doctor, settlement="direct", consent_by="guardian", consent_method="oral")
    assert (invoice.is_direct_payment, invoice.direct_consent_by, invoice.direct_consent_method) == (
        True, "guardian", "oral")
    assert invoice.direct_consent_at is not None and invoice.channel == Channel.DIGITAL
    claim = states.active_claim_of(invoice.id)
    assert [event.kind for event in claim.events] == ["direct_submitted"]
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.event == "claim.direct_submitted"))
    assert event.patient_id == patient.profile.id
    # Nothing for the patient to share, even with "send automatically" on.
    assert sharing.why_not_shareable(invoice) == "direct"


def test_direct_payment_needs_the_consent(app_ctx):
    with pytest.raises(Refused) as refused:
        new_invoice(new_patient(), direct_doctor(), settlement="direct", consent_method="")
    assert "consent_method" in refused.value.fields


def test_voided_and_reissued_invoice_withdraws_the_claim_and_makes_a_new_one(app_ctx):
    patient, doctor = new_patient(), direct_doctor()
    first = new_invoice(patient, doctor, settlement="direct")
    old_claim = states.active_claim_of(first.id)
    assert invoices.can_void(first)
    assert invoices.void(first, "wrong act")
    db.session.commit()
    assert old_claim.state == ClaimState.WITHDRAWN
    service = first.service_date
    draft = invoices.Draft(patient=patient.profile, service_date=service, settlement="direct", replaces=first,
                           consent_by="patient", consent_method="signed",
                           lines=[(nomenclature.act_on("C2", service), 1)])
    second = invoices.issue(doctor.profile, draft)
    db.session.commit()
    new_claim = states.active_claim_of(second.id)
    assert new_claim.id != old_claim.id and new_claim.is_direct_payment
    # The doctor's claims are counted like the patients' (the queue's counts read the table).
    assert counts.kept() == counts.counted()


def test_a_claim_taken_up_keeps_its_invoice(app_ctx, make_staff):
    patient, doctor = new_patient(), direct_doctor()
    invoice = new_invoice(patient, doctor, settlement="direct")
    review.take_up(states.active_claim_of(invoice.id), make_staff().profile)
    db.session.commit()
    assert not invoices.can_void(invoice)
    assert not invoices.void(invoice, "too late")


def test_patient_prefers_paper_gets_a_paper_invoice_with_qr_and_no_claim(app_ctx):
    patient, doctor = new_patient(), direct_doctor()
    invoice = new_invoice(patient, doctor, settlement="paper")
    assert invoice.channel == Channel.PAPER_QR and invoice.is_paper_preferred and not invoice.is_direct_payment
    assert states.active_claim_of(invoice.id) is None


def test_the_paper_invoice_the_patient_preferred_is_taken_in_by_its_qr_code(app_ctx, make_staff):
    patient, doctor = new_patient(), direct_doctor()
    invoice = new_invoice(patient, doctor, settlement="paper")
    claim, problem = review.intake_paper(qr.qr_payload(invoice), make_staff().profile)
    db.session.commit()
    assert problem is None and claim.channel == Channel.PAPER_QR and not claim.is_direct_payment
    assert claim.iban == patient.profile.iban  # reimbursed to the patient, as any paper invoice
