"""People known to the portal: insured persons, doctors and CNS staff."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.account import Account
from portal.models.types import UTCDateTime, one_of, utcnow


class Fund(StrEnum):
    CNS = "CNS"
    CMFEP = "CMFEP"  # state civil servants
    CMFEC = "CMFEC"  # municipal civil servants
    EMCFL = "EMCFL"  # railway staff




class Patient(db.Model):
    """An insured person from the registry; may or may not have activated an account."""

    __table_args__ = (one_of("fund", Fund),)

    id: Mapped[int] = mapped_column(primary_key=True)
    matricule: Mapped[str] = mapped_column(String(13), unique=True)
    surname: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date]
    mobile: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    fund: Mapped[str] = mapped_column(String(5), default=Fund.CNS)
    iban: Mapped[str | None] = mapped_column(String(34))
    # When the patient last changed the IBAN in the portal: a claim is paid to an IBAN changed
    # in the last 72 hours only after staff look at it (a stolen session's favourite move).
    iban_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "Send automatically": every new eligible invoice is shared as the doctor issues it.
    is_auto_share: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Objection to optional processing: the fund's statistics leave this person out.
    objects_to_statistics: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The period the register says the person is insured (None: open-ended, or not recorded at
    # all when covered_from is None). Direct payment needs a date of service inside it.
    covered_from: Mapped[date | None]
    covered_until: Mapped[date | None]

    account: Mapped[Account | None] = relationship()

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.surname}"


class Doctor(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    provider_code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    specialty: Mapped[str] = mapped_column(String(100))
    is_digital_participant: Mapped[bool] = mapped_column(default=False)
    # Where the fund pays direct-payment claims; changed only with step-up, like a patient's.
    iban: Mapped[str | None] = mapped_column(String(34))
    iban_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where the portal sends this person's security alerts (the register has no contact for them).
    email: Mapped[str | None] = mapped_column(String(254))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account | None] = relationship()


class CnsStaff(db.Model):
    """An agent of the insurer; fund_scope CNS sees every claim, the others only their fund's."""

    __table_args__ = (one_of("fund_scope", Fund),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    fund_scope: Mapped[str] = mapped_column(String(5), default=Fund.CNS)
    # Publishes terms of use and manages staff and blocked accounts; granted by an operator
    # (`flask --app app accounts grant-admin`), never held by another fund's agents.
    is_administrator: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Where the portal sends this person's security alerts (the register has no contact for them).
    email: Mapped[str | None] = mapped_column(String(254))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account | None] = relationship()
