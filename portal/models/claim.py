"""Claims: an invoice the patient shared with the fund (or a paper one CNS took in),
its history, the consent behind it, the statement that pays it, and the notices the
patient receives about it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, false, text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.invoice import Invoice
from portal.models.registry import CnsStaff, Doctor, Fund, Patient
from portal.models.types import UTCDateTime, one_of, utcnow


class ClaimState:
    SHARED = "shared"  # in the queue, no agent has taken it up; the patient may withdraw
    IN_REVIEW = "in_review"
    INFO_REQUESTED = "info_requested"  # waiting for the patient's answer
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    ALL = (SHARED, IN_REVIEW, INFO_REQUESTED, ACCEPTED, REJECTED, WITHDRAWN)
    OPEN = (SHARED, IN_REVIEW, INFO_REQUESTED)
    DECIDED = (ACCEPTED, REJECTED)




UNFROZEN = "frozen_at IS NULL"


def _queue_indexes() -> list[Index]:
    """One index per order the queue offers, with and without a state: (state, shared_at, id),
    (shared_at, id), and the same by amount; one for a fund's own agents, whose every page
    names their fund; one for a channel (paper or digital), which also counts its open
    claims by amount without reading the table (the amount is carried in the index); and
    one doctor's claims in both orders, whatever their state (the doctor filter)."""
    where = {"postgresql_where": text(UNFROZEN), "sqlite_where": text(UNFROZEN)}
    return [
        Index("ix_claim_queue_state_date", "state", "shared_at", "id", **where),
        Index("ix_claim_queue_state_amount", "state", "total_cents", "id", **where),
        Index("ix_claim_queue_date", "shared_at", "id", **where),
        Index("ix_claim_queue_amount", "total_cents", "id", **where),
        Index("ix_claim_queue_fund", "state", "fund", "shared_at", "id", **where),
        Index("ix_claim_queue_channel", "channel", "state", "shared_at", "id", postgresql_include=["total_cents"],
              **where),
        Index("ix_claim_queue_doctor_date", "doctor_id", "shared_at", "id", **where),
        Index("ix_claim_queue_doctor_amount", "doctor_id", "total_cents", "id", **where),
    ]


class Claim(db.Model):
    __table_args__ = (
        one_of("state", ClaimState.ALL),
        one_of("channel", ("digital", "paper_qr")),
        one_of("fund", Fund),
        # The staff queue reads a page by keyset in the order of one of these (portal/claims/review.py
        # SORTS), so a page costs the same at any depth and data size (bench/EXPLAIN.md). Frozen
        # claims never show in the queue: the partial indexes leave them out.
        *_queue_indexes(),
        # A doctor's claims for the queue's doctor filter, in queue order; also serves the foreign key.
        Index("ix_claim_doctor_queue", "doctor_id", "state", "shared_at", "id"),
        Index("ix_claim_patient", "patient_id", "shared_at"),
        # An agent's own claims in review, counted on the staff home page (and the foreign key).
        Index("ix_claim_taken_by", "taken_by_id", "state", postgresql_where=text(UNFROZEN), sqlite_where=text(UNFROZEN)),
        Index("ix_claim_decided", "decided_at"),
        # An invoice is claimed once: this index is what makes a double submit harmless.
        # A withdrawn claim steps aside so the invoice can be shared again later.
        Index(
            "uq_claim_invoice_active", "invoice_id", unique=True,
            postgresql_where=text("state <> 'withdrawn'"), sqlite_where=text("state <> 'withdrawn'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    # None once the patient is erased: the claim is then kept apart, under `retained_by`.
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id", ondelete="SET NULL"))
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctor.id"))
    fund: Mapped[str] = mapped_column(String(5))
    channel: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(15), default=ClaimState.SHARED)
    # Bumped by every change of state; a decision names the version it was made on.
    version: Mapped[int] = mapped_column(default=1)
    # The account credited: the patient's own, copied at the moment of sharing (the doctor's for direct payment).
    # None once an erased patient's claim is decided: it was kept only until payment.
    iban: Mapped[str | None] = mapped_column(String(34))
    # Direct immediate payment: the doctor's claim; `iban` is then the doctor's account and the
    # patient shares nothing.
    is_direct_payment: Mapped[bool] = mapped_column(default=False, server_default=false())
    total_cents: Mapped[int]
    computed_cents: Mapped[int]
    reimbursed_cents: Mapped[int | None]
    # An amount other than the computed one: a key of portal.claims.review.ADJUSTMENT_REASONS,
    # and what the agent wrote to the patient about it (required for "other").
    adjustment_reason: Mapped[str | None] = mapped_column(String(20))
    adjustment_note: Mapped[str | None] = mapped_column(Text)
    rejection_reason: Mapped[str | None] = mapped_column(String(20))
    rejection_note: Mapped[str | None] = mapped_column(Text)
    shared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("cns_staff.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("cns_staff.id", ondelete="SET NULL"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Restriction: the patient froze the claim; it leaves the staff queues until lifted.
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A paper claim: the day the patient paid the doctor, and whether the agent who took it in
    # saw a receipt (the proof of payment a reimbursement needs). None for digital claims.
    paid_on: Mapped[date | None]
    is_receipt_seen: Mapped[bool | None]
    # Kept after the patient's erasure because the fund must keep submitted claims by law.
    retained_by_id: Mapped[int | None] = mapped_column(ForeignKey("erasure_tombstone.id", ondelete="SET NULL"))

    invoice: Mapped[Invoice] = relationship()
    patient: Mapped[Patient | None] = relationship()
    doctor: Mapped[Doctor] = relationship()
    taken_by: Mapped[CnsStaff | None] = relationship(foreign_keys=[taken_by_id])
    decided_by: Mapped[CnsStaff | None] = relationship(foreign_keys=[decided_by_id])
    events: Mapped[list[ClaimEvent]] = relationship(
        back_populates="claim", cascade="all, delete-orphan", order_by="ClaimEvent.id"
    )
    statement: Mapped[Statement | None] = relationship(back_populates="claim", uselist=False)


class ClaimCount(db.Model):
    """How many claims not frozen are in each state, per fund and channel: the queue's counts
    read these few rows instead of counting a table of a million claims.

    Kept by portal/claims/counts.py in the transaction of every change (creation, state, freeze,
    erasure); counts.recount() rebuilds it from the claims. Holds no personal data.
    """

    fund: Mapped[str] = mapped_column(String(5), primary_key=True)
    state: Mapped[str] = mapped_column(String(15), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<ClaimCount {self.fund} {self.state} {self.channel} {self.n}>"


class ClaimEvent(db.Model):
    """One dated step of a claim, what the timeline and the staff history show.

    `message` holds the words people exchanged (a question, an answer, a reason); an
    answer may carry one document, stored encrypted like identity documents.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_role: Mapped[str | None] = mapped_column(String(10))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("cns_staff.id", ondelete="SET NULL"))
    message: Mapped[str | None] = mapped_column(Text)
    document_name: Mapped[str | None] = mapped_column(String(64))
    document_type: Mapped[str | None] = mapped_column(String(40))

    claim: Mapped[Claim] = relationship(back_populates="events")
    staff: Mapped[CnsStaff | None] = relationship()


class ConsentReceipt(db.Model):
    """The patient's choice to share one invoice: what, when, with whom, by whom."""

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id", ondelete="CASCADE"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    # The account that gave consent: the patient, or a parent in a child's space.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    method: Mapped[str] = mapped_column(String(10))  # manual or automatic
    recipient_fund: Mapped[str] = mapped_column(String(5))
    invoice_number: Mapped[str] = mapped_column(String(20))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    claim: Mapped[Claim] = relationship()


class Statement(db.Model):
    """The reimbursement statement ("décompte") of an accepted claim."""

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id", ondelete="CASCADE"), unique=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    payment_date: Mapped[date]
    billed_cents: Mapped[int]
    reimbursed_cents: Mapped[int]
    adjustment_cents: Mapped[int] = mapped_column(default=0)

    claim: Mapped[Claim] = relationship(back_populates="statement")
    lines: Mapped[list[StatementLine]] = relationship(
        back_populates="statement", cascade="all, delete-orphan", order_by="StatementLine.position"
    )


class StatementLine(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statement.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    provider_code: Mapped[str] = mapped_column(String(12))
    act_code: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[int]
    billed_cents: Mapped[int]
    tariff_cents: Mapped[int]
    participation_cents: Mapped[int]  # the statutory personal share
    reimbursed_cents: Mapped[int]

    statement: Mapped[Statement] = relationship(back_populates="lines")


class NoticeKind:
    STATEMENT_AVAILABLE = "statement"
    INFO_REQUESTED = "info_requested"
    CLAIM_REJECTED = "rejected"
    SENT_AUTOMATICALLY = "auto_shared"
    INVOICE_REPORTED = "reported"  # to the doctor's side: not a patient notice

    PATIENT = (STATEMENT_AVAILABLE, INFO_REQUESTED, CLAIM_REJECTED, SENT_AUTOMATICALLY)


class Notification(db.Model):
    """A notice in the patient's space; its words are chosen when shown, in the reader's language."""

    __table_args__ = (
        Index("ix_notification_unread", "patient_id", "read_at"),
        # A claim's notices: the agent's claim page counts its unread rejection notices, and
        # deleting a claim removes them (the foreign key's cascade).
        Index("ix_notification_claim", "claim_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id", ondelete="CASCADE"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    claim: Mapped[Claim | None] = relationship()
    invoice: Mapped[Invoice | None] = relationship()

    # What "New" means, in one place for the list that marks it (Python) and for the counter in
    # the menu (SQL): the two always agree (tests/claims/test_notifications.py).
    @hybrid_property
    def is_new(self) -> bool:
        return self.read_at is None

    @is_new.inplace.expression
    @classmethod
    def _is_new_expression(cls):
        return cls.read_at.is_(None)


class InvoiceReport(db.Model):
    """A patient tells the issuing doctor that an invoice is wrong."""

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"), index=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctor.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The token of the form that sent it (portal.core.forms.OnceForm): sent twice, it is one report.
    form_token: Mapped[str | None] = mapped_column(String(32), unique=True)

    invoice: Mapped[Invoice] = relationship()
