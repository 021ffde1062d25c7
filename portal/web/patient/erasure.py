"""Withdrawing and restoring consent, and erasing the account, from "my personal data".

All three act on the signed-in person's own account, so they refuse to run from a child's
space: a parent there acts for the child, not for themselves.
"""

from __future__ import annotations

from flask import abort, flash, g, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, ValidationError

from portal.accounts import consent, sessions, stepup
from portal.core import htmx
from portal.core.forms import BaseForm, require_valid
from portal.extensions import db
from portal.privacy import erasure
from portal.web import ownership
from portal.web.access import allow
from portal.web.patient.blueprint import bp

# Typed by the patient in their language, so nobody erases their account by a stray click.
CONFIRMATION_WORD = _l("ERASE")


def _confirmed(form, field):
    if (field.data or "").casefold() != str(CONFIRMATION_WORD).casefold():
        raise ValidationError(_l("Type the word %(word)s exactly as shown.", word=CONFIRMATION_WORD))


class EraseForm(BaseForm):
    password = PasswordField(
        _l("Your password"), validators=[DataRequired(message=_l("Enter your password.")), Length(max=256)]
    )
    code = StringField(
        _l("One-time code"),
        validators=[DataRequired(message=_l("Enter the code your authenticator app shows.")), Length(max=16)],
        description=_l("The 6-digit code your authenticator app shows now."),
    )
    confirmation = StringField(
        _l("Type %(word)s to confirm", word=CONFIRMATION_WORD),
        validators=[DataRequired(message=_l("Type the word %(word)s to confirm.", word=CONFIRMATION_WORD)),
                    Length(max=64), _confirmed],
    )
    submit = SubmitField(_l("Erase my account and my data"))


class WithdrawForm(BaseForm):
    # Rendered by hand in patient/_my_data_consent.html (the my-data page builds no form for it).
    understood = BooleanField(validators=[DataRequired()])


def _checked(form: EraseForm) -> bool:
    """Every field checked at once, so every mistake is reported together. The password is
    checked even when the word is wrong, but the code is used up only when all the rest is right:
    a typo in the word must not cost the person their code (they would wait 30 seconds for the
    next one)."""
    valid = form.validate()
    if "csrf_token" in form.errors or "password" in form.errors:
        return False  # an expired form tries nothing; an empty password leaves nothing to check
    code = None if "code" in form.errors else form.code.data  # a code the form refuses is not tried
    problem = stepup.check(current_user._get_current_object(), form.password.data, code,
                           stage="erase", use_code=valid)
    if problem is None:
        return valid
    db.session.commit()  # the failure counts, like a failed sign-in
    stepup.add_error(form, problem)
    return False


def _valid_post() -> None:
    require_valid(BaseForm())


@bp.post("/my-data/withdraw")
@allow("patient", before_terms=True)
def withdraw_consent():
    form = WithdrawForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        flash(_("Tick the box to confirm that you want to withdraw your consent."), "error")
        return htmx.redirect(url_for("patient.my_data", _anchor="consent"))
    person, own = ownership.current_space()
    if not own:
        abort(403)  # the form is not offered in a child's space
    if consent.withdraw(person, current_user._get_current_object()) is None:
        return htmx.redirect(url_for("patient.my_data"))
    sessions.end_current("withdrawal")
    db.session.commit()
    flash(_("You have withdrawn your consent: your account is suspended and every session has ended. "
            "Sign in again to see, download or erase your data, or to restore your consent."), "info")
    return htmx.redirect(url_for("auth.login"))


@bp.post("/my-data/restore")
@allow("patient", before_terms=True)
def restore_consent():
    _valid_post()
    person, own = ownership.current_space()
    if not own:
        abort(403)
    if consent.restore(person, current_user._get_current_object()) is None:
        return htmx.redirect(url_for("patient.my_data"))
    db.session.commit()
    flash(_("Your consent is restored: you can use the whole portal again."), "success")
    return htmx.redirect(url_for("patient.home"))


@bp.route("/my-data/erase", methods=["GET", "POST"])
@allow("patient", before_terms=True)
def erase():
    person, own = ownership.current_space()
    form = EraseForm()
    if form.is_submitted() and not own:
        abort(403)
    if form.is_submitted() and _checked(form):
        account = current_user._get_current_object()
        open_claims = erasure.still_to_decide(person)
        erased = erasure.erase(person, account)
        g.user_session = None  # its row went with the account: only the cookie is left to clear
        sessions.end_current("erased")
        db.session.commit()
        erased.delete_files()
        # Shown once on the confirmation page; never in the address, where it would stay in the history.
        session["erased"] = erased.tombstone.reference
        session["erased_open_claims"] = open_claims
        return htmx.redirect(url_for("public.erased"))
    kept = erasure.kept_claims(person) if own else []

    return render_template(
        "patient/erase.html", form=form, person=person, own=own, kept=kept,
        word=CONFIRMATION_WORD,
    ), 400 if form.errors else 200
