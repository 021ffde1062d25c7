"""The help desk: what a person asked the fund ("Contact the fund") and the fund's replies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.registry import CnsStaff, Fund
from portal.models.types import UTCDateTime, one_of, utcnow


class HelpCategory:
    ACCOUNT = "account"  # signing in, activation, the authenticator
    INVOICE = "invoice"
    CLAIM = "claim"  # a claim or a reimbursement
    DATA = "data"  # personal data
    OTHER = "other"

    ALL = (ACCOUNT, INVOICE, CLAIM, DATA, OTHER)


class HelpState:
    OPEN = "open"
    ANSWERED = "answered"

    ALL = (OPEN, ANSWERED)


class HelpRequest(db.Model):
    """One message to the fund. Who wrote it is one of three: a patient (in their space, or a
    child's), a doctor (by account), or someone who could not sign in (the name and e-mail
    address they typed). Kept three years from its last reply, then purged."""

    __table_args__ = (
        one_of("category", HelpCategory.ALL),
        one_of("state", HelpState.ALL),
        one_of("fund", Fund),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    # The fund whose staff see it: the patient's; CNS for doctors and people not signed in.
    fund: Mapped[str] = mapped_column(String(5), default=Fund.CNS)
    category: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(8), default=HelpState.OPEN)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    # The account that wrote it (a patient's or a doctor's); emptied if that account goes.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"), index=True)
    # Only for someone who could not sign in: how to answer them.
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    # The language the page was in: the one the answer is announced (or sent) in.
    language: Mapped[str] = mapped_column(String(2), default="fr")
    # An attachment, stored like identity photos (portal/documents/uploads.py).
    document_name: Mapped[str | None] = mapped_column(String(32))
    document_type: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The last message either way: retention counts from here.
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The token of the form that filed it (portal.core.forms.OnceForm): sent twice, it is one request.
    form_token: Mapped[str | None] = mapped_column(String(32), unique=True)

    replies: Mapped[list[HelpReply]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="HelpReply.id"
    )

    def __repr__(self) -> str:
        return f"<HelpRequest {self.reference} {self.state}>"


class HelpReply(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("help_request.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("cns_staff.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[HelpRequest] = relationship(back_populates="replies")
    staff: Mapped[CnsStaff | None] = relationship()

    def __repr__(self) -> str:
        return f"<HelpReply {self.id} of {self.request_id}>"
