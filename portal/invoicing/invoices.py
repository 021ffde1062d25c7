"""Invoices: the channel rule, the rules a draft meets, issuing (which may share the invoice
with the fund at once) and voiding, numbering, and the lists doctors and patients read.

Money is integer cents everywhere. What the fund pays back is computed in
portal/claims/reimbursement.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, or_

from portal import audit
from portal.activation.codes import ensure_doctor_may_issue
from portal.claims import direct_payment, reimbursement, sharing, states
from portal.core import clock, jobs
from portal.core.database import ListFilters, add_unless_taken
from portal.core.refused import Refused
from portal.extensions import db
from portal.invoicing import invoice_pdf, nomenclature
from portal.models import Channel, Claim, Doctor, Invoice, InvoiceLine, Patient

RETENTION_YEARS = 2
MAX_QUANTITY = 99


def add_years(moment, years: int):
    """The same day `years` later (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def channel_for(*, doctor_is_digital: bool, paid_on_site: bool, payer_is_patient: bool,
                prefers_paper: bool = False) -> str:
    """Which kind of invoice the doctor issues (DOMAIN.md, "Invoices"). A patient who prefers
    paper gets it printed with its QR code, to post to the fund as before."""
    if not doctor_is_digital or not payer_is_patient:
        return Channel.PAPER
    return Channel.DIGITAL if paid_on_site and not prefers_paper else Channel.PAPER_QR


# --- The rules of an invoice ------------------------------------------------------------------
# Problems are named by the invoice form's fields (portal/web/doctor/forms.py), so each shows on its
# field: `matricule`, `service_date`, `lines-<n>-code`, `lines-<n>-quantity`.

NOT_IN_REGISTER = _l("Nobody in the register of insured persons has this number.")
NO_DATE = _l("Enter a date.")
IN_THE_FUTURE = _l("The date of service cannot be in the future.")
TOO_OLD = _l("The date of service cannot be more than two years ago.")
NOT_AN_ACT = _l("This code is not in the nomenclature.")
NO_ACT = _l("Add at least one act.")
OTHER_PATIENT = _l("A corrected invoice is for the same patient as the voided one.")


def service_date_problem(day: date, today: date):
    """Why an invoice cannot be for this day, or None: not after today, not older than the
    invoices the portal keeps."""
    if day > today:
        return IN_THE_FUTURE
    if day < oldest_service_date(today):
        return TOO_OLD
    return None


def quantity_problem(quantity: int | None):
    if quantity is None or not 1 <= quantity <= MAX_QUANTITY:
        return _l("Enter a quantity from 1 to %(max)d.", max=MAX_QUANTITY)
    return None


@dataclass
class Draft:
    """An invoice as the doctor fills it in, checked before anything is saved."""

    patient: Patient | None = None
    service_date: date | None = None
    paid_on_site: bool = True
    payer_is_patient: bool = True
    lines: list[tuple[nomenclature.CatalogueEntry, int]] = field(default_factory=list)
    # The doctor's own voided invoice for the same patient that this one corrects.
    replaces: Invoice | None = None
    # The token of the form it came from (portal.core.forms.OnceForm), kept with the invoice.
    form_token: str | None = None
    # How the fee is settled: "full" (the patient pays it all and may share the invoice),
    # "direct" (direct payment: the patient pays their share, the fund the doctor) or "paper"
    # (the patient prefers a paper invoice with its QR code).
    settlement: str = "full"
    consent_by: str | None = None  # for direct payment: who agreed (direct_payment.CONSENT_BY)
    consent_method: str | None = None  # and how (direct_payment.CONSENT_METHODS)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


    def refused(self) -> Refused | None:
        return Refused(fields=self.errors) if self.errors else None

    @property
    def is_direct(self) -> bool:
        return self.settlement == "direct"

    @property
    def prefers_paper(self) -> bool:
        return self.settlement == "paper"

    def direct_obstacles(self, doctor: Doctor) -> list[direct_payment.Obstacle]:
        """Why this draft cannot be paid directly (shown while the doctor fills the form in)."""
        return direct_payment.obstacles(
            doctor, self.patient, self.service_date, [act for act, _quantity in self.lines if act],
            paid_on_site=self.paid_on_site, payer_is_patient=self.payer_is_patient, prefers_paper=self.prefers_paper,
        )


def oldest_service_date(today: date) -> date:
    return add_years(today, -RETENTION_YEARS)


def read_draft(*, matricule: str | None, service_date: date | None, lines: list[tuple[str | None, int | None]],
               paid_on_site: bool, payer_is_patient: bool, replaces: Invoice | None = None,
               settlement: str = "full", consent_by: str | None = None, consent_method: str | None = None,
               doctor: Doctor | None = None) -> Draft:
    """What the doctor typed, as a draft with every problem on its field.

    None stands for a value the form itself refused: it is not checked again, and a refused
    act code (None) is never looked up; an empty line has the code "". Looking a person up
    shows the doctor their name and birth date to confirm: an access, audited."""
    draft = Draft(paid_on_site=paid_on_site, payer_is_patient=payer_is_patient, replaces=replaces,
                  settlement=settlement, consent_by=consent_by, consent_method=consent_method)
    if matricule is not None:
        draft.patient = db.session.scalar(db.select(Patient).where(Patient.matricule == matricule))
        if draft.patient is None:
            draft.error("matricule", NOT_IN_REGISTER)
        else:
            audit.record(audit.PATIENT_LOOKED_UP, patient_id=draft.patient.id, purpose="invoice")
    today = clock.today()
    if service_date is not None:
        if (problem := service_date_problem(service_date, today)) is not None:
            draft.error("service_date", problem)
        else:
            draft.service_date = service_date
    for position, (code, quantity) in enumerate(lines):
        if code:
            _read_line(draft, position, code, quantity, draft.service_date or today)
    if all(code == "" for code, _quantity in lines):
        draft.error("lines-0-code", NO_ACT)
    if replaces is not None and draft.patient is not None and replaces.patient_id != draft.patient.id:
        draft.error("matricule", OTHER_PATIENT)
    if doctor is not None:  # direct payment's rules, shown on the form before anything is issued
        _direct_problems(doctor, draft, draft)
    return draft


def _read_line(draft: Draft, position: int, code: str, quantity: int | None, on: date) -> None:
    act = nomenclature.act_on(code, on)
    if act is None:
        draft.error(f"lines-{position}-code", NOT_AN_ACT)
    if (problem := quantity_problem(quantity)) is not None:
        draft.error(f"lines-{position}-quantity", problem)
    elif act is not None:
        draft.lines.append((act, quantity))


def problems(doctor: Doctor, draft: Draft) -> dict[str, list[str]]:
    """Every rule a draft breaks, whoever built it (the doctor's form, the demo, a test)."""
    found = Draft()
    if draft.patient is None:
        found.error("matricule", NOT_IN_REGISTER)
    if draft.service_date is None:
        found.error("service_date", NO_DATE)
    elif (problem := service_date_problem(draft.service_date, clock.today())) is not None:
        found.error("service_date", problem)
    _line_problems(draft, found)
    _correction_problems(doctor, draft, found)
    _direct_problems(doctor, draft, found)
    for name, messages in draft.errors.items():
        found.errors[name] = [*messages, *found.errors.get(name, [])]
    return found.errors


def _line_problems(draft: Draft, found: Draft) -> None:
    if not draft.lines:
        found.error("lines-0-code", NO_ACT)
    for position, (act, quantity) in enumerate(draft.lines):
        in_force = nomenclature.act_on(act.code, draft.service_date) if act and draft.service_date else None
        if in_force is None or in_force.id != act.id:
            found.error(f"lines-{position}-code", NOT_AN_ACT)
        if (problem := quantity_problem(quantity)) is not None:
            found.error(f"lines-{position}-quantity", problem)


def _correction_problems(doctor: Doctor, draft: Draft, found: Draft) -> None:
    replaced = draft.replaces
    if replaced is None:
        return
    if replaced.doctor_id != doctor.id or replaced.voided_at is None:
        found.error("replaces", "only a voided invoice of the same doctor can be replaced")
    if draft.patient is not None and replaced.patient_id != draft.patient.id:
        found.error("matricule", OTHER_PATIENT)


def _direct_problems(doctor: Doctor, draft: Draft, found: Draft) -> None:
    if draft.settlement not in SETTLEMENTS:
        found.error("settlement", "unknown settlement")
    if not draft.is_direct:
        return
    for obstacle in draft.direct_obstacles(doctor):
        found.error("settlement", obstacle.message)
    if draft.consent_by not in direct_payment.CONSENT_BY or draft.consent_method not in direct_payment.CONSENT_METHODS:
        found.error("consent_method", direct_payment.NO_CONSENT)


SETTLEMENTS = ("full", "direct", "paper")


def relatives(invoice: Invoice) -> dict[str, Invoice | None]:
    """The voided invoice this one corrects ("replaces") and the correction that replaced it
    ("replaced_by"), in one query; none for the many that neither correct an invoice nor were
    voided (issue() corrects voided invoices only)."""
    if invoice.replaces_id is None and invoice.voided_at is None:
        return {"replaces": None, "replaced_by": None}
    found = db.session.scalars(db.select(Invoice).where(
        or_(Invoice.id == invoice.replaces_id, Invoice.replaces_id == invoice.id)
    ).order_by(Invoice.id)).all()
    return {
        "replaces": next((other for other in found if other.id == invoice.replaces_id), None),
        "replaced_by": next((other for other in found if other.replaces_id == invoice.id), None),
    }


def issue(doctor: Doctor, draft: Draft) -> Invoice:
    """Save a draft that breaks no rule; amounts come from the nomenclature, never from the browser.

    Raises Refused with the problems on their fields (see problems) before anything is written."""
    ensure_doctor_may_issue(doctor)  # a doctor who left issues nothing, whatever session they hold
    if found := problems(doctor, draft):
        raise Refused(fields=found)
    now = clock.now()
    channel = channel_for(
        doctor_is_digital=doctor.is_digital_participant,
        paid_on_site=draft.paid_on_site,
        payer_is_patient=draft.payer_is_patient,
        prefers_paper=draft.prefers_paper,
    )
    invoice = Invoice(
        doctor_id=doctor.id,
        patient_id=draft.patient.id,
        provider_code=doctor.provider_code,
        patient_matricule=draft.patient.matricule,
        service_date=draft.service_date,
        issued_at=now,
        channel=channel,
        is_paid_on_site=draft.paid_on_site,
        paid_at=now if draft.paid_on_site else None,
        is_payer_patient=draft.payer_is_patient,
        total_cents=0,
        expires_at=add_years(now, RETENTION_YEARS),
        form_token=draft.form_token or None,
        is_paper_preferred=draft.prefers_paper,
    )
    replaced = draft.replaces
    if replaced is not None:
        invoice.replaces_id = replaced.id
    for position, (act, quantity) in enumerate(draft.lines, start=1):
        invoice.lines.append(
            InvoiceLine(position=position, act_id=act.id, act_code=act.code, quantity=quantity,
                        unit_fee_cents=act.fee_cents, total_cents=act.fee_cents * quantity)
        )
    invoice.total_cents = sum(line.total_cents for line in invoice.lines)
    invoice.number = _save_with_number(doctor, invoice)
    audit.record(audit.INVOICE_ISSUED, patient_id=invoice.patient_id, invoice_id=invoice.id, channel=channel)
    if replaced is not None:
        sharing.close_reports(replaced, invoice)
    if draft.is_direct:  # the claim comes from the doctor, at once: nothing for the patient to share
        direct_payment.submit(invoice, consent_by=draft.consent_by, consent_method=draft.consent_method)
    else:
        sharing.auto_share(invoice)
    # The patient's PDF is rendered by a job, after the commit: a download is then a read.
    jobs.enqueue(invoice_pdf.store_for_patient, invoice.id)
    return invoice


def _save_with_number(doctor: Doctor, invoice: Invoice) -> str:
    # Numbers run per doctor and year; two invoices saved at once may pick the same
    # number, so the unique constraint decides and the loser takes the next one.
    year = invoice.issued_at.year
    for _attempt in range(5):
        last = db.session.scalar(
            db.select(db.func.max(Invoice.number)).where(
                Invoice.doctor_id == doctor.id, Invoice.number.like(f"{year}-%")
            )
        )
        invoice.number = f"{year}-{int(last.split('-')[1]) + 1 if last else 1:06d}"
        clash = add_unless_taken(invoice)
        if clash is None:
            return invoice.number
        if invoice.form_token and db.session.scalar(
            db.select(Invoice.id).where(Invoice.form_token == invoice.form_token)
        ):
            raise clash  # the same form was issued meanwhile: not a clash of numbers
    raise RuntimeError("could not number the invoice")


def can_void(invoice: Invoice, *, claimed: bool | None = None, live: Claim | None = None) -> bool:
    """`claimed`: whether a live claim holds the invoice, when the caller knows already, and
    `live` that claim (see live_claim)."""
    if invoice.voided_at is not None:
        return False
    if invoice.is_direct_payment:  # its claim came with it: voidable until an agent takes it up
        return direct_payment.may_void(invoice, live if claimed is not None else states.active_claim_of(invoice.id))
    return not (is_submitted(invoice) if claimed is None else claimed)


def live_claim(invoice: Invoice) -> Claim | None:
    return states.active_claim_of(invoice.id)


def is_submitted(invoice: Invoice) -> bool:
    """Shared with the fund: from then on the invoice belongs to the claim."""

    return states.active_claim_of(invoice.id) is not None


def void(invoice: Invoice, reason: str) -> bool:
    if not can_void(invoice):
        return False
    if invoice.is_direct_payment:
        direct_payment.withdraw_with(invoice)
    invoice.voided_at = clock.now()
    invoice.void_reason = reason
    invoice_pdf.forget(invoice)  # its PDF now says it was voided
    audit.record(audit.INVOICE_VOIDED, patient_id=invoice.patient_id, invoice_id=invoice.id)
    return True


def page_facts(invoice: Invoice, *, claimed: bool | None = None, live: Claim | None = None) -> dict:
    """What an invoice's page shows besides the invoice: what the fund pays back, its state,
    and the invoice it corrects or the one that corrected it. `claimed`: whether a live claim
    holds the invoice, when the caller knows already (None: asked here)."""
    if claimed is None:
        live = live_claim(invoice)
        claimed = live is not None
    return {"amounts": reimbursement.reimbursement_of(invoice), "state": state_of(invoice, claimed=claimed),
            "split": direct_payment.split_of(invoice) if invoice.is_direct_payment else None,
            "direct_claim": live if invoice.is_direct_payment else None,
            **relatives(invoice)}


def download_pdf(invoice: Invoice, language: str) -> tuple[bytes, str]:
    """The PDF the signed-in person downloads and its file name, the download traced. Both are
    read before the caller commits, which would expire the invoice and load it all again."""
    content = invoice_pdf.pdf_of(invoice, language)
    name = f"invoice-{invoice.number}.pdf"
    record_viewed(invoice, document="pdf")
    return content, name


def record_viewed(invoice: Invoice, **document) -> None:
    """Trace that the signed-in person saw the invoice: its page, or with document="pdf" its PDF."""
    audit.record(audit.INVOICE_VIEWED, patient_id=invoice.patient_id, invoice_id=invoice.id, **document)


def state_of(invoice: Invoice, *, claimed: bool = False) -> str:
    """The invoice's state (portal/web/states.py words it). "shared" needs to know whether a
    live claim holds it (`claimed`); the order is the one of sharing.why_not_shareable, and
    the list filters below say the same in SQL."""
    if invoice.voided_at:
        return "voided"
    if invoice.expires_at <= clock.now():
        return "expired"
    return "shared" if claimed else "issued"


Filters = ListFilters  # an invoice list is narrowed by nothing more


PAGE_SIZE = 20


def filtered(*, patient_id, doctor_id, filters: Filters):
    """The invoices the filters match; `patient_id`, `doctor_id` and the filters' values may be
    bound parameters (a statement built once per shape: see shape_of)."""
    query = db.select(Invoice)
    if patient_id is not None:
        query = query.where(Invoice.patient_id == patient_id)
    if doctor_id is not None:
        query = query.where(Invoice.doctor_id == doctor_id)
    return query.where(*_conditions(filters))


def _conditions(filters: Filters) -> list:
    found = []
    if filters.doctor_id is not None:
        found.append(Invoice.doctor_id == filters.doctor_id)
    if filters.channel is not None:
        found.append(Invoice.channel == filters.channel)
    if filters.date_from is not None:
        found.append(Invoice.service_date >= filters.date_from)
    if filters.date_to is not None:
        found.append(Invoice.service_date <= filters.date_to)
    return found + _state_conditions(filters.state)


# The lists' statements are built once per shape (which filters are given, which state) with
# every value a bound parameter: building a statement and working out its cache key cost more
# Python than the database spent running it.
_VALUED = ("doctor_id", "channel", "date_from", "date_to")
_STATES = ("voided", "expired", "shared", "issued")


def shape_of(filters: Filters) -> tuple:
    """Which filters are given, and the state: what a list's statement depends on."""
    return (filters.state if filters.state in _STATES else None, *(bool(getattr(filters, name)) for name in _VALUED))


def bound(shape: tuple) -> Filters:
    """Filters of that shape, each given value a bound parameter that values_of fills."""
    state, *given = shape
    return Filters(state=state, **{name: bindparam(name) for name, on in zip(_VALUED, given, strict=True) if on})


def values_of(filters: Filters) -> dict:
    """The bound parameters of the filters' statement (the present moment for the states)."""
    return {"now": clock.now(), **{name: getattr(filters, name) for name in _VALUED if getattr(filters, name)}}


@dataclass(frozen=True)
class Tally:
    """How many of a patient's invoices the filters match, and of all of them how many there
    are and the newest one's id: together they change whenever an invoice is added or removed."""

    matching: int
    version: tuple[int, int | None]


@cache
def _tally_statement(shape: tuple):
    shown = _conditions(bound(shape))
    everything = db.func.count(Invoice.id)
    matching = everything.filter(and_(*shown)) if shown else everything
    return db.select(matching, everything, db.func.max(Invoice.id)).where(Invoice.patient_id == bindparam("owner_id"))


def tally(patient_id: int, filters: Filters) -> Tally:
    """The patient's list count and the version of their invoices, in one statement."""
    found = db.session.execute(_tally_statement(shape_of(filters)),
                               {"owner_id": patient_id, **values_of(filters)}).one()
    return Tally(found[0], (found[1], found[2]))


def _state_conditions(state: str | None) -> list:
    """state_of in SQL: each filter holds exactly the invoices shown in that state."""
    if state == "voided":
        return [Invoice.voided_at.is_not(None)]
    if state == "expired":
        return [Invoice.voided_at.is_(None), Invoice.expires_at <= bindparam("now")]
    if state in ("shared", "issued"):
        live = sharing.live_claim_exists()
        return [Invoice.voided_at.is_(None), Invoice.expires_at > bindparam("now"), live if state == "shared" else ~live]
    return []  # built only for the state asked: each expression costs as much as a row to print


@cache
def _count_statement(shape: tuple, owner: str):
    owner_id = bindparam("owner_id")
    query = filtered(patient_id=owner_id if owner == "patient" else None,
                     doctor_id=owner_id if owner == "doctor" else None, filters=bound(shape))
    return db.select(db.func.count()).select_from(query.subquery())


def count(*, patient_id: int | None = None, doctor_id: int | None = None, filters: Filters) -> int:
    """How many of the patient's (or the doctor's) invoices the filters match, on every page."""
    owner, owner_id = ("patient", patient_id) if patient_id is not None else ("doctor", doctor_id)
    if owner_id is None:
        raise ValueError("count() counts one patient's or one doctor's invoices")
    statement = _count_statement(shape_of(filters), owner)
    return db.session.scalar(statement, {"owner_id": owner_id, **values_of(filters)}) or 0
