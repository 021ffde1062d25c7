"""Claims from the fund's side: who sees what, the queue, decisions, paper intake.

A staff member of CMFEP, CMFEC or EMCFL sees only their fund's claims; CNS staff see all.
Decisions are final: each one is a conditional UPDATE on the version the agent saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, String, bindparam, literal_column, tuple_, union_all

from portal import audit
from portal.claims import counts as claim_counts
from portal.claims import doctor_messages, qr, reimbursement, statement_pdf, states
from portal.claims.adjustments import ADJUSTMENT_REASONS, NEEDS_NOTE
from portal.claims.states import ClaimConflict, move
from portal.core import clock, jobs
from portal.core.database import ListFilters
from portal.core.refused import Refused
from portal.extensions import db
from portal.models import (
    Channel,
    Claim,
    ClaimEvent,
    ClaimState,
    CnsStaff,
    Doctor,
    Fund,
    NoticeKind,
    Patient,
    Statement,
    StatementLine,
)

# Claims an erased patient had submitted that the fund must still decide (and pay): erasure
# sends a claim waiting for an answer back to review, since nobody is left to answer.
DECIDABLE_AFTER_ERASURE = (ClaimState.SHARED, ClaimState.IN_REVIEW)
REJECTION_REASONS = ("not_covered", "duplicate", "not_insured", "incomplete", "other")
PAGE_SIZE = 25
# Transfers leave in a daily batch; the statement names the day the money is sent.
PAYMENT_DELAY_BUSINESS_DAYS = 2

__all__ = ["ADJUSTMENT_REASONS", "ClaimConflict", "REJECTION_REASONS", "scoped", "visible_claim", "within"]


def scoped(query, staff: CnsStaff):
    return within(query, fund_scope(staff))


def within(query, fund):
    """The query narrowed to one fund's claims; None leaves it whole (`fund` may be a bound
    parameter of a statement built once)."""
    return query if fund is None else query.where(Claim.fund == fund)


def fund_scope(staff: CnsStaff) -> str | None:
    """The one fund whose claims the agent sees, or None for CNS staff, who see every fund's."""
    return None if staff.fund_scope == Fund.CNS else staff.fund_scope


def visible_claim(claim_id: int, staff: CnsStaff) -> Claim | None:
    """The claim if this agent's fund scope covers it, else None (the view answers 404)."""
    return db.session.scalar(scoped(db.select(Claim).where(Claim.id == claim_id), staff))


# --- The queue ----------------------------------------------------------------------------------

SORTS = {
    "oldest": (Claim.shared_at, False),
    "newest": (Claim.shared_at, True),
    "amount_high": (Claim.total_cents, True),
    "amount_low": (Claim.total_cents, False),
}


@dataclass
class QueueFilters(ListFilters):
    fund: str | None = None
    amount_min_cents: int | None = None
    amount_max_cents: int | None = None
    sort: str = "oldest"


# What each filter asks of a claim, given its value (a value or a bound parameter).
_NARROWING = {
    "state": lambda value: Claim.state == value,
    "fund": lambda value: Claim.fund == value,
    "channel": lambda value: Claim.channel == value,
    "doctor_id": lambda value: Claim.doctor_id == value,
    "shared_from": lambda value: Claim.shared_at >= value,
    "shared_before": lambda value: Claim.shared_at < value,
    "amount_min": lambda value: Claim.total_cents >= value,
    "amount_max": lambda value: Claim.total_cents <= value,
}


def _given(filters: QueueFilters) -> dict:
    """The values of the filters given, by the names _NARROWING knows them by."""
    found = {
        "state": filters.state or None, "fund": filters.fund or None, "channel": filters.channel or None,
        "doctor_id": filters.doctor_id or None,
        "shared_from": _start_of(filters.date_from) if filters.date_from else None,
        "shared_before": _start_of(filters.date_to + timedelta(days=1)) if filters.date_to else None,
        "amount_min": filters.amount_min_cents, "amount_max": filters.amount_max_cents,
    }
    return {name: value for name, value in found.items() if value is not None}


def _filtered(staff: CnsStaff, filters: QueueFilters):
    return _narrowed(fund_scope(staff), _given(filters))


def _narrowed(fund, given: dict):
    """The claims of `fund` (None: every fund's) that the filters given match; the values may
    be bound parameters (_bound_to_shape)."""
    # A claim its patient froze (restriction) leaves the queues and their counts until lifted.
    query = within(db.select(Claim), fund).where(Claim.frozen_at.is_(None))
    return query.where(*(_NARROWING[name](value) for name, value in given.items()))


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clock.now().tzinfo)


def _queue_rows():
    """The queue's columns as its list shows them (and its keyset needs), the patient's and the
    doctor's names joined in: read-only rows."""
    return db.select(
        Claim.id, Claim.reference, Claim.shared_at, Claim.fund, Claim.channel, Claim.total_cents, Claim.state,
        Claim.is_direct_payment, Patient.given_name, Patient.surname, Doctor.name.label("doctor_name"),
    ).outerjoin(Patient, Patient.id == Claim.patient_id).join(Doctor, Doctor.id == Claim.doctor_id)


def _bound_to_shape(scoped_to_fund: bool, given: tuple[str, ...]):
    """_narrowed for one shape: "scope" bound for the agent's fund, and each filter given."""
    return _narrowed(bindparam("scope") if scoped_to_fund else None, {name: bindparam(name) for name in given})


@cache
def _queue_statement(scoped_to_fund: bool, given: tuple[str, ...], sort: str, from_keyset: bool):
    """The page's statement for one shape of queue (the agent's scope, the filters given, the
    order, first page or not), every value a bound parameter: building it and working out its
    cache key on every request cost more than the database spent running it."""
    column, descending = SORTS[sort]
    query = _bound_to_shape(scoped_to_fund, given)
    if from_keyset:
        # A row comparison, not "a > v OR (a = v AND id > n)": the index is entered at the
        # keyset and read from there, where the OR form may make the database read from the start.
        keyset = tuple_(column, Claim.id)
        after = tuple_(bindparam("after_value", type_=column.type), bindparam("after_id", type_=Claim.id.type))
        query = query.where(keyset < after if descending else keyset > after)
    order = (column.desc(), Claim.id.desc()) if descending else (column.asc(), Claim.id.asc())
    return _queue_rows().where(query.whereclause).order_by(*order).limit(bindparam("limit", type_=Integer))


def queue(staff: CnsStaff, filters: QueueFilters, after: tuple | None = None) -> tuple[list, tuple | None]:
    """One page of the queue as read-only rows (_queue_rows), and the keyset of the next page
    (None on the last).

    Keyset, not OFFSET: page 40,000 costs what page 1 costs.
    """
    sort = filters.sort if filters.sort in SORTS else "oldest"
    scope, given = fund_scope(staff), _given(filters)
    statement = _queue_statement(scope is not None, tuple(given), sort, after is not None)
    params = {**given, "scope": scope, "limit": PAGE_SIZE + 1}
    if after is not None:
        params["after_value"], params["after_id"] = after
    rows = db.session.execute(statement, params).all()
    page, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    if not more:
        return page, None
    last = page[-1]
    return page, (getattr(last, SORTS[sort][0].key), last.id)


class StateCounts(dict):
    """Claims per state. A state in `beyond` has more claims than its number: counted from
    the claims, it was counted up to COUNTED_UP_TO and no further."""

    def __init__(self, found: dict[str, int], beyond: frozenset[str] = frozenset()):
        super().__init__(found)
        self.beyond = beyond

    @property
    def total(self) -> int:
        """Every state's claims together: the "All" tab (a lower bound when `beyond` names one)."""
        return sum(self.values())


# Where counting a filtered queue stops. Counting every claim that matches reads them all:
# at national scale tens of thousands for an amount range, and a number that large tells an
# agent only to narrow the filters, which "more than 100" says as well.
COUNTED_UP_TO = 100


def counts(staff: CnsStaff, filters: QueueFilters | None = None) -> StateCounts:
    """Claims per state within the agent's scope (and the other filters, state aside).

    Narrowed by fund and channel at most, they are read from the kept counts (portal/claims/
    counts.py): exact, a few rows whatever the data size. A doctor, dates or amounts are
    counted from the claims through the queue's indexes, each state up to COUNTED_UP_TO: the
    cost of a filtered page then does not grow with the data, and every count is current.
    """
    base = filters or QueueFilters()
    without_state = QueueFilters(**{**base.__dict__, "state": None, "sort": "oldest"})
    scope = fund_scope(staff)
    if not _only_fund_and_channel(without_state):
        return _count_by_state(staff, without_state)
    if scope is not None and without_state.fund not in (None, scope):
        found = {}  # another fund's claims, which this agent never sees
    else:
        found = claim_counts.by_state(fund=scope or without_state.fund, channel=without_state.channel)
    return StateCounts({state: found.get(state, 0) for state in ClaimState.ALL})


def _only_fund_and_channel(filters: QueueFilters) -> bool:
    return (not (filters.doctor_id or filters.date_from or filters.date_to)
            and filters.amount_min_cents is None and filters.amount_max_cents is None)


# The states as a table of constants: the count below is one subquery run once per state,
# which the database plans once, where a subquery written out for each state is planned six
# times (most of what counting cost on a large table).
_STATES = union_all(*(db.select(literal_column(f"'{state}'", String).label("state")) for state in ClaimState.ALL))


@cache
def _count_statement(scoped_to_fund: bool, given: tuple[str, ...]):
    """For each state, how many claims of that state match, read up to the bound "limit"
    (see _queue_statement for why it is built once). Each state is its own range of the
    queue's indexes, which all begin with the state or lead to it."""
    states = _STATES.subquery("states")
    matching = (_bound_to_shape(scoped_to_fund, given).where(Claim.state == states.c.state)
                .with_only_columns(Claim.id).limit(bindparam("limit", type_=Integer)).correlate(states))
    counted = db.select(db.func.count()).select_from(matching.subquery()).scalar_subquery()
    return db.select(states.c.state, counted)


def _count_by_state(staff: CnsStaff, filters: QueueFilters) -> StateCounts:
    scope, given = fund_scope(staff), _given(filters)
    statement = _count_statement(scope is not None, tuple(given))
    found = dict(db.session.execute(statement, {**given, "scope": scope, "limit": COUNTED_UP_TO + 1}).all())
    return StateCounts({state: min(found[state], COUNTED_UP_TO) for state in ClaimState.ALL},
                       frozenset(state for state in ClaimState.ALL if found[state] > COUNTED_UP_TO))


def next_waiting(staff: CnsStaff, *, besides: int) -> Claim | None:
    """Where an agent goes after a decision: the claim of their scope waiting longest, other
    than claim `besides` (None when nothing waits)."""
    query = _filtered(staff, QueueFilters(state=ClaimState.SHARED)).where(Claim.id != besides)
    return db.session.scalar(query.order_by(Claim.shared_at, Claim.id).limit(1))


# --- Actions --------------------------------------------------------------------------------------

# What an agent whose decision came second is told; the claim page then shows the first one.
TAKEN = _l("Another agent has already taken up this claim.")
CHANGED = _l("Another agent has already decided this claim, or it changed since you opened it. "
             "Here is its current state.")


def take_up(claim: Claim, staff: CnsStaff) -> None:
    now = clock.now()
    move(claim, (ClaimState.SHARED,), {"state": ClaimState.IN_REVIEW, "taken_at": now, "taken_by_id": staff.id},
         unfrozen=True, changed=TAKEN)
    states.add_event(claim, ClaimEvent(kind="taken_up", at=now, actor_role="cns", staff_id=staff.id))
    audit.record(audit.CLAIM_TAKEN_UP, patient_id=claim.patient_id, claim_id=claim.id)


def request_info(claim: Claim, staff: CnsStaff, question: str, *, version: int) -> None:
    """Ask whoever answers for the claim: the patient, or for direct payment the doctor who sent it."""
    if claim.retained_by_id is not None and not claim.is_direct_payment:  # erased: nobody can answer
        raise ClaimConflict(claim.id, message=CHANGED)
    now = clock.now()
    move(claim, (ClaimState.IN_REVIEW,), {"state": ClaimState.INFO_REQUESTED}, version=version, unfrozen=True,
         changed=CHANGED)
    states.add_event(claim, ClaimEvent(
        kind="info_requested", at=now, actor_role="cns", staff_id=staff.id, message=question[: states.MAX_MESSAGE]
    ))
    if claim.is_direct_payment:
        doctor_messages.tell(claim, doctor_messages.QUESTION)
    else:
        states.notify(claim.patient_id, NoticeKind.INFO_REQUESTED, claim=claim)
    audit.record(audit.CLAIM_INFO_REQUESTED, patient_id=claim.patient_id, claim_id=claim.id)


def payee_of(claim: Claim) -> Doctor | Patient | None:
    """Whose bank account the claim pays: the patient's, or the doctor's for direct payment."""
    return claim.doctor if claim.is_direct_payment else claim.patient


def iban_is_new(claim: Claim) -> bool:
    """Whether the patient's bank account changed within IBAN_HOLD_HOURS.

    Someone who took over an account would change the IBAN and have claims paid there at once:
    such a claim waits for staff to check the account is the patient's."""
    payee = payee_of(claim)
    changed = payee.iban_changed_at if payee is not None else None
    return changed is not None and clock.now() - changed < current_app.config["IBAN_HOLD"]


def check_acceptance(claim: Claim, *, amount_cents: int | None = None, reason: str | None = None,
                     note: str | None = None, iban_checked: bool = False) -> bool:
    """Refused unless `accept` with these values would pass; True when the amount differs from
    the computed one (the agent then confirms the amount and the reason before it is saved).
    The computed amount needs no reason: whatever came with it is not kept."""
    amount = claim.computed_cents if amount_cents is None else amount_cents
    adjusted = amount != claim.computed_cents
    if not 0 <= amount <= claim.total_cents:
        raise Refused.on("amount", _l("The amount must be between 0 and the invoice total."))
    if adjusted and reason not in ADJUSTMENT_REASONS:
        raise Refused.on("reason", _l("Choose the reason for an amount different from the computed one."))
    if adjusted and reason == NEEDS_NOTE and not (note or "").strip():
        raise Refused.on("note", _l("Explain the different amount to the patient."))
    if iban_is_new(claim) and not iban_checked:
        raise Refused.on("iban_checked", _l("The bank account was changed recently: check that it belongs "
                                            "to the doctor, then tick the box.") if claim.is_direct_payment
                         else _l("The bank account was changed recently: check that it belongs "
                                 "to the patient, then tick the box."))
    return adjusted


def accept(claim: Claim, staff: CnsStaff, *, version: int, amount_cents: int | None = None,
           reason: str | None = None, note: str | None = None, iban_checked: bool = False) -> Statement:
    """Accept the computed amount, or another one with a reason (and a note for "other");
    issues the statement.

    `iban_checked`: the agent confirmed that a recently changed bank account is the patient's."""
    adjusted = check_acceptance(claim, amount_cents=amount_cents, reason=reason, note=note, iban_checked=iban_checked)
    amount = claim.computed_cents if amount_cents is None else amount_cents
    note = (note or "").strip()[: states.MAX_MESSAGE] if adjusted else ""
    held = iban_is_new(claim)
    now = clock.now()
    move(claim, (ClaimState.IN_REVIEW,), {
        "state": ClaimState.ACCEPTED, "decided_at": now, "decided_by_id": staff.id, "reimbursed_cents": amount,
        "adjustment_reason": reason if adjusted else None, "adjustment_note": note or None,
    }, version=version, unfrozen=True, changed=CHANGED)
    states.add_event(claim, ClaimEvent(kind="accepted", at=now, actor_role="cns", staff_id=staff.id,
                                   message=note or None))
    statement = _statement(claim, now)
    db.session.flush()
    # The patient's PDF is rendered by a job, after the commit: a download is then a read.
    jobs.enqueue(statement_pdf.store_for_patient, statement.id)
    states.notify(claim.patient_id, NoticeKind.STATEMENT_AVAILABLE, claim=claim)
    audit.record(audit.CLAIM_DECIDED, patient_id=claim.patient_id, claim_id=claim.id, decision="accepted",
                 adjusted=adjusted, **({"reason": reason} if adjusted else {}))
    if held:
        audit.record(audit.IBAN_CHANGE_CONFIRMED, patient_id=claim.patient_id, claim_id=claim.id)
    return statement


def check_rejection(reason: str, note: str = "") -> None:
    """Refused unless `reject` with this reason and note would pass."""
    if reason not in REJECTION_REASONS:
        raise Refused.on("reason", _l("Choose the reason for the rejection."))
    if reason == "other" and not note.strip():
        raise Refused.on("note", _l("Explain the reason to the patient."))


def reject(claim: Claim, staff: CnsStaff, *, version: int, reason: str, note: str = "") -> None:
    check_rejection(reason, note)
    now = clock.now()
    move(claim, (ClaimState.IN_REVIEW,), {
        "state": ClaimState.REJECTED, "decided_at": now, "decided_by_id": staff.id, "reimbursed_cents": 0,
        "rejection_reason": reason, "rejection_note": note.strip()[: states.MAX_MESSAGE] or None,
    }, version=version, unfrozen=True, changed=CHANGED)
    states.add_event(claim, ClaimEvent(kind="rejected", at=now, actor_role="cns", staff_id=staff.id,
                                   message=note.strip() or None))
    states.notify(claim.patient_id, NoticeKind.CLAIM_REJECTED, claim=claim)
    if claim.is_direct_payment:  # the doctor may now bill the patient for the rest
        doctor_messages.tell(claim, doctor_messages.REJECTED)
    audit.record(audit.CLAIM_DECIDED, patient_id=claim.patient_id, claim_id=claim.id, decision="rejected",
                 reason=reason)


def payment_date(decided: date) -> date:
    day, left = decided, PAYMENT_DELAY_BUSINESS_DAYS
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def _statement(claim: Claim, now: datetime) -> Statement:
    invoice = claim.invoice
    amounts = reimbursement.reimbursement_of(invoice)
    statement = Statement(
        claim_id=claim.id, number=f"D{now.year}-{claim.id:08d}", issued_at=now, payment_date=payment_date(now.date()),
        billed_cents=claim.total_cents, reimbursed_cents=claim.reimbursed_cents,
        adjustment_cents=claim.reimbursed_cents - amounts.reimbursed_cents,
    )
    for position, (line, computed) in enumerate(zip(invoice.lines, amounts.lines, strict=True), start=1):
        tariff = line.act.fee_cents * line.quantity
        statement.lines.append(StatementLine(
            position=position, provider_code=invoice.provider_code, act_code=line.act_code, quantity=line.quantity,
            billed_cents=line.total_cents, tariff_cents=tariff,
            participation_cents=tariff - computed.reimbursed_cents, reimbursed_cents=computed.reimbursed_cents,
        ))
    db.session.add(statement)
    return statement


# --- Paper invoices -------------------------------------------------------------------------------

PAPER_PROBLEMS = {
    "invalid": _l("This code is not a valid invoice code: it may be damaged or altered. Key the invoice in by hand."),
    "not_paper": _l("This invoice is not a paper invoice with a QR code: the patient shares it from their space."),
    "voided": _l("The doctor has voided this invoice; it cannot be reimbursed."),
    "scope": _l("This invoice belongs to another health fund's insured person."),
    "iban": _l("The insured person has no bank account on record: ask them to add one before the claim can be "
               "taken in."),
}


class PaperRefused(Refused):
    """A scanned code that makes no claim; `reason` is a key of PAPER_PROBLEMS. The problem names
    no field: the page puts it on the field the code came in by (a photo or the scanner's text)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(PAPER_PROBLEMS[reason])


def intake_paper(payload: str, staff: CnsStaff) -> tuple[Claim | None, str | None]:
    """Create the claim of a posted paper invoice from its scanned QR code.

    Returns (claim, None), or (None, reason) with reason one of: invalid, not_paper,
    voided, scope, iban. A second scan of the same invoice returns its existing claim.
    """
    try:
        claim, _created = receive_paper(payload, staff)
    except PaperRefused as refused:
        return None, refused.reason
    return claim, None


def check_payment_date(paid_on: date | None, today: date) -> None:
    """A payment cannot be dated in the future; raised before anything is looked up or written."""
    if paid_on is not None and paid_on > today:
        raise Refused.on("paid_on", _l("The payment date cannot be in the future."))


def receive_paper(payload: str, staff: CnsStaff, *, paid_on: date | None = None,
                  is_receipt_seen: bool = False) -> tuple[Claim, bool]:
    """The claim of a posted paper invoice, and whether it is new (the page says which);
    PaperRefused when the code makes none. The proof of payment the agent found in the
    envelope (the day the patient paid, a receipt seen) is recorded with a new claim; the
    agent who decides it is warned when there is none."""
    check_payment_date(paid_on, clock.today())
    invoice = qr.invoice_from_payload(payload)
    if invoice is None:
        raise PaperRefused("invalid")
    if invoice.channel != Channel.PAPER_QR:
        raise PaperRefused("not_paper")
    if invoice.voided_at is not None:
        raise PaperRefused("voided")
    patient = invoice.patient
    if patient is None:  # an erased patient's invoice survives only with its kept claim
        kept = states.active_claim_of(invoice.id)
        if kept is None or staff.fund_scope not in (Fund.CNS, kept.fund):
            raise PaperRefused("invalid")
        return kept, False
    if staff.fund_scope not in (Fund.CNS, patient.fund):
        raise PaperRefused("scope")
    if not patient.iban:
        raise PaperRefused("iban")
    claim, created = states.new_claim(patient, invoice, channel=Channel.PAPER_QR)
    if not created:
        return claim, False
    claim.paid_on, claim.is_receipt_seen = paid_on, is_receipt_seen
    now = claim.shared_at
    states.add_event(claim, ClaimEvent(kind="paper_received", at=now, actor_role="cns", staff_id=staff.id))
    audit.record(audit.CLAIM_RECEIVED_ON_PAPER, patient_id=patient.id, claim_id=claim.id, invoice_id=invoice.id,
                 receipt_seen=is_receipt_seen)
    return claim, True
