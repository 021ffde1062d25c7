from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp
from wtforms.widgets import HiddenInput

from portal.core.forms import BaseForm, OnceForm, ticked
from portal.web.form_fields import KeptChoicesSelect
from portal.web.forms import InvoiceFilterForm, Matricule, Mobile, PlausibleBirthDate, StepUpForm, valid_iban

DOCUMENT_CHOICES = [
    ("identity_card", _l("Identity card")),
    ("passport", _l("Passport")),
    ("residence_permit", _l("Residence permit")),
]
LANGUAGE_CHOICES = [("fr", "Français"), ("de", "Deutsch"), ("en", "English")]


class LookupForm(BaseForm):
    class Meta:
        csrf = False  # a GET search; it changes nothing

    matricule = StringField(_l("Patient's national identification number"), validators=[DataRequired(), Matricule()])
    # Typed from the patient's document and compared, never shown: the page must not tell a
    # doctor a birth date that an activation then asks for.
    birth_date = DateField(
        _l("Patient's date of birth"),
        validators=[DataRequired(message=_l("Enter a date.")), PlausibleBirthDate()],
    )
    submit = SubmitField(_l("Find the patient"))


class IssueActivationForm(BaseForm):
    matricule = HiddenField(validators=[DataRequired(), Matricule()])
    # The look-up's birth date, checked again: issuing names nobody the doctor did not identify.
    birth_date = DateField(widget=HiddenInput(), validators=[DataRequired()])
    document_type = SelectField(_l("Document checked"), choices=DOCUMENT_CHOICES, validators=[DataRequired()])
    document_last4 = StringField(
        _l("Last four characters of the document number"),
        validators=[DataRequired(), Regexp(r"^[A-Za-z0-9]{4}$", message=_l("Enter exactly four letters or digits."))],
    )
    mobile = TelField(_l("Mobile number confirmed with the patient"), validators=[DataRequired(), Mobile()])
    language = SelectField(_l("Language of the instructions"), choices=LANGUAGE_CHOICES)
    guardian_matricule = StringField(
        _l("Parent's national identification number"),
        validators=[Optional(), Matricule()],
        description=_l("For a child under 18: the parent who will manage the child's space."),
    )
    parental_link = BooleanField(_l("I checked the parent's identity and the parental link."))
    identity_checked = ticked(_l("I checked this identity document in person."),
                              _l("Confirm that you checked the document."))
    submit = SubmitField(_l("Issue the activation code"))


class TokenForm(BaseForm):
    token = HiddenField(validators=[DataRequired(), Length(max=64)])
    submit = SubmitField(_l("Download the letter (PDF)"))


class RevokeForm(BaseForm):
    submit = SubmitField(_l("Revoke"))


class InvoiceLineForm(Form):
    """One act line; the fee is never taken from the browser."""

    class Meta:
        kept_fields = "blank"  # an empty line is written once per language (form_fields.py)

    code = StringField(_l("Act code"), validators=[Optional(), Length(max=10)])
    quantity = IntegerField(_l("Quantity"), validators=[Optional()], default=1)


YES_NO = [("yes", _l("Yes")), ("no", _l("No"))]


class InvoiceForm(OnceForm):
    class Meta:
        kept_fields = "blank"  # an empty field is written once per language (form_fields.py)

    matricule = StringField(_l("Patient's national identification number"), validators=[DataRequired(), Matricule()])
    service_date = DateField(_l("Date of service"), validators=[DataRequired(message=_l("Enter a date."))])
    lines = FieldList(FormField(InvoiceLineForm), min_entries=4, max_entries=12)
    paid_on_site = RadioField(_l("Was the invoice paid at the practice?"), choices=YES_NO, default="yes")
    payer_is_patient = RadioField(_l("Is the patient the payer?"), choices=YES_NO, default="yes")
    settlement = RadioField(
        _l("How is the fee settled?"),
        choices=[("full", _l("The patient pays the whole fee and is reimbursed by the fund")),
                 ("direct", _l("Direct payment: the patient pays only their share, the fund pays you the rest")),
                 ("paper", _l("The patient prefers a paper invoice (printed with its QR code)"))],
        default="full",
    )
    consent_by = RadioField(
        _l("Who agreed to direct payment?"),
        choices=[("patient", _l("The patient")), ("guardian", _l("A parent or legal representative"))],
        validators=[Optional()],
    )
    consent_method = RadioField(
        _l("How was the agreement given?"),
        choices=[("signed", _l("Signed at the practice")), ("oral", _l("Said in person"))],
        validators=[Optional()],
    )
    # The voided invoice this one corrects, carried from its page's "issue a corrected invoice" link.
    replaces = HiddenField(validators=[Optional(), Regexp(r"^[0-9]{1,9}$")])
    preview = SubmitField(_l("Check the invoice"))
    add_line = SubmitField(_l("Add a line"))
    submit = SubmitField(_l("Issue the invoice"))


class BankAccountForm(StepUpForm):
    iban = StringField(
        _l("IBAN"), validators=[DataRequired(message=_l("Enter your IBAN.")), Length(max=42), valid_iban],
        description=_l("The practice's account: the fund pays direct payments only there."),
    )
    submit = SubmitField(_l("Save the bank account"))


class DoctorInvoiceFilterForm(InvoiceFilterForm):
    channel = SelectField(
        _l("Kind"),
        choices=[("", _l("All")), ("digital", _l("Digital")), ("paper_qr", _l("Paper with QR code")),
                 ("paper", _l("Paper without QR code"))],
        validators=[Optional()], widget=KeptChoicesSelect(),
    )


class VoidForm(BaseForm):
    reason = TextAreaField(_l("Reason for voiding"), validators=[DataRequired(), Length(min=3, max=500)])
    submit = SubmitField(_l("Void the invoice"))
