"""CNS staff confirm the parental links doctors asked for and the register does not hold."""

from __future__ import annotations

from flask import flash, render_template, url_for
from flask_babel import gettext as _

from portal import audit
from portal.accounts import guardian_register
from portal.core import htmx
from portal.core.forms import require_valid
from portal.extensions import db
from portal.models import GuardianRequest
from portal.web import ownership, traced
from portal.web.access import allow
from portal.web.cns.blueprint import bp
from portal.web.cns.forms import GuardianConfirmForm, GuardianRefuseForm


def _request(request_id: int) -> GuardianRequest:
    return ownership.found_or_refused(
        guardian_register.visible(request_id, ownership.current_agent()), "request", request_id)


@bp.get("/guardian-requests")
@allow("cns")
def guardian_requests():
    pending = guardian_register.pending_requests(ownership.current_agent())
    html = render_template("cns/guardian_requests.html", pending=pending, confirm_form=GuardianConfirmForm(),
                           refuse_form=GuardianRefuseForm())
    for filed in pending:  # staff read the child's and the parent's names and birth dates
        audit.record(audit.GUARDIAN_REQUEST_VIEWED, patient_id=filed.child_patient_id, request_id=filed.id)
    return traced.page(html)


@bp.post("/guardian-requests/<int:request_id>/confirm")
@allow("cns")
def confirm_guardian_request(request_id: int):
    filed = _request(request_id)
    form = GuardianConfirmForm()
    if not form.validate_on_submit():
        flash(_("Confirm that you checked the family document."), "error")
        return htmx.redirect(url_for("cns.guardian_requests"))
    return _decide(filed, confirmed=True)


@bp.post("/guardian-requests/<int:request_id>/refuse")
@allow("cns")
def refuse_guardian_request(request_id: int):
    filed = _request(request_id)
    require_valid(GuardianRefuseForm())
    return _decide(filed, confirmed=False)


def _decide(filed: GuardianRequest, *, confirmed: bool):
    try:
        guardian_register.decide(filed, ownership.current_agent(), confirmed=confirmed)
    except guardian_register.RequestAlreadyDecided:
        db.session.rollback()
        flash(_("Someone already decided this request."), "error")
        return htmx.redirect(url_for("cns.guardian_requests"))
    db.session.commit()
    if confirmed:
        flash(_("The link is in the register: the doctor can now issue the child's code."), "success")
    else:
        flash(_("The link was refused."), "success")
    return htmx.redirect(url_for("cns.guardian_requests"))
