"""Form pieces several blueprints share: identifiers, contact codes, password rules,
the step-up form, the invoice filters, the answer to a fund's question. Each blueprint's own forms sit in its package."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    Form,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal.accounts import passwords
from portal.claims import sharing
from portal.claims.states import MAX_MESSAGE
from portal.core import clock
from portal.core.forms import BaseForm, OnceForm, attach, written
from portal.core.identity import InvalidIdentifier, validate_iban, validate_matricule
from portal.core.refused import Refused
from portal.documents import uploads
from portal.extensions import db
from portal.helpdesk import requests as helpdesk
from portal.models import HelpCategory
from portal.web import states
from portal.web.form_fields import KeptChoicesSelect


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


def valid_iban(form, field):
    try:
        field.data = validate_iban(field.data)
    except InvalidIdentifier as exc:
        raise ValidationError(_l("Enter a valid IBAN, for example LU28 0019 4006 4475 0000.")) from exc


class StepUpForm(BaseForm):
    """For a change that moves money or identity: the password and a current code again (auth.stepup)."""

    password = PasswordField(_l("Your password"), validators=[Length(max=1024)])
    code = StringField(
        _l("One-time code"), validators=[Length(max=16)],
        description=_l("The 6-digit code your authenticator app shows now."),
    )


class InvoiceFilterForm(Form):
    """Filters of invoice lists (GET, nothing changes, so no CSRF token)."""

    class Meta:
        kept_fields = True  # a search: its fields are written once per language and value (form_fields.py)

    # Each choice holds exactly the invoices shown in that state ("Issued" leaves out those
    # already sent to the fund): portal/invoicing/invoices.py, _state_conditions.
    state = SelectField(
        _l("State"), choices=[("", lazy_pgettext("invoice state", "All")), *states.labels("invoice").items()],
        validators=[Optional()], widget=KeptChoicesSelect(),
    )
    date_from = DateField(lazy_pgettext("invoice filter", "Date of service from"), validators=[Optional()])
    date_to = DateField(lazy_pgettext("invoice filter", "Date of service until"), validators=[Optional()])
    submit = SubmitField(_l("Filter"))


# --- The help desk ("Contact the fund") -------------------------------------------------------------

HELP_CATEGORIES = {
    HelpCategory.ACCOUNT: _l("My account: signing in, activation, the authenticator app"),
    HelpCategory.INVOICE: _l("An invoice"),
    HelpCategory.CLAIM: _l("A claim or a reimbursement"),
    HelpCategory.DATA: _l("My personal data"),
    HelpCategory.OTHER: _l("Something else"),
}


def help_category() -> SelectField:
    return SelectField(_l("Subject"), choices=[("", _l("Choose a subject")), *HELP_CATEGORIES.items()],
                       validators=[DataRequired(message=_l("Choose a subject."))])


def help_message() -> TextAreaField:
    return written(_l("Your message"), missing=_l("Write your message."), max_length=helpdesk.MAX_MESSAGE,
                   too_long=_l("Write at most 4,000 characters."),
                   description=_l("Do not write your password or a code. At most 4,000 characters."))


class HelpForm(OnceForm):
    """A signed-in patient's or doctor's message to the fund."""

    category = help_category()
    message = help_message()
    document = FileField(_l("A document (optional)"), description=_l("JPEG, PNG or PDF, at most 5 MB."))
    submit = SubmitField(_l("Send to the health fund"))


class AnswerForm(BaseForm):
    """An answer to the fund's question about a claim: the patient's, or the doctor's for direct payment."""

    message = written(_l("Your answer"), missing=_l("Write your answer."), max_length=MAX_MESSAGE,
                      description=_l("At most 2,000 characters."))
    document = FileField(_l("A document (optional)"), description=_l("JPEG, PNG or PDF, at most 5 MB."))
    submit = SubmitField(_l("Send my answer"))

    def send(self, claim) -> bool:
        """Sends the answer for the signed-in user; False with the field's error when refused."""
        if not self.validate_on_submit():
            return False
        upload = self.document.data
        # One byte more than allowed, so an oversized file is recognised without reading it all.
        document = upload.read(uploads.MAX_BYTES + 1) if upload and upload.filename else None
        try:
            sharing.answer(claim, self.message.data, by=current_user, document=document,
                           filename=upload.filename if document else None)
        except Refused as refused:
            attach(self, refused)
            return False
        db.session.commit()
        return True
