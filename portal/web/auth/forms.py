from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, ValidationError

from portal.accounts import passwords
from portal.core.forms import BaseForm, typed
from portal.web.forms import ContactCode, NewPasswordRules, SixDigits, password_field


def new_password_fields(context=lambda form: ("", ())):
    new = PasswordField(
        _l("New password"),
        validators=[DataRequired(), NewPasswordRules(context)],
        description=_l("At least 12 characters. A few unrelated words make a strong, memorable password."),
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))],
    )
    return new, confirm


class LoginForm(BaseForm):
    login = typed(
        _l("Login"),
        max_length=64,
        description=_l(
            "Patients: your 13-digit national identification number. Doctors: your provider code. CNS staff: your staff id."
        ),
    )
    password = password_field()
    submit = SubmitField(_l("Continue"))


class CodeForm(BaseForm):
    code = StringField(_l("One-time code"), validators=[DataRequired(), SixDigits()])
    submit = SubmitField(_l("Sign in"))


class RecoveryForm(BaseForm):
    code = typed(_l("Recovery code"), max_length=32)
    submit = SubmitField(_l("Sign in"))


class UnlockForm(BaseForm):
    password = password_field()
    submit = SubmitField(_l("Unlock"))


class ForgotForm(BaseForm):
    login = typed(_l("Login"), max_length=64)
    code = typed(
        _l("One-time code or recovery code"), max_length=32,
        description=_l("The 6-digit code from your authenticator app, or one of your recovery codes."),
    )
    submit = SubmitField(_l("Continue"))


class ResetConfirmForm(BaseForm):
    """The second step of a reset: the code sent to the register's contact, and the new password."""

    code = StringField(_l("Code we sent you"), validators=[DataRequired(), ContactCode()])
    new_password, confirm = new_password_fields(lambda form: form.rule_context)
    submit = SubmitField(_l("Set the new password"))

    rule_context: tuple = ("", ())


class PasswordChangeForm(BaseForm):
    current_password = password_field(_l("Current password"))
    code = typed(
        _l("One-time code"), max_length=16,
        description=_l("The 6-digit code your authenticator app shows now."),
    )
    new_password, confirm = new_password_fields(lambda form: form.rule_context)
    submit = SubmitField(_l("Change the password"))

    rule_context: tuple = ("", ())


class NewPasswordForm(BaseForm):
    """The first sign-in with a password an operator gave: the person chooses their own."""

    new_password, confirm = new_password_fields(lambda form: form.rule_context)
    submit = SubmitField(_l("Set the new password"))

    rule_context: tuple = ("", ())
    given_hash: str | None = None  # the hash of the password the operator gave

    def validate_new_password(self, field):
        # The operator saw that password: keeping it would keep it known to someone else.
        if self.given_hash and passwords.verify_password(self.given_hash, field.data or ""):
            raise ValidationError(_l("Choose a password other than the one you were given."))


class TermsForm(BaseForm):
    accept = BooleanField(_l("I have read and accept these terms of use."))
    submit = SubmitField(_l("Accept and continue"))
    refuse = SubmitField(_l("I do not accept"))


class ConfirmForm(BaseForm):
    """A button that only needs the CSRF token."""

    submit = SubmitField(_l("Confirm"))
