"""CNS staff check self-service identity requests."""

from __future__ import annotations

from flask import abort, flash, g, render_template, url_for
from flask_babel import gettext as _

from portal import audit
from portal.activation import requests
from portal.core import clock, htmx
from portal.core.forms import require_valid
from portal.core.identity import ADULT_AGE, age_on
from portal.documents import uploads
from portal.extensions import db
from portal.models import IdentityRequest, Patient
from portal.web import ownership, traced
from portal.web.access import allow
from portal.web.cns.blueprint import bp
from portal.web.cns.forms import ApproveForm, RejectForm


def _request(request_id: int) -> IdentityRequest:
    return ownership.found_or_refused(requests.visible(request_id, ownership.current_agent()), "request", request_id)


@bp.get("/identity-requests")
@allow("cns")
def identity_requests():
    staff = ownership.current_agent()
    return render_template(
        "cns/identity_requests.html", pending=requests.pending_queue(staff), decided=requests.recently_decided(staff)
    )


@bp.get("/identity-requests/<int:request_id>")
@allow("cns")
def identity_request(request_id: int):
    filed = _request(request_id)
    registry = db.session.get(Patient, filed.patient_id) if filed.patient_id else None
    audit.record(audit.IDENTITY_REQUEST_VIEWED, patient_id=filed.patient_id, request_id=filed.id)
    age = age_on(registry.birth_date, clock.today()) if registry else None
    html = render_template(
        "cns/identity_request.html", filed=filed, registry=registry, age=age, adult_age=ADULT_AGE,
        approve_form=ApproveForm(), reject_form=RejectForm(),
    )
    return traced.page(html)


@bp.get("/identity-requests/<int:request_id>/document")
@allow("cns")
def identity_request_document(request_id: int):
    filed = _request(request_id)
    if not filed.document_name:
        abort(404)
    content = uploads.load(filed.document_name)
    media_type = filed.document_type  # read before the commit, which expires the request
    audit.record(audit.IDENTITY_REQUEST_VIEWED, patient_id=filed.patient_id, request_id=filed.id, document=True)
    db.session.commit()
    g.no_store = True
    return uploads.send(content, media_type, f"identity-request-{request_id}")


def _decided(decided: bool, document: str | None, *, done: str, too_late: str):
    if decided:
        # In this order: if the commit fails, the request stays pending with its document,
        # and an agent can still look at it and decide again.
        db.session.commit()
        uploads.delete(document)
        flash(done, "success")
    else:
        db.session.rollback()
        flash(too_late, "error")
    return htmx.redirect(url_for("cns.identity_requests"))


@bp.post("/identity-requests/<int:request_id>/approve")
@allow("cns")
def approve_identity_request(request_id: int):
    filed = _request(request_id)
    require_valid(ApproveForm())
    document = filed.document_name  # read before the decision, which clears it
    return _decided(requests.approve(filed, ownership.current_agent()), document,
                    done=_("Request approved: an activation code has been sent."),
                    too_late=_("This request was already decided, or nobody in the register matches it."))


@bp.post("/identity-requests/<int:request_id>/reject")
@allow("cns")
def reject_identity_request(request_id: int):
    filed = _request(request_id)
    form = require_valid(RejectForm())
    document = filed.document_name
    return _decided(requests.reject(filed, ownership.current_agent(), form.reason.data, form.note.data or ""),
                    document, done=_("Request rejected; the applicant sees the reason."),
                    too_late=_("This request was already decided."))
