"""The claim rules, called as the pages call them: sharing, deciding, statements, paper."""

from __future__ import annotations

from datetime import date

import pytest

from portal.claims import qr, reimbursement, review, sharing, states, timeline
from portal.core.refused import Refused
from portal.extensions import db
from portal.invoicing import invoices
from portal.models import AuditEvent, Claim, ClaimState, ConsentReceipt, Fund, NoticeKind, Notification


@pytest.fixture
def cast(make_patient, make_doctor, make_staff):
    return make_patient(), make_doctor(), make_staff()


def test_sharing_creates_one_claim_with_consent_and_audit(cast, make_invoice):
    patient, doctor, _staff = cast
    invoice = make_invoice(patient, doctor, acts=(("C1", 1), ("K1", 1)))
    (claim,) = sharing.share(patient.profile, [invoice], by=patient.account)
    db.session.commit()

    assert claim.state == ClaimState.SHARED
    assert claim.iban == patient.profile.iban
    assert claim.computed_cents == reimbursement.reimbursement_of(invoice).reimbursed_cents
    receipt = db.session.scalar(db.select(ConsentReceipt).where(ConsentReceipt.claim_id == claim.id))
    assert (receipt.method, receipt.recipient_fund, receipt.account_id) == ("manual", Fund.CNS, patient.account.id)
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.event == "claim.shared")).patient_id == patient.profile.id

    again = sharing.share(patient.profile, [invoice], by=patient.account)
    assert again == [claim]
    assert db.session.scalar(db.select(db.func.count()).select_from(Claim)) == 1


@pytest.mark.parametrize(
    ("paid_on_site", "payer_is_patient", "reason"),
    [(False, True, "paper"), (True, False, "paper"), (True, True, None)],
)
def test_only_digital_invoices_paid_by_the_patient_can_be_shared(cast, make_invoice, paid_on_site, payer_is_patient, reason):
    patient, doctor, _ = cast
    invoice = make_invoice(patient, doctor, paid_on_site=paid_on_site, payer_is_patient=payer_is_patient)
    assert sharing.why_not_shareable(invoice) == reason


def test_voided_and_foreign_invoices_are_refused(cast, make_invoice, make_patient):
    patient, doctor, _ = cast
    voided = make_invoice(patient, doctor)
    invoices.void(voided, "wrong act")
    assert sharing.why_not_shareable(voided) == "voided"
    with pytest.raises(Refused) as refused:
        sharing.share(patient.profile, [voided], by=patient.account)
    assert refused.value.field == "invoice"
    other = make_invoice(make_patient(), doctor)
    with pytest.raises(Refused) as refused:
        sharing.share(patient.profile, [other], by=patient.account)
    assert refused.value.field == "invoice"


def test_sharing_needs_an_iban(cast, make_invoice):
    patient, doctor, _ = cast
    patient.profile.iban = None
    with pytest.raises(Refused) as refused:
        sharing.share(patient.profile, [make_invoice(patient, doctor)], by=patient.account)
    assert refused.value.field == "iban"


def test_withdrawn_invoice_can_be_shared_again_but_not_after_take_up(cast, make_claim):
    patient, doctor, staff = cast
    claim = make_claim(patient, doctor, state="withdrawn")
    assert claim.state == ClaimState.WITHDRAWN
    (second,) = sharing.share(patient.profile, [claim.invoice], by=patient.account)
    assert second.id != claim.id
    review.take_up(second, staff.profile)
    with pytest.raises(states.ClaimConflict):
        sharing.withdraw(second, by=patient.account)
    assert not invoices.can_void(second.invoice)


def test_accepting_issues_a_statement_and_a_notice(cast, make_claim):
    patient, doctor, staff = cast
    claim = make_claim(patient, doctor, staff, state="accepted", acts=(("C1", 1), ("K1", 2)))
    statement = claim.statement
    assert claim.reimbursed_cents == claim.computed_cents == statement.reimbursed_cents
    assert [line.act_code for line in statement.lines] == ["C1", "K1"]
    assert sum(line.reimbursed_cents for line in statement.lines) == statement.reimbursed_cents
    for line in statement.lines:
        assert line.participation_cents + line.reimbursed_cents == line.tariff_cents
    assert statement.payment_date.weekday() < 5
    kinds = db.session.scalars(db.select(Notification.kind).where(Notification.patient_id == patient.profile.id)).all()
    assert kinds == [NoticeKind.STATEMENT_AVAILABLE]


def test_an_adjusted_amount_needs_a_reason_and_stays_within_the_total(cast, make_claim):
    patient, doctor, staff = cast
    claim = make_claim(patient, doctor, staff, state="in_review")
    with pytest.raises(Refused) as refused:
        review.accept(claim, staff.profile, version=claim.version, amount_cents=1000)
    assert refused.value.field == "reason"
    with pytest.raises(Refused) as refused:  # words of one's own are no reason from the list
        review.accept(claim, staff.profile, version=claim.version, amount_cents=1000, reason="Act partly covered")
    assert refused.value.field == "reason"
    with pytest.raises(Refused) as refused:
        review.accept(claim, staff.profile, version=claim.version, amount_cents=1000, reason="other", note=" ")
    assert refused.value.field == "note"
    with pytest.raises(Refused) as refused:
        review.accept(claim, staff.profile, version=claim.version, amount_cents=claim.total_cents + 1,
                      reason="ceiling")
    assert refused.value.field == "amount"
    statement = review.accept(claim, staff.profile, version=claim.version, amount_cents=1000, reason="ceiling")
    assert statement.adjustment_cents == 1000 - claim.computed_cents
    assert (claim.adjustment_reason, claim.adjustment_note) == ("ceiling", None)


def test_the_computed_amount_needs_no_reason_and_keeps_none(cast, make_claim):
    patient, doctor, staff = cast
    claim = make_claim(patient, doctor, staff, state="in_review")
    review.accept(claim, staff.profile, version=claim.version, amount_cents=claim.computed_cents,
                  reason="tariff", note="sent along by a browser")
    assert (claim.adjustment_reason, claim.adjustment_note) == (None, None)


def test_every_adjustment_reason_has_words_in_three_languages(app):
    from flask_babel import force_locale

    assert set(review.ADJUSTMENT_REASONS) == {"not_covered", "ceiling", "duplicate_act", "tariff", "other"}
    with app.test_request_context():
        for language in ("fr", "de"):
            with force_locale(language):
                translated = {key: str(words) for key, words in review.ADJUSTMENT_REASONS.items()}
            with force_locale("en"):
                english = {key: str(words) for key, words in review.ADJUSTMENT_REASONS.items()}
            assert all(translated[key] != english[key] for key in english), language


def test_a_decision_on_a_stale_version_is_refused(cast, make_claim):
    patient, doctor, staff = cast
    claim = make_claim(patient, doctor, staff, state="in_review")
    seen = claim.version
    review.reject(claim, staff.profile, version=seen, reason="duplicate")
    with pytest.raises(states.ClaimConflict):
        review.accept(claim, staff.profile, version=seen)


def test_question_and_answer_return_the_claim_to_review(cast, make_claim):
    patient, doctor, staff = cast
    claim = make_claim(patient, doctor, staff, state="info_requested")
    assert sharing.open_question(claim).message == "Please send the prescription."
    sharing.answer(claim, "Attached.", by=patient.account)
    assert claim.state == ClaimState.IN_REVIEW
    assert [event.kind for event in claim.events][-2:] == ["info_requested", "info_answered"]


def test_fund_scope_limits_what_staff_see(cast, make_claim, make_patient, make_staff):
    _, doctor, cns_staff = cast
    civil_servant = make_patient(fund=Fund.CMFEP)
    cmfep_claim = make_claim(civil_servant, doctor)
    cns_claim = make_claim(cast[0], doctor)
    cmfep_staff = make_staff(fund=Fund.CMFEP)
    assert review.visible_claim(cns_claim.id, cmfep_staff.profile) is None
    assert review.visible_claim(cmfep_claim.id, cmfep_staff.profile) == cmfep_claim
    assert review.visible_claim(cns_claim.id, cns_staff.profile) == cns_claim
    rows, _ = review.queue(cmfep_staff.profile, review.QueueFilters())
    assert [row.id for row in rows] == [cmfep_claim.id]
    assert sharing.recipients(civil_servant.profile) == [Fund.CNS, Fund.CMFEP]


def test_keyset_pages_cover_every_claim_once(cast, make_claim, monkeypatch):
    patient, doctor, staff = cast
    made = [make_claim(patient, doctor) for _ in range(7)]
    monkeypatch.setattr(review, "PAGE_SIZE", 3)
    for sort in review.SORTS:
        seen, after = [], None
        while True:
            rows, after = review.queue(staff.profile, review.QueueFilters(sort=sort), after)
            seen += [row.id for row in rows]
            if after is None:
                break
        assert sorted(seen) == sorted(claim.id for claim in made), sort
    assert review.counts(staff.profile)[ClaimState.SHARED] == 7


def test_paper_qr_intake_creates_one_claim_and_refuses_tampering(cast, make_invoice):
    patient, doctor, staff = cast
    paper = make_invoice(patient, doctor, paid_on_site=False)
    payload = qr.qr_payload(paper)
    claim, problem = review.intake_paper(payload, staff.profile)
    assert problem is None and claim.channel == "paper_qr"
    again, problem = review.intake_paper(payload, staff.profile)
    assert again.id == claim.id and problem is None
    tampered = payload[:-3] + ("AAA" if not payload.endswith("AAA") else "BBB")
    assert review.intake_paper(tampered, staff.profile) == (None, "invalid")
    digital = make_invoice(patient, doctor)
    assert review.intake_paper(qr.qr_payload(digital), staff.profile) == (None, "not_paper")


def test_automatic_sending_shares_new_eligible_invoices_with_a_notice(cast, make_invoice):
    patient, doctor, _ = cast
    sharing.set_auto_share(patient.profile, True, by=patient.account)
    digital = make_invoice(patient, doctor)
    paper = make_invoice(patient, doctor, paid_on_site=False)
    assert states.active_claim_of(digital.id).state == ClaimState.SHARED
    assert states.active_claim_of(paper.id) is None
    notice = db.session.scalar(db.select(Notification).where(Notification.patient_id == patient.profile.id))
    assert (notice.kind, notice.invoice_id) == (NoticeKind.SENT_AUTOMATICALLY, digital.id)
    assert states.unread_count([patient.profile.id]) == 1
    states.mark_read(patient.profile.id)
    assert states.unread_count([patient.profile.id]) == 0


def test_timeline_reaches_paid_on_the_payment_date(cast, make_claim):
    patient, doctor, staff = cast
    claim = make_claim(patient, doctor, staff, state="accepted")
    steps = {step.key: step for step in timeline.steps(claim)}
    assert list(steps) == ["issued", "shared", "received", "in_review", "decided", "paid"]
    assert steps["decided"].outcome == "accepted"
    assert steps["shared"].took is not None
    assert steps["paid"].at == claim.statement.payment_date
    rejected = make_claim(patient, doctor, staff, state="rejected")
    assert "paid" not in [step.key for step in timeline.steps(rejected)]


def test_payment_date_skips_weekends():
    assert review.payment_date(date(2026, 11, 20)) == date(2026, 11, 24)  # Friday → Tuesday


def test_report_closed_when_the_doctor_reissues(cast, make_invoice):
    from portal.invoicing import nomenclature
    from portal.models import InvoiceReport

    patient, doctor, _ = cast
    wrong = make_invoice(patient, doctor)
    report = sharing.report_invoice(wrong, "The consultation was a C2.", by=patient.account)
    assert sharing.open_reports(doctor.profile.id) == [report]
    invoices.void(wrong, "reported by patient")
    draft = invoices.Draft(patient=patient.profile, service_date=wrong.service_date,
                           lines=[(nomenclature.act_on("C2", wrong.service_date), 1)], replaces=wrong)
    fixed = invoices.issue(doctor.profile, draft)
    assert fixed.replaces_id == wrong.id
    assert db.session.get(InvoiceReport, report.id).closed_at is not None
    assert sharing.open_reports(doctor.profile.id) == []


@pytest.mark.parametrize(
    ("birth", "acts", "adjusted_to", "reimbursed", "participation"),
    [
        (date(1980, 1, 1), (("C1", 1),), None, 5078, 692),  # adult: 88 % of 57.70
        (date(2015, 6, 2), (("C1", 1),), None, 5770, 0),  # under 18: 100 %
        (date(1980, 1, 1), (("C1", 1), ("K1", 2)), None, 9922, 1352),  # several acts, rounded per line
        (date(2015, 6, 2), (("C42", 1), ("K5", 3)), None, 11496, 0),
        (date(1980, 1, 1), (("C1", 1), ("K1", 2)), 5000, 5000, 1352),  # an agent's adjustment
    ],
)
def test_reimbursement_from_decision_to_statement(make_patient, make_doctor, make_staff, make_claim,
                                                  birth, acts, adjusted_to, reimbursed, participation):
    patient, doctor, staff = make_patient(birth=birth), make_doctor(), make_staff()
    claim = make_claim(patient, doctor, staff, state="in_review", acts=acts)
    statement = review.accept(claim, staff.profile, version=claim.version, amount_cents=adjusted_to,
                              reason="not_covered" if adjusted_to else None)
    assert claim.reimbursed_cents == statement.reimbursed_cents == reimbursed
    assert sum(line.participation_cents for line in statement.lines) == participation
    assert statement.billed_cents == sum(line.billed_cents for line in statement.lines)
    assert statement.adjustment_cents == reimbursed - sum(line.reimbursed_cents for line in statement.lines)


def test_staff_cannot_move_a_frozen_claim_even_if_their_page_is_stale(cast, make_claim):
    from portal.core import clock

    patient, doctor, staff = cast
    waiting = make_claim(patient, doctor)
    reviewed = make_claim(patient, doctor, staff, state="in_review")
    for claim in (waiting, reviewed):
        claim.frozen_at = clock.now()  # the patient froze it after the agent loaded the claim
    db.session.flush()
    with pytest.raises(states.ClaimConflict):
        review.take_up(waiting, staff.profile)
    with pytest.raises(states.ClaimConflict):
        review.accept(reviewed, staff.profile, version=reviewed.version)
    with pytest.raises(states.ClaimConflict):
        review.request_info(reviewed, staff.profile, "Any question?", version=reviewed.version)


def test_scanning_an_erased_patients_paper_invoice_opens_the_kept_claim(cast, make_invoice):
    patient, doctor, staff = cast
    paper = make_invoice(patient, doctor, paid_on_site=False)
    payload = qr.qr_payload(paper)
    claim, _ = review.intake_paper(payload, staff.profile)
    claim.patient_id = paper.patient_id = None  # what erasure leaves of a submitted claim
    db.session.flush()
    db.session.expire_all()
    assert review.intake_paper(payload, staff.profile) == (db.session.get(Claim, claim.id), None)
    unclaimed = make_invoice(patient, doctor, paid_on_site=False)
    unclaimed.patient_id = None
    db.session.flush()
    db.session.expire_all()
    assert review.intake_paper(qr.qr_payload(unclaimed), staff.profile) == (None, "invalid")


def test_every_count_follows_a_decision_at_once(cast, make_claim):
    patient, doctor, staff = cast
    claim = make_claim(patient, doctor, staff, state="in_review")
    assert review.counts(staff.profile)[ClaimState.IN_REVIEW] == 1
    review.accept(claim, staff.profile, version=claim.version)
    after = review.counts(staff.profile)
    assert (after[ClaimState.IN_REVIEW], after[ClaimState.ACCEPTED]) == (0, 1)
    # Counted from the claims when a filter the kept counts do not know narrows the queue.
    day = claim.shared_at.date()
    assert review.counts(staff.profile, review.QueueFilters(date_from=day, date_to=day)) == after


def test_filtered_counts_are_current_and_stop_past_the_limit(cast, make_claim, monkeypatch):
    patient, doctor, staff = cast
    claims = [make_claim(patient, doctor, staff, state="in_review") for _ in range(3)]
    by_doctor = review.QueueFilters(doctor_id=doctor.profile.id)
    monkeypatch.setattr(review, "COUNTED_UP_TO", 3)
    exact = review.counts(staff.profile, by_doctor)
    assert (exact[ClaimState.IN_REVIEW], exact.beyond) == (3, frozenset())  # as many as the limit: exact
    review.accept(claims[0], staff.profile, version=claims[0].version)
    # A closed state is counted from the claims as the open ones are, at once.
    after = review.counts(staff.profile, by_doctor)
    assert (after[ClaimState.IN_REVIEW], after[ClaimState.ACCEPTED]) == (2, 1)
    monkeypatch.setattr(review, "COUNTED_UP_TO", 1)
    stopped = review.counts(staff.profile, by_doctor)
    assert (stopped[ClaimState.IN_REVIEW], stopped[ClaimState.ACCEPTED]) == (1, 1)
    assert stopped.beyond == {ClaimState.IN_REVIEW}
