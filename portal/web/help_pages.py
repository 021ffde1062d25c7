"""The "Contact the fund" page of a signed-in patient or doctor: the form, and the messages
already sent with the fund's answers. Each role's blueprint names whose messages they are."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.core import htmx, i18n
from portal.core.forms import attach, sent_before
from portal.core.refused import Refused
from portal.documents import uploads
from portal.extensions import db
from portal.helpdesk import requests as helpdesk
from portal.models import HelpRequest, Patient
from portal.web.forms import HELP_CATEGORIES, HelpForm


def person_page(endpoint: str, patient: Patient | None, listed: Callable[[], list[HelpRequest]]):
    """GET shows the page; POST files the message (once, however often the form is sent)."""
    form = HelpForm()
    if form.validate_on_submit():
        owner = {"patient_id": patient.id} if patient is not None else {"account_id": current_user.id}
        earlier = sent_before(HelpRequest, form.sent_token, **owner)
        if earlier is None:
            try:
                earlier = helpdesk.file(form.category.data, form.message.data, account=current_user,
                                        patient=patient, document=_document(form),
                                        language=i18n.language(), form_token=form.sent_token)
            except Refused as refused:
                db.session.rollback()
                attach(form, refused)
            else:
                db.session.commit()
        if earlier is not None:
            flash(_("Your message %(reference)s was sent to the health fund. Its answer will appear on this page.",
                    reference=earlier.reference), "success")
            return htmx.redirect(url_for(endpoint))
    html = render_template("help/person.html", form=form, endpoint=endpoint, requests=listed(),
                           categories=HELP_CATEGORIES)
    return html, 400 if form.errors else 200


def _document(form: HelpForm) -> tuple[bytes, str | None] | None:
    upload = form.document.data
    if not (upload and getattr(upload, "filename", "")):
        return None
    # One byte more than allowed, so an oversized file is recognised without reading it all.
    return upload.read(uploads.MAX_BYTES + 1), upload.filename
