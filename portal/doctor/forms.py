from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SelectField, StringField, SubmitField, TelField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from portal.activation.forms import Matricule, Mobile
from portal.forms import BaseForm

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
    submit = SubmitField(_l("Find the patient"))


class IssueActivationForm(BaseForm):
    matricule = HiddenField(validators=[DataRequired(), Matricule()])
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
    identity_checked = BooleanField(
        _l("I checked this identity document in person."),
        validators=[DataRequired(message=_l("Confirm that you checked the document."))],
    )
    submit = SubmitField(_l("Issue the activation code"))


class TokenForm(BaseForm):
    token = HiddenField(validators=[DataRequired(), Length(max=64)])
    submit = SubmitField(_l("Download the letter (PDF)"))


class RevokeForm(BaseForm):
    submit = SubmitField(_l("Revoke"))
