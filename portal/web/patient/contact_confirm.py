"""Typing back the codes sent to a new mobile number or e-mail address (privacy.new_contacts)."""

from __future__ import annotations

from flask import flash, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField, SubmitField
from wtforms.validators import Length

from portal.core import htmx
from portal.core.forms import BaseForm
from portal.extensions import db
from portal.privacy import new_contacts
from portal.web import ownership
from portal.web.access import allow
from portal.web.patient.blueprint import bp


class ConfirmContactForm(BaseForm):
    mobile = StringField(_l("Code sent to the new mobile number"), validators=[Length(max=16)])
    email = StringField(_l("Code sent to the new e-mail address"), validators=[Length(max=16)])
    submit = SubmitField(_l("Confirm the new contact details"))


@bp.route("/my-data/contact/confirm", methods=["GET", "POST"])
@allow("patient", before_terms=True)
def confirm_contact():
    person = ownership.current_patient()
    step = new_contacts.waiting(person)
    if step is None:
        flash(_("There is no change waiting for a code, or its codes have expired. Enter the new details again."),
              "error")
        return htmx.redirect(url_for("patient.contact_details"))
    form = ConfirmContactForm()
    for name in ("mobile", "email"):
        if name not in step["new"]:
            delattr(form, name)
    if form.validate_on_submit():
        codes = {name: form[name].data for name in step["new"]}
        if new_contacts.confirm(person, step, codes, by=current_user):
            db.session.commit()
            session.pop(new_contacts.WAITING, None)
            flash(_("Your contact details have been saved."), "success")
            return htmx.redirect(url_for("patient.my_data") + "#rectification")
        db.session.commit()  # each try counts
        form[step["new"][0]].errors.append(_("A code is wrong or has expired. Check it, or enter the new "
                                             "details again to get new codes."))
    return render_template("patient/contact_confirm.html", form=form, step=step), 400 if form.errors else 200
