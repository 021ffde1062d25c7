"""The fund's register of data-protection requests; staff answer correction requests."""

from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField, SubmitField
from wtforms.validators import DataRequired

from portal.core import htmx
from portal.core.forms import BaseForm, written
from portal.core.numbers import page_number
from portal.extensions import db
from portal.models import DataRequestKind
from portal.privacy import rights
from portal.web import ownership, states, traced
from portal.web.access import allow
from portal.web.cns.blueprint import bp

KIND_LABELS = {
    DataRequestKind.CORRECTION: _l("Correction"),
    DataRequestKind.ERASURE: _l("Erasure"),
    DataRequestKind.RESTRICTION: _l("Restriction"),
    DataRequestKind.OBJECTION: _l("Objection"),
    DataRequestKind.WITHDRAWAL: _l("Withdrawal of consent"),
    DataRequestKind.EXPORT: _l("Export"),
}
STATE_LABELS = states.labels("data request")


class RegisterFilterForm(BaseForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    kind = SelectField(_l("Kind"), choices=[("", _l("All kinds")), *KIND_LABELS.items()], default="")
    state = SelectField(_l("State"), choices=[("", _l("All states")), *STATE_LABELS.items()], default="")
    submit = SubmitField(_l("Filter"))


class AnswerForm(BaseForm):
    state = RadioField(
        _l("Decision"), choices=[("done", _l("Corrected (or nothing needed correcting)")), ("refused", _l("Refused"))],
        validators=[DataRequired(message=_l("Choose a decision."))],
    )
    answer = written(
        _l("Answer to the patient"), missing=_l("Write the answer the patient will read."),
        max_length=rights.MAX_ANSWER, too_long=_l("Write at most 2000 characters."),
        description=_l("The patient reads it on their personal-data page. At most 2000 characters."),
    )
    submit = SubmitField(_l("Send the answer"))


def _page_number() -> int:
    return page_number(request.args.get("page"))


@bp.get("/data-requests")
@allow("cns")
def data_requests():
    staff = ownership.current_agent()
    form = RegisterFilterForm(request.args)
    form.validate()
    kind = form.kind.data if not form.kind.errors else None
    state = form.state.data if not form.state.errors else None
    page = _page_number()
    rows, has_next = rights.register(staff, kind=kind or None, state=state or None, page=page)
    return render_template("cns/data_requests.html", form=form, rows=rows, page=page, has_next=has_next,
                           kind_labels=KIND_LABELS, state_labels=STATE_LABELS)


@bp.route("/data-requests/<int:request_id>", methods=["GET", "POST"])
@allow("cns")
def data_request(request_id: int):
    staff = ownership.current_agent()
    filed, patient = ownership.found_or_refused(rights.visible_request(request_id, staff), "request", request_id)
    form = AnswerForm()
    if request.method == "POST":
        if not rights.can_answer(filed):
            flash(_("This request has already been answered; its answer stands."), "error")
            return htmx.redirect(url_for("cns.data_request", request_id=filed.id))
        if form.validate_on_submit():
            try:
                rights.answer(filed, staff, form.answer.data, state=form.state.data)
            except rights.NotAllowed:
                db.session.rollback()
                flash(_("This request has already been answered; its answer stands."), "error")
            else:
                db.session.commit()
                flash(_("Your answer to request %(reference)s was sent to the patient.", reference=filed.reference),
                      "success")
            return htmx.redirect(url_for("cns.data_request", request_id=filed.id))
    else:
        rights.record_view(filed)
    registry_field, text = rights.correction_parts(filed)
    html = render_template(
        "cns/data_request.html", filed=filed, patient=patient, form=form, kind_labels=KIND_LABELS,
        state_labels=STATE_LABELS, field_label=rights.REGISTRY_FIELDS.get(registry_field), text=text,
        restriction=rights.restriction_parts(filed), is_answerable=rights.can_answer(filed),
    )
    return traced.page(html), 400 if form.errors else 200
