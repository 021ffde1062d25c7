"""What each role has to do, for its home page: a few counts, each read in one query.

A home page pays for the signed-in session like every page; what it shows on top is one
SELECT of scalar subqueries (and, for staff, the claims waiting longest), so its cost stays
the same whatever the data size (tests/perf).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from sqlalchemy import bindparam, or_

from portal.accounts import reactivation, sessions
from portal.claims import counts as claim_counts
from portal.claims import review, sharing
from portal.core import clock
from portal.extensions import db
from portal.models import (
    ActivationCode,
    Claim,
    ClaimState,
    CnsStaff,
    Doctor,
    Invoice,
    InvoiceReport,
    Patient,
    Statement,
    UserSession,
)

# How far back the doctor's home counts the activations that went through (its words say 30 days).
RECENT_DAYS = 30
OLDEST_SHOWN = 5


def _count(model, *conditions):
    return db.select(db.func.count()).select_from(model).where(*conditions).scalar_subquery()


# --- The patient ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientOverview:
    shareable: int  # invoices the patient can send to the fund now
    questions: int  # claims where the fund waits for the patient's answer
    question_claim_id: int | None  # the one to open when there is a single question
    with_fund: int  # claims sent and not decided yet, the question ones aside
    previous_signin: datetime | None  # None: this is the first sign-in
    new_statements: int  # statements issued since the previous sign-in
    new_statement_claim_id: int | None  # the latest of them, to open when there is one
    coming_cents: int  # reimbursements decided whose transfer date is today or later
    coming: int
    next_payment: date | None
    reactivation_id: int | None  # a re-activation of the account its owner may still cancel


def for_patient(patient: Patient, row: UserSession) -> PatientOverview:
    found = db.session.execute(_patient_statement(), {
        "patient_id": patient.id, "account_id": row.account_id, "started": row.created_at,
        "now": clock.now(), "today": clock.today(),
    }).one()
    return PatientOverview(*found)


@cache
def _patient_statement():
    """for_patient's one statement, built once per process with its values bound at each call:
    putting its ten subqueries together cost more than PostgreSQL takes to run them."""
    patient_id, today = bindparam("patient_id"), bindparam("today")
    mine = Claim.patient_id == patient_id
    previous = sessions.previous_signin(bindparam("account_id"), bindparam("started"))
    is_new = or_(previous.is_(None), Statement.issued_at > previous)
    coming = (Statement.claim_id == Claim.id, mine, Statement.payment_date >= today)
    statements = db.select(Statement).join(Claim, Statement.claim_id == Claim.id).where(mine, is_new)
    questions = (mine, Claim.state == ClaimState.INFO_REQUESTED)
    return db.select(
        _count(Invoice, Invoice.patient_id == patient_id, *sharing.shareable_conditions(bindparam("now"))),
        _count(Claim, *questions),
        db.select(db.func.min(Claim.id)).where(*questions).scalar_subquery(),
        _count(Claim, mine, Claim.state.in_((ClaimState.SHARED, ClaimState.IN_REVIEW))),
        previous,
        statements.with_only_columns(db.func.count()).scalar_subquery(),
        statements.with_only_columns(db.func.max(Statement.claim_id)).scalar_subquery(),
        db.select(db.func.coalesce(db.func.sum(Statement.reimbursed_cents), 0)).where(*coming).scalar_subquery(),
        db.select(db.func.count()).select_from(Statement).where(*coming).scalar_subquery(),
        db.select(db.func.min(Statement.payment_date)).where(*coming).scalar_subquery(),
        reactivation.waiting_id(bindparam("account_id")),
    )


# --- The doctor ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DoctorOverview:
    open_reports: int  # invoices patients say are wrong, not dealt with yet
    codes_waiting: int  # activation codes issued that can still be used
    codes_used: int  # activations that went through in the last RECENT_DAYS days
    invoices_today: int


def for_doctor(doctor: Doctor) -> DoctorOverview:
    now = clock.now()
    found = db.session.execute(_doctor_statement(), {
        "doctor_id": doctor.id, "now": now, "used_since": now - timedelta(days=RECENT_DAYS),
        "start_of_day": now.replace(hour=0, minute=0, second=0, microsecond=0),
    }).one()
    return DoctorOverview(*found)


@cache
def _doctor_statement():
    """for_doctor's statement, built once per process (its values bound at each call)."""
    doctor_id, now = bindparam("doctor_id"), bindparam("now")
    code = ActivationCode.doctor_id == doctor_id
    return db.select(
        _count(InvoiceReport, InvoiceReport.doctor_id == doctor_id, InvoiceReport.closed_at.is_(None)),
        _count(ActivationCode, code, ActivationCode.used_at.is_(None), ActivationCode.revoked_at.is_(None),
               ActivationCode.expires_at > now),
        _count(ActivationCode, code, ActivationCode.used_at >= bindparam("used_since")),
        _count(Invoice, Invoice.doctor_id == doctor_id, Invoice.issued_at >= bindparam("start_of_day")),
    )


# --- CNS staff -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffOverview:
    counts: dict[str, int]  # open claims per state, within the agent's fund scope
    mine: int  # claims this agent took up and has not decided
    oldest: list[Claim]  # the claims waiting longest for someone to take them up


def for_staff(staff: CnsStaff) -> StaffOverview:
    fund = review.fund_scope(staff)
    counts, oldest = _staff_statements(fund is not None)
    values = {"fund": fund, "staff_id": staff.id}
    found = db.session.execute(counts, values).one()
    shown = db.session.scalars(oldest, values).all()
    return StaffOverview(dict(zip(ClaimState.OPEN, found[:-1], strict=True)), found[-1], list(shown))


@cache
def _staff_statements(one_fund: bool):
    """for_staff's two statements, built once per process for agents of one fund and for CNS
    agents, who see every fund's. The queue's own counts and rules (fund scope, frozen claims
    left out), so the home matches the queue."""
    fund = bindparam("fund") if one_fund else None
    queue = review.within(db.select(Claim), fund).where(Claim.frozen_at.is_(None))
    counts = db.select(
        *(claim_counts.in_state(state, fund=fund) for state in ClaimState.OPEN),
        queue.where(Claim.state == ClaimState.IN_REVIEW, Claim.taken_by_id == bindparam("staff_id"))
        .with_only_columns(db.func.count()).scalar_subquery(),
    )
    oldest = queue.where(Claim.state == ClaimState.SHARED).order_by(Claim.shared_at, Claim.id).limit(OLDEST_SHOWN)
    return counts, oldest
