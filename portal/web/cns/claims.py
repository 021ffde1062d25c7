"""CNS staff work the claims queue: filter, open a claim, take it up and decide."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from flask import Response, abort, flash, g, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import bindparam
from sqlalchemy.orm import joinedload, selectinload

from portal import audit
from portal.claims import reimbursement, review, undo
from portal.claims.states import ClaimConflict
from portal.core import htmx, i18n, identity, numbers
from portal.core.forms import attach, require_valid
from portal.core.identity import age_on
from portal.core.refused import Refused
from portal.documents import uploads
from portal.extensions import db
from portal.models import Claim, ClaimEvent, ClaimState, CnsStaff, Doctor, Fund, Invoice, InvoiceLine
from portal.web import ownership, states, traced, words
from portal.web import rows as web_rows
from portal.web.access import allow, refuse
from portal.web.cns.blueprint import bp
from portal.web.cns.forms import (
    REJECTION_LABELS,
    AcceptForm,
    ClaimRejectForm,
    InfoRequestForm,
    QueueFilterForm,
    TakeUpForm,
    UndoDecisionForm,
    cents,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KEYSET_LIMIT = 2**62  # beyond any date or amount; keeps garbage out of the database
FILTER_NAMES = ("state", "fund", "date_from", "date_to", "doctor", "amount_min", "amount_max", "channel", "sort")


# --- The queue ------------------------------------------------------------------------------------

@bp.get("/claims")
@allow("cns")
def claims():
    staff = ownership.current_agent()
    form = QueueFilterForm(request.args)
    if staff.fund_scope != Fund.CNS:
        del form.fund  # a fund's agents only ever see their own fund
    form.validate()
    filters = _filters(form)
    rows, next_keyset = review.queue(staff, filters, _keyset(request.args.get("after", ""), filters.sort))
    # Only the filters travel on into the links (never `after`, never a stray parameter).
    args = {name: request.args[name] for name in FILTER_NAMES if request.args.get(name) is not None}
    return htmx.render(
        "cns/claims.html", "cns/_queue.html", form=form, rows=rows, counts=review.counts(staff, filters),
        filters=filters, args=args, next_after=_keyset_text(next_keyset), is_first=not request.args.get("after"),
        state_labels=states.labels("claim"), **decided_panel(staff), **_row_words(),
    )


def _row_words() -> dict:
    """What every row of the queue prints, translated and routed once for the page."""
    return {
        "claim_url": web_rows.address_of("cns.claim", "claim_id"), "state_words": web_rows.state_words("claim"),
        "channel_words": web_rows.translated(words.CHANNELS), "formats": i18n.formats(),
        "erased_words": web_rows.as_printed(_("Patient erased; kept by legal obligation")),
        "direct_words": web_rows.as_printed(_("Direct payment")),
    }


def _filters(form: QueueFilterForm) -> review.QueueFilters:
    """The filters from the valid fields; an invalid field is shown with its error and ignored."""

    def valid(field):
        return None if field is None or field.errors else (field.data or None)

    doctor_id = None
    if valid(form.doctor):
        doctor_id = db.session.scalar(db.select(Doctor.id).where(Doctor.provider_code == form.doctor.data))
        if doctor_id is None:
            form.doctor.errors.append(_("No doctor has this provider code."))
            doctor_id = -1  # an unknown doctor matches no claim, rather than every claim
    return review.QueueFilters(
        state=valid(form.state), fund=valid(getattr(form, "fund", None)), channel=valid(form.channel),
        date_from=valid(form.date_from), date_to=valid(form.date_to), doctor_id=doctor_id,
        amount_min_cents=cents(valid(form.amount_min)), amount_max_cents=cents(valid(form.amount_max)),
        sort=form.sort.data if not form.sort.errors else "oldest",
    )


def _keyset_text(keyset: tuple | None) -> str | None:
    """`after=<value>:<id>`; a date is written as microseconds since 1970 so it needs no escaping."""
    if keyset is None:
        return None
    value, last_id = keyset
    if isinstance(value, datetime):
        value = (value - EPOCH) // timedelta(microseconds=1)
    return f"{value}:{last_id}"


def _keyset(text: str, sort: str) -> tuple | None:
    """The keyset from the query string; anything malformed means the first page."""
    try:
        value, last_id = (int(part) for part in text.split(":"))
        if not (abs(value) < KEYSET_LIMIT and 0 < last_id < KEYSET_LIMIT):
            return None
        column, _descending = review.SORTS.get(sort, review.SORTS["oldest"])
        if column.key == "shared_at":
            value = EPOCH + timedelta(microseconds=value)
    except (ValueError, OverflowError):
        return None
    return value, last_id


# --- One claim --------------------------------------------------------------------------------------

def _visible(claim_id: int) -> Claim:
    claim = ownership.own_claim(claim_id)
    if claim.retained_by_id is not None and claim.state not in review.DECIDABLE_AFTER_ERASURE:
        # Kept after an erasure and decided (or waiting for an answer nobody can give): read-only.
        flash(_("This claim is kept by legal obligation after the patient's erasure: it can no longer be changed."), "error")
        abort(_back(claim))
    if claim.frozen_at is not None:  # restricted by the patient: no action, no document, until lifted
        flash(_("The patient has frozen this claim: nobody may work on it until they lift the freeze."), "error")
        abort(_back(claim))
    return claim


def _loaded(claim_id: int) -> tuple[Claim, int]:
    """The claim with all the page shows, and its unread rejection notices (whether the agent may
    still undo), if it is within the agent's fund scope; 404 and an audit row otherwise."""
    found = db.session.execute(
        _claim_statement(review.fund_scope(ownership.current_agent())), {"claim_id": claim_id},
    ).unique().first()
    return ownership.found_or_refused(found, "claim", claim_id)


@functools.cache
def _claim_statement(fund: str | None):
    """_loaded's statement, built once per process for each fund scope: putting its loader
    options together cost more than PostgreSQL takes to run it. Two queries instead of one per
    row: the lines come joined (a few per invoice), the events in a second query (joined too,
    they would multiply the lines)."""
    return review.within(
        db.select(Claim, undo.unread_notices()).where(Claim.id == bindparam("claim_id")).options(
            joinedload(Claim.invoice).options(
                joinedload(Invoice.doctor), joinedload(Invoice.patient),
                joinedload(Invoice.lines).joinedload(InvoiceLine.act),
            ),
            joinedload(Claim.statement), joinedload(Claim.decided_by),
            selectinload(Claim.events).joinedload(ClaimEvent.staff),
        ).execution_options(populate_existing=True),
        fund,
    )


def _page(loaded: tuple[Claim, int], staff: CnsStaff, **forms) -> str:
    claim, unread = loaded
    invoice = claim.invoice
    own_undo_until = undo.deadline(claim) if undo.undoable(claim, staff, unread=unread) else None
    forms = {**_decision_forms(claim), **forms}
    if claim.is_direct_payment:  # the doctor who sent the claim answers the question and is paid
        if forms["info_form"]:
            forms["info_form"].question.label.text = _("Question for the doctor")
            forms["info_form"].submit.label.text = _("Ask the doctor")
        if forms["accept_form"]:
            forms["accept_form"].iban_checked.label.text = _("I checked that the new bank account belongs to the doctor")
    return render_template(
        "cns/claim.html", claim=claim, invoice=invoice, amounts=reimbursement.reimbursement_of(invoice),
        age=age_on(reimbursement.birth_date_of(invoice), invoice.service_date),
        # An erased patient's claim, once paid, has no IBAN left.
        iban=identity.masked_iban(claim.iban) or _("Removed after payment"),
        iban_is_new=review.iban_is_new(claim), iban_changed_at=getattr(review.payee_of(claim), "iban_changed_at", None),
        rejection_labels=REJECTION_LABELS, adjustment_labels=review.ADJUSTMENT_REASONS,
        own_undo_until=own_undo_until,
        own_undo_form=UndoDecisionForm(formdata=None, version=claim.version) if own_undo_until else None,
        **decided_panel(staff), **forms,
    )


def _decision_forms(claim: Claim) -> dict:
    """The forms the decision column offers in the claim's state, the others None: building a
    form the page does not show cost as much as writing one it does."""
    forms = dict.fromkeys(("take_up_form", "accept_form", "reject_form", "info_form"))
    if claim.state == ClaimState.SHARED:
        forms["take_up_form"] = TakeUpForm(formdata=None)
    elif claim.state == ClaimState.IN_REVIEW:
        version = claim.version
        forms["accept_form"] = AcceptForm(formdata=None, amount=Decimal(claim.computed_cents) / 100, version=version)
        forms["reject_form"] = ClaimRejectForm(formdata=None, version=version)
        forms["info_form"] = InfoRequestForm(formdata=None, version=version)
    return forms


@bp.get("/claims/<int:claim_id>")
@allow("cns")
def claim(claim_id: int):
    staff = ownership.current_agent()
    loaded = _loaded(claim_id)
    claim = loaded[0]
    audit.record(audit.CLAIM_VIEWED, patient_id=claim.patient_id, claim_id=claim.id)
    html = _page(loaded, staff)
    return traced.page(html)


@bp.get("/claims/<int:claim_id>/documents/<int:event_id>")
@allow("cns")
def claim_document(claim_id: int, event_id: int):
    claim = _visible(claim_id)
    event = db.session.get(ClaimEvent, event_id)
    if event is None or event.claim_id != claim.id:
        refuse("event", event_id)
    if not event.document_name:
        abort(404)
    try:
        content = uploads.load(event.document_name)
    except (FileNotFoundError, ValueError):  # removed by retention meanwhile: nothing to show
        abort(404)
    mimetype = event.document_type  # read before the commit, which expires the event
    audit.record(audit.CLAIM_VIEWED, patient_id=claim.patient_id, claim_id=claim.id, document=True)
    db.session.commit()
    g.no_store = True
    return uploads.send(content, mimetype, f"claim-{claim_id}-document-{event_id}")


# --- Decisions ------------------------------------------------------------------------------------
# Each decision names the version the agent saw; review.* raises ClaimConflict when the claim
# moved on meanwhile (another agent, another tab), and the first decision stands: portal.core.errors
# answers it with the claim's page as it is now.

def _back(claim: Claim) -> Response:
    return htmx.redirect(url_for("cns.claim", claim_id=claim.id))


def _refused(claim: Claim, staff: CnsStaff, name: str, form):
    """Show the page again with the field errors; nothing was saved."""
    if form.version.errors:  # not a person's typing: a form from an older page or a forged one
        raise ClaimConflict(claim.id, message=review.CHANGED)
    db.session.rollback()
    return _page(_loaded(claim.id), staff, **{name: form}), 400


@bp.post("/claims/<int:claim_id>/take-up")
@allow("cns")
def take_up_claim(claim_id: int):
    staff = ownership.current_agent()
    claim = _visible(claim_id)
    require_valid(TakeUpForm())
    review.take_up(claim, staff)
    db.session.commit()
    flash(_("You have taken up claim %(reference)s.", reference=claim.reference), "success")
    return _back(claim)


def _decision(action: str, form_class, name: str, *, needs_confirming=None, moves_on: bool = True):
    """A decision posted from the claim's page to .../<action>: the route, the rule, the agent,
    the claim they may see and the form `name` on that page. The view decides and returns what to
    tell the agent; an invalid form or a Refused shows the page again with the errors, nothing saved.

    `needs_confirming(claim, form)` runs the domain's checks (a Refused is shown like a field error)
    and says whether the agent must confirm first: then a post without the form's `confirmed` field,
    whether from the claim's page or forged, gets the confirmation page and changes nothing.
    `moves_on`: after the decision the agent lands on the claim waiting longest, where a panel says
    what was decided (the view's words are for a step that stays on the claim, like a question)."""

    def decorate(view):
        @functools.wraps(view)
        def decided(claim_id: int):
            staff = ownership.current_agent()
            claim = _visible(claim_id)
            form = form_class()
            if not form.validate_on_submit():
                return _refused(claim, staff, name, form)
            if getattr(form, "change", None) is not None and form.change.data:
                db.session.rollback()  # from the confirmation page: the claim's page, the form as filled
                return _page(_loaded(claim.id), staff, **{name: form})
            try:
                if needs_confirming and needs_confirming(claim, form) and not form.confirmed.data:
                    db.session.rollback()
                    return _confirmation(_loaded(claim.id)[0], action, form)
                done = view(claim, staff, form)
            except Refused as refused:
                attach(form, refused)
                return _refused(claim, staff, name, form)
            db.session.commit()
            if moves_on:
                return _after_decision(claim, staff)
            flash(done, "success")
            return _back(claim)

        decided.posted_form = (form_class, "")  # which form the view reads: for the form fuzzer
        return bp.post(f"/claims/<int:claim_id>/{action}")(allow("cns")(decided))

    return decorate


def _confirmation(claim: Claim, action: str, form) -> str:
    """The decision restated, to confirm or change; nothing is saved yet."""
    amount = form.amount.data if action == "accept" else Decimal(0)
    return render_template("cns/confirm_decision.html", claim=claim, invoice=claim.invoice, action=action,
                           form=form, amount=amount, rejection_labels=REJECTION_LABELS,
                           adjustment_labels=review.ADJUSTMENT_REASONS)


def _after_decision(claim: Claim, staff: CnsStaff) -> Response:
    """On to the claim waiting longest in the agent's scope, or the queue when none waits; the
    page says what was decided (`decided`), and offers to undo it where that is safe."""
    following = review.next_waiting(staff, besides=claim.id)
    if following is None:
        return htmx.redirect(url_for("cns.claims", decided=claim.id))
    return htmx.redirect(url_for("cns.claim", claim_id=following.id, decided=claim.id))


def decided_panel(staff: CnsStaff) -> dict:
    """What the page says about the decision just taken (`?decided=<id>`), if the agent may see it."""
    claim_id = numbers.whole_number(request.args.get("decided"))  # "¹".isdigit(), yet int() refuses it
    found = db.session.execute(review.scoped(
        db.select(Claim, undo.unread_notices()).where(Claim.id == claim_id).options(joinedload(Claim.statement)),
        staff,
    )).first() if claim_id is not None else None
    if found is None or found[0].state not in ClaimState.DECIDED:
        return {}
    claim, unread = found
    return {"decided": claim, "undo_until": undo.deadline(claim) if undo.undoable(claim, staff, unread=unread) else None,
            "undo_form": UndoDecisionForm(formdata=None, version=claim.version)}


def _accept_needs_confirming(claim: Claim, form: AcceptForm) -> bool:
    # Only another amount than the computed one: accepting what the nomenclature gives is the
    # usual case, and its statement restates the amount anyway.
    return review.check_acceptance(claim, amount_cents=cents(form.amount.data), reason=form.reason.data or "",
                                   note=form.note.data or "", iban_checked=form.iban_checked.data)


def _reject_needs_confirming(claim: Claim, form: ClaimRejectForm) -> bool:
    review.check_rejection(form.reason.data, form.note.data or "")
    return True


@_decision("accept", AcceptForm, "accept_form", needs_confirming=_accept_needs_confirming)
def accept_claim(claim: Claim, staff: CnsStaff, form: AcceptForm) -> None:
    review.accept(claim, staff, version=form.version.data, amount_cents=cents(form.amount.data),
                  reason=form.reason.data or "", note=form.note.data or "", iban_checked=form.iban_checked.data)


@_decision("reject", ClaimRejectForm, "reject_form", needs_confirming=_reject_needs_confirming)
def reject_claim(claim: Claim, staff: CnsStaff, form: ClaimRejectForm) -> None:
    review.reject(claim, staff, version=form.version.data, reason=form.reason.data, note=form.note.data or "")


@_decision("request-info", InfoRequestForm, "info_form", moves_on=False)
def request_info(claim: Claim, staff: CnsStaff, form: InfoRequestForm) -> str:
    review.request_info(claim, staff, form.question.data, version=form.version.data)
    if claim.is_direct_payment:
        return _("Your question was sent to the doctor.")
    return _("Your question was sent to the patient.")


@bp.post("/claims/<int:claim_id>/undo")
@allow("cns")
def undo_decision(claim_id: int):
    staff = ownership.current_agent()
    claim = _visible(claim_id)  # an undo changes the claim: a freeze or an erasure's hold stops it too
    form = UndoDecisionForm()
    if not form.validate_on_submit():  # a stale or forged form: the page says where the claim stands
        raise ClaimConflict(claim.id, message=undo.TOO_LATE)
    undo.undo(claim, staff, version=form.version.data)
    db.session.commit()
    flash(_("The rejection of claim %(reference)s is undone: the claim is back in review with you.",
            reference=claim.reference), "success")
    return _back(claim)
