"""Documents rendered once and kept: the PDF of an invoice or of a statement, per language."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.types import UTCDateTime, utcnow


class DocumentKind:
    INVOICE = "invoice"
    STATEMENT = "statement"


class StoredDocument(db.Model):
    """A rendered PDF, encrypted like uploads (FIELD_ENCRYPTION_KEY).

    In the database rather than on disk because every instance of the portal reads it. The
    foreign keys delete it with its invoice or statement (retention); `patient_id` says whose
    data it prints, so erasure finds it even on a kept claim's statement."""

    __table_args__ = (
        CheckConstraint(
            "(kind = 'invoice' and invoice_id is not null and statement_id is null)"
            " or (kind = 'statement' and statement_id is not null and invoice_id is null)",
            name="one_document",
        ),
        UniqueConstraint("invoice_id", "language"),
        UniqueConstraint("statement_id", "language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(9))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"))
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("statement.id", ondelete="CASCADE"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(2))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
