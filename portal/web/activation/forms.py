from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, EmailField, PasswordField, StringField, SubmitField, TelField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from portal.activation import codes
from portal.core import clock
from portal.core.forms import BaseForm, OnceForm, ticked, typed
from portal.core.identity import (
    is_minor_on,
    matricule_birth_date,
)
from portal.web.forms import ContactCode, Matricule, Mobile, NewPasswordRules, PlausibleBirthDate


class TypedCodeForm(BaseForm):
    code = typed(
        _l("Activation code"), max_length=64,
        description=_l("The 20 letters and digits printed on your letter, for example 7KQ4-M2XD-…"),
    )
    submit = SubmitField(_l("Continue"))

    def validate_code(self, field):
        # A character left out or doubled is told at once; which codes exist never is.
        if field.data and not codes.has_code_length(field.data):
            raise ValidationError(_l(
                "An activation code has 20 letters and digits, in five groups of four. "
                "Check that none is missing or typed twice."
            ))


class BirthDateForm(BaseForm):
    birth_date = DateField(
        _l("Your date of birth"), validators=[DataRequired(message=_l("Enter a date.")), PlausibleBirthDate()]
    )
    submit = SubmitField(_l("Continue"))


class ContactCodeForm(BaseForm):
    contact_code = StringField(
        _l("Code we sent you"), validators=[DataRequired(), ContactCode()],
        description=_l("6 digits, valid for 10 minutes."),
    )
    submit = SubmitField(_l("Continue"))


class ResendForm(BaseForm):
    submit = SubmitField(_l("Send a new code"))


class ChoosePasswordForm(BaseForm):
    new_password = PasswordField(
        _l("Choose a password"),
        validators=[DataRequired(), NewPasswordRules(lambda form: form.rule_context)],
        description=_l("At least 12 characters. A few unrelated words make a strong, memorable password."),
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))],
    )
    submit = SubmitField(_l("Continue"))

    rule_context: tuple = ("", ())


class AcceptTermsForm(BaseForm):
    accept = BooleanField(_l("I have read and accept these terms of use."))
    submit = SubmitField(_l("Accept and finish"))


class IdentityRequestForm(OnceForm):
    matricule = StringField(_l("National identification number"), validators=[DataRequired(), Matricule()])
    surname = typed(_l("Surname"), max_length=100)
    given_name = typed(_l("First name"), max_length=100)
    birth_date = DateField(
        _l("Date of birth"), validators=[DataRequired(message=_l("Enter a date.")), PlausibleBirthDate()]
    )
    mobile = TelField(_l("Mobile number"), validators=[DataRequired(), Mobile()])
    email = EmailField(_l("E-mail (optional)"), validators=[Optional(), Email(), Length(max=254)])
    document = FileField(
        _l("Photo or scan of your identity card or passport"),
        validators=[FileRequired(message=_l("Choose a file."))],
        description=_l("JPEG, PNG or PDF, at most 5 MB."),
    )
    consent = ticked(
        _l("I agree that CNS staff use this document only to check my identity; it is deleted once they decide."),
        _l("Tick the box to send the request."),
    )
    submit = SubmitField(_l("Send the request"))

    def validate_birth_date(self, field):
        # The terms of use are for adults; a child's space is opened by a parent (README:
        # "Children"). The matricule begins with the birth date, so it is checked as well as
        # the typed date: a false date must not get a child past this.
        today = clock.today()
        births = [field.data]
        if self.matricule.data and not self.matricule.errors:
            births.append(matricule_birth_date(self.matricule.data))
        if any(is_minor_on(birth, today) for birth in births if birth):
            raise ValidationError(_l(
                "Only adults can ask for an account of their own. For a child under 18, a parent asks the "
                "child's doctor for an activation code and opens the child's space from their own account."
            ))
