"""The patient's data-protection rights: requests to the fund, exports, and what erasure leaves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.registry import CnsStaff
from portal.models.types import UTCDateTime, one_of, utcnow


class DataRequestKind:
    CORRECTION = "correction"  # registry data the patient cannot edit (name, birth date, matricule)
    ERASURE = "erasure"
    RESTRICTION = "restriction"  # a claim frozen, then lifted
    OBJECTION = "objection"  # to optional processing (statistics)
    WITHDRAWAL = "withdrawal"  # of consent: the account is suspended
    EXPORT = "export"

    ALL = (CORRECTION, ERASURE, RESTRICTION, OBJECTION, WITHDRAWAL, EXPORT)




class DataRequest(db.Model):
    """The register of data-protection requests staff keep (GDPR art. 30 style).

    Requests that need a person (corrections) stay open until staff answer; the others
    are carried out at once and recorded as done. After an erasure the row keeps no link
    to the person: only the tombstone's reference.
    """

    __table_args__ = (
        one_of("kind", DataRequestKind.ALL),
        one_of("state", ("open", "done", "refused")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(8), default="open")
    message: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("cns_staff.id", ondelete="SET NULL"))
    # The token of the form that filed it (portal.core.forms.OnceForm): sent twice, it is one request.
    form_token: Mapped[str | None] = mapped_column(String(32), unique=True)

    answered_by: Mapped[CnsStaff | None] = relationship()


class ExportState:
    QUEUED = "queued"  # asked for; a job will build it
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"

    ALL = (QUEUED, BUILDING, READY, FAILED)
    UNDER_WAY = (QUEUED, BUILDING)




class DataExport(db.Model):
    """A ZIP of everything the portal holds on a patient, built by a job, offered for a short time."""

    __table_args__ = (one_of("state", ExportState.ALL),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    # The link's token is kept only as a hash, like activation codes.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(8), default=ExportState.QUEUED, server_default=ExportState.READY)
    file_name: Mapped[str | None] = mapped_column(String(64))  # once built
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ErasureTombstone(db.Model):
    """What remains of an erased patient: when, what went, and why some claims were kept.

    No personal data: not the name, not the matricule, not the account id.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    scope: Mapped[dict] = mapped_column(JSON, default=dict)  # counts of what was deleted, per kind
    legal_basis: Mapped[str] = mapped_column(Text)
