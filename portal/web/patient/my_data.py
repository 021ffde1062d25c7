"""'Manage my personal data': the overview and the rights exercised from it.

The overview and the rights stay reachable before the terms of use are accepted (and
while consent is withdrawn, see access.SUSPENDED_ALLOWED): refusing the terms must never
take away the means to see, correct or delete one's data. Freezing a claim is done from
the claim's own page, which is part of using the portal.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import flash, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import refresh
from flask_login import current_user
from wtforms import BooleanField, SelectField, StringField, SubmitField, ValidationError
from wtforms.validators import Length

from portal.accounts import stepup
from portal.core import htmx, identity
from portal.core.forms import BaseForm, OnceForm, require_valid, sent_before, written
from portal.extensions import db
from portal.models import Claim, DataRequest
from portal.privacy import accesses, data_access, new_contacts, rights
from portal.web import ownership
from portal.web.access import allow
from portal.web.forms import StepUpForm
from portal.web.patient import export
from portal.web.patient.blueprint import bp
from portal.web.templating import LANGUAGE_NAMES

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _normalised(normalise, message):
    def check(_form, field):
        try:
            field.data = normalise(field.data)
        except rights.InvalidContact as exc:
            raise ValidationError(message) from exc

    return check


class ContactForm(StepUpForm):
    mobile = StringField(
        _l("Mobile number"),
        validators=[Length(max=30), _normalised(rights.normalise_mobile,
                                                _l("Enter a mobile number in international form, for example +352 621 123 456."))],
        description=_l("In international form, starting with + and the country code. Leave empty to remove it."),
    )
    email = StringField(
        _l("E-mail address"),
        validators=[Length(max=254), _normalised(rights.normalise_email,
                                                 _l("Enter an e-mail address like name@example.lu."))],
        description=_l("Leave empty to remove it."),
    )
    language = SelectField(_l("Preferred language"), choices=list(LANGUAGE_NAMES.items()))
    submit = SubmitField(_l("Save my contact details"))


class CorrectionForm(OnceForm):
    registry_field = SelectField(_l("What is wrong?"), choices=list(rights.REGISTRY_FIELDS.items()))
    message = written(
        _l("What should it be?"), missing=_l("Describe the correction."),
        max_length=rights.MAX_REQUEST_MESSAGE, too_long=_l("Write at most 1000 characters."),
        description=_l("At most 1000 characters. The fund checks the registry and answers here."),
    )
    submit = SubmitField(_l("Send the request to the health fund"))


class ObjectionForm(BaseForm):
    objects = BooleanField(_l("Leave me out of the health fund's statistics"))
    submit = SubmitField(_l("Save my choice"))


class RestrictionForm(BaseForm):
    pass


@bp.get("/my-data")
@allow("patient", before_terms=True)
def my_data():
    person = ownership.current_patient()
    objection_form = ObjectionForm(formdata=None, objects=person.objects_to_statistics)
    data = data_access.overview(person)
    return render_template(
        "patient/my_data.html", person=person, data=data, iban=identity.masked_iban(person.iban),
        objection_form=objection_form, groups=data_access.ABOUT, correction_fields=rights.REGISTRY_FIELDS,
        correction_parts=rights.correction_parts, restriction_parts=rights.restriction_parts,
        # The overview read the live export already: the section asks nothing more.
        my_data_export=lambda: export.section_of(data.live_export),
    )


@bp.route("/my-data/contact", methods=["GET", "POST"])
@allow("patient", before_terms=True)
def contact_details():
    person = ownership.current_patient()
    account = person.account
    form = ContactForm()
    if account is None:
        del form.language  # a child without an account of its own: the parent's language applies
    if form.validate_on_submit():
        language = form.language.data if account is not None else None
        # Codes and alerts go to these contacts: changing them needs the password and a code again
        # (a copied cookie has neither); the language alone does not.
        problem = None
        if (form.mobile.data, form.email.data) != (person.mobile, person.email):
            problem = stepup.check(current_user._get_current_object(), form.password.data, form.code.data,
                                   stage="contact")
        if problem is not None:
            db.session.commit()  # a failure counts, like a failed sign-in
            stepup.add_error(form, problem)
            return render_template("patient/contact.html", form=form, person=person), 400
        return _save_contact(person, form, language)
    if request.method == "GET":
        form.mobile.data, form.email.data = person.mobile, person.email
        if account is not None:
            form.language.data = account.preferred_language or session.get("lang") or "fr"
    return render_template("patient/contact.html", form=form, person=person), 400 if form.errors else 200


def _save_contact(person, form, language: str | None):
    # A new address is used once the code sent to it comes back (privacy.new_contacts).
    changed, new = new_contacts.save(person, mobile=form.mobile.data, email=form.email.data, language=language,
                                     by=current_user)
    db.session.commit()
    if "language" in changed and person.account_id == current_user.id:
        session["lang"] = language  # as a ?lang= choice is remembered (portal/core/i18n.py)
        refresh()
    if new:
        return htmx.redirect(url_for("patient.confirm_contact"))
    flash(_("Your contact details have been saved.") if changed else _("Nothing was changed."), "success")
    return htmx.redirect(url_for("patient.my_data") + "#rectification")


@bp.route("/my-data/correction", methods=["GET", "POST"])
@allow("patient", before_terms=True)
def correction_request():
    person = ownership.current_patient()
    form = CorrectionForm()
    if form.validate_on_submit():
        # The same form sent again: its first request.
        filed = sent_before(DataRequest, form.sent_token, patient_id=person.id)
        if filed is None:
            filed = rights.request_correction(person, form.registry_field.data, form.message.data,
                                               by=current_user, form_token=form.sent_token)
            db.session.commit()
        flash(_("Your request %(reference)s was sent to the health fund. Its answer will appear on this page.",
                reference=filed.reference), "success")
        return htmx.redirect(url_for("patient.my_data") + "#group-data_requests")
    return render_template("patient/correction.html", form=form, person=person), 400 if form.errors else 200


@bp.post("/my-data/objection")
@allow("patient", before_terms=True)
def objection():
    person = ownership.current_patient()
    form = require_valid(ObjectionForm())
    objects = bool(form.objects.data)
    if rights.set_objection(person, objects, by=current_user):
        db.session.commit()
    flash(_("You are now left out of the health fund's statistics.") if objects
          else _("Your claims count again in the health fund's statistics."), "success")
    return htmx.redirect(url_for("patient.my_data") + "#restriction")


def _restrict(claim_id: int, change) -> tuple[Claim, bool]:
    """The patient's claim after `change` was tried on it: committed if it applied, else rolled back."""
    claim = ownership.own_claim(claim_id)
    require_valid(RestrictionForm())
    try:
        change(claim, by=current_user)
    except rights.NotAllowed:
        db.session.rollback()
        return claim, False
    db.session.commit()
    return claim, True


@bp.post("/claims/<int:claim_id>/freeze")
@allow("patient")
def freeze_claim(claim_id: int):
    claim, frozen = _restrict(claim_id, rights.freeze)
    if frozen:
        flash(_("The claim is frozen: the health fund's staff no longer see it in their queues."), "success")
    elif claim.frozen_at is not None:
        flash(_("This claim is already frozen."), "success")
    else:
        flash(_("This claim has already been decided or withdrawn, so it can no longer be frozen."), "error")
    return htmx.redirect(url_for("patient.claim", claim_id=claim_id))


@bp.post("/claims/<int:claim_id>/unfreeze")
@allow("patient")
def unfreeze_claim(claim_id: int):
    _claim, unfrozen = _restrict(claim_id, rights.unfreeze)
    flash(_("The claim is back in the health fund's queue.") if unfrozen else _("This claim is not frozen."), "success")
    return htmx.redirect(url_for("patient.claim", claim_id=claim_id))


def _keyset(text: str) -> tuple[datetime, int] | None:
    """`before=<microseconds since 1970>:<id>`; anything malformed means the first page."""
    try:
        micros, last_id = (int(part) for part in text.split(":"))
        if not (0 <= micros < 2**62 and 0 < last_id < 2**62):
            return None
        return EPOCH + timedelta(microseconds=micros), last_id
    except (ValueError, OverflowError):
        return None


@bp.get("/my-data/access-log")
@allow("patient", before_terms=True)
def access_log():
    person = ownership.current_patient()
    before = _keyset(request.args.get("before", ""))
    entries, older = accesses.page(person, current_user, before)
    older_arg = f"{(older[0] - EPOCH) // timedelta(microseconds=1)}:{older[1]}" if older else None
    return render_template("patient/access_log.html", person=person, entries=entries, older=older_arg,
                           is_first=before is None)
