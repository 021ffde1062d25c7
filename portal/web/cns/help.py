"""The help desk's queue: staff read the messages of their fund's people and answer them."""

from __future__ import annotations

from flask import abort, flash, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SubmitField

from portal.core import htmx
from portal.core.forms import BaseForm, written
from portal.core.numbers import page_number
from portal.documents import uploads
from portal.extensions import db
from portal.helpdesk import requests as helpdesk
from portal.models import Account, HelpRequest, HelpState, Patient
from portal.web import ownership, traced
from portal.web.access import allow
from portal.web.cns.blueprint import bp
from portal.web.forms import HELP_CATEGORIES

STATE_LABELS = {HelpState.OPEN: _l("Waiting for an answer"), HelpState.ANSWERED: _l("Answered")}


class HelpFilterForm(BaseForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    state = SelectField(_l("State"), choices=[("", _l("All states")), *STATE_LABELS.items()], default="")
    submit = SubmitField(_l("Filter"))


class ReplyForm(BaseForm):
    body = written(_l("Your answer"), missing=_l("Write the answer."), max_length=helpdesk.MAX_REPLY,
                   too_long=_l("Write at most 4,000 characters."))
    submit = SubmitField(_l("Send the answer"))


def _message(request_id: int) -> HelpRequest:
    staff = ownership.current_agent()
    return ownership.found_or_refused(helpdesk.visible(request_id, staff), "request", request_id)


@bp.get("/help")
@allow("cns")
def help_queue():
    form = HelpFilterForm(request.args)
    form.validate()
    state = form.state.data if not form.state.errors else None
    page = page_number(request.args.get("page"))
    rows, has_next = helpdesk.queue(ownership.current_agent(), state=state or None, page=page)
    return render_template("cns/help_queue.html", form=form, rows=rows, page=page, has_next=has_next,
                           categories=HELP_CATEGORIES, state_labels=STATE_LABELS)


@bp.route("/help/<int:request_id>", methods=["GET", "POST"])
@allow("cns")
def help_request(request_id: int):
    filed = _message(request_id)
    form = ReplyForm()
    if form.validate_on_submit():
        helpdesk.reply(filed, ownership.current_agent(), form.body.data)
        db.session.commit()
        flash(_("Your answer to message %(reference)s was sent.", reference=filed.reference), "success")
        return htmx.redirect(url_for("cns.help_request", request_id=request_id))
    helpdesk.record_view(filed)  # reading a person's message is an access to their data
    # Who wrote it, both in one statement (either may be missing).
    patient, author = db.session.execute(
        db.select(Patient, Account).select_from(HelpRequest)
        .outerjoin(Patient, Patient.id == HelpRequest.patient_id)
        .outerjoin(Account, Account.id == HelpRequest.account_id)
        .where(HelpRequest.id == filed.id)
    ).one()
    html = render_template("cns/help_request.html", filed=filed, patient=patient, author=author, form=form,
                           categories=HELP_CATEGORIES, state_labels=STATE_LABELS)
    return traced.page(html), 400 if form.errors else 200


@bp.get("/help/<int:request_id>/document")
@allow("cns")
def help_document(request_id: int):
    filed = _message(request_id)
    if not filed.document_name:
        abort(404)
    content = uploads.load(filed.document_name)
    media_type = filed.document_type  # read before the commit, which expires the row
    helpdesk.record_view(filed, document=True)
    db.session.commit()
    g.no_store = True
    return uploads.send(content, media_type, f"help-{request_id}")
