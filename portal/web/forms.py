"""Form pieces several blueprints share: identifiers, contact codes, password rules,
the step-up form, the invoice filters. Each blueprint's own forms sit in its package."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from wtforms import (
    DateField,
    Form,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal.accounts import passwords
from portal.core import clock
from portal.core.forms import BaseForm
from portal.core.identity import InvalidIdentifier, validate_matricule
from portal.web import states


class Matricule:
    def __call__(self, form, field):
        try:
            field.data = validate_matricule(field.data or "")
        except InvalidIdentifier as exc:
            raise ValidationError(_l("Enter a valid 13-digit national identification number.")) from exc


class Mobile:
    def __call__(self, form, field):
        compact = (field.data or "").replace(" ", "").replace("-", "").replace(".", "")
        digits = compact[1:] if compact.startswith("+") else compact
        if not (8 <= len(digits) <= 15 and digits.isascii() and digits.isdigit()):
            raise ValidationError(_l("Enter a mobile number such as +352 621 123 456."))
        field.data = compact


class PlausibleBirthDate:
    """Nobody alive was born before 1900, and nobody tomorrow."""

    def __call__(self, form, field):
        if field.data is not None and not date(1900, 1, 1) <= field.data <= clock.today():
            raise ValidationError(_l("Enter a date of birth between 1900 and today."))


class NewPasswordRules:
    """Checks a new password against the rules; `context` gives the login and names."""

    def __init__(self, context=lambda form: ("", ())):
        self.context = context

    def __call__(self, form, field):
        login, names = self.context(form)
        errors = passwords.problems(field.data or "", login=login, names=names)
        if errors:
            raise ValidationError(" ".join(str(error) for error in errors))


class SixDigits:
    def __call__(self, form, field):
        value = (field.data or "").replace(" ", "")
        if len(value) != 6 or not value.isascii() or not value.isdigit():
            raise ValidationError(_l("Enter the 6-digit code shown in your authenticator app."))
        field.data = value


class ContactCode:
    def __call__(self, form, field):
        value = "".join((field.data or "").split())
        if len(value) != 6 or not value.isascii() or not value.isdigit():
            raise ValidationError(_l("Enter the 6-digit code we sent you by text message or e-mail."))
        field.data = value


def password_field(label=None) -> PasswordField:
    """The password a person types to prove who they are (the rules for a new one: NewPasswordRules)."""
    return PasswordField(label or _l("Password"), validators=[DataRequired(), Length(max=1024)])


class AuthenticatorForm(BaseForm):
    """The first code of a newly enrolled authenticator app, which confirms the enrolment."""

    code = StringField(_l("Code shown by the app"), validators=[DataRequired(), SixDigits()])
    submit = SubmitField(_l("Confirm"))


class StepUpForm(BaseForm):
    """For a change that moves money or identity: the password and a current code again (auth.stepup)."""

    password = PasswordField(_l("Your password"), validators=[Length(max=1024)])
    code = StringField(
        _l("One-time code"), validators=[Length(max=16)],
        description=_l("The 6-digit code your authenticator app shows now."),
    )


class InvoiceFilterForm(Form):
    """Filters of invoice lists (GET, nothing changes, so no CSRF token)."""

    # Each choice holds exactly the invoices shown in that state ("Issued" leaves out those
    # already sent to the fund): portal/invoicing/invoices.py, _state_conditions.
    state = SelectField(
        _l("State"), choices=[("", lazy_pgettext("invoice state", "All")), *states.labels("invoice").items()],
        validators=[Optional()],
    )
    date_from = DateField(lazy_pgettext("invoice filter", "Date of service from"), validators=[Optional()])
    date_to = DateField(lazy_pgettext("invoice filter", "Date of service until"), validators=[Optional()])
    submit = SubmitField(_l("Filter"))
