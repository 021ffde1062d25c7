"""CNS staff confirm the activations the register cannot reach (no mobile, no e-mail), and may
waive the wait of a re-activation once they have checked with the person."""

from __future__ import annotations

from flask import flash, render_template, url_for
from flask_babel import gettext as _

from portal import audit
from portal.accounts import reactivation
from portal.activation import codes
from portal.core import htmx
from portal.extensions import db
from portal.web import ownership, traced
from portal.web.access import allow
from portal.web.cns.blueprint import bp
from portal.web.cns.forms import ActivationCheckForm, WaiveWaitForm


@bp.get("/activation-checks")
@allow("cns")
def activation_checks():
    staff = ownership.current_agent()
    waiting = codes.awaiting_staff(staff)
    scheduled = reactivation.scheduled(staff)
    html = render_template("cns/activation_checks.html", waiting=waiting, scheduled=scheduled,
                           check_form=ActivationCheckForm(), waive_form=WaiveWaitForm())
    for code in waiting:  # staff read names and matricules
        audit.record(audit.PATIENT_LOOKED_UP, patient_id=code.patient_id, purpose="activation_check")
    for _row, person in scheduled:
        audit.record(audit.PATIENT_LOOKED_UP, patient_id=person.id, purpose="reactivation")
    return traced.page(html)


@bp.post("/activation-checks/<int:code_id>/confirm")
@allow("cns")
def confirm_activation_check(code_id: int):
    staff = ownership.current_agent()
    code = ownership.found_or_refused(codes.awaiting_staff_visible(code_id, staff), "code", code_id)
    return _decide(
        ActivationCheckForm(), lambda: codes.confirm_by_staff(code, staff),
        unchecked=_("Confirm that you checked the person and wrote to them."),
        done=_("Confirmed: the person can now finish the activation with the same code."),
        too_late=_("This code can no longer be confirmed: it was confirmed, used, revoked or has expired."),
    )


@bp.post("/reactivations/<int:reactivation_id>/waive")
@allow("cns")
def waive_reactivation(reactivation_id: int):
    staff = ownership.current_agent()
    row = ownership.found_or_refused(reactivation.scheduled_visible(reactivation_id, staff), "reactivation",
                                     reactivation_id)
    return _decide(
        WaiveWaitForm(), lambda: reactivation.waive(row, staff),
        unchecked=_("Confirm that you checked with the person."),
        done=_("The new password and authenticator work from the person's next sign-in."),
        too_late=_("This re-activation was cancelled or has already been applied."),
    )


def _decide(form, decision, *, unchecked: str, done: str, too_late: str):
    """The agent ticks that they checked (else `unchecked`), then the decision is taken, or
    no longer applies (`too_late`)."""
    if not form.validate_on_submit():
        flash(unchecked, "error")
    elif decision():
        db.session.commit()
        flash(done, "success")
    else:
        flash(too_late, "error")
    return htmx.redirect(url_for("cns.activation_checks"))
