from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp
from wtforms.widgets import HiddenInput, TextInput

from portal.activation.requests import REJECTION_REASONS
from portal.claims import review
from portal.claims.statistics import MAX_PERIOD_YEARS, Period
from portal.core.forms import BaseForm, ticked, written
from portal.core.numbers import MAX_ID
from portal.invoicing.invoices import add_years
from portal.models import Fund
from portal.web import states
from portal.web.form_fields import KeptChoicesSelect

TERMS_LIMIT = 100_000


class TermsPublishForm(BaseForm):
    text_fr = TextAreaField(_l("Text in French (authoritative)"), validators=[DataRequired(), Length(max=TERMS_LIMIT)])
    text_de = TextAreaField(_l("Text in German"), validators=[DataRequired(), Length(max=TERMS_LIMIT)])
    text_en = TextAreaField(_l("Text in English"), validators=[DataRequired(), Length(max=TERMS_LIMIT)])
    confirm = BooleanField(
        _l("I understand that every user will have to accept this version at their next visit."),
        validators=[DataRequired()],
    )
    # Step-up: publishing forces every user to re-accept, so a copied cookie alone must not do it.
    code = StringField(_l("Code from your authenticator app"), validators=[Length(max=20)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})
    submit = SubmitField(_l("Publish the new version"))


class ApproveForm(BaseForm):
    submit = SubmitField(_l("Approve and send an activation code"))


class RejectForm(BaseForm):
    reason = SelectField(_l("Reason"), validators=[DataRequired()])
    note = TextAreaField(_l("Note for the applicant (optional)"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Reject"))

    def __init__(self, *args, **kwargs):

        super().__init__(*args, **kwargs)
        self.reason.choices = list(REJECTION_REASONS.items())


# --- Claims -----------------------------------------------------------------------------------

MAX_EUROS = Decimal("1000000")  # no medical invoice comes near; anything above is a typo
MAX_VERSION = MAX_ID  # the column is a 32-bit integer; a bigger number would fail in the database
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)

STATE_CHOICES = list(states.labels("claim").items())  # the words of every page (portal/web/states.py)
FUND_CHOICES = [(fund.value, fund.value) for fund in Fund]
CHANNEL_CHOICES = [("digital", _l("Digital")), ("paper_qr", _l("Paper with QR code"))]
SORT_CHOICES = [
    ("oldest", _l("Oldest first")), ("newest", _l("Newest first")),
    ("amount_high", _l("Highest amount first")), ("amount_low", _l("Lowest amount first")),
]
REJECTION_LABELS = {
    "not_covered": _l("The act is not covered"), "duplicate": _l("The invoice was already reimbursed"),
    "not_insured": _l("The person was not insured on the date of service"),
    "incomplete": _l("The invoice is incomplete"), "other": _l("Other reason (explain below)"),
}


def euros(form, field) -> None:
    """A sum of money in euros: finite, not negative, not absurd, whole cents."""
    value = field.data
    if value is None:
        return
    # Decimal("NaN") compares by raising, so it is refused before any comparison.
    if not value.is_finite() or value < 0 or value > MAX_EUROS:
        raise ValidationError(_l("Enter an amount between 0 and 1,000,000 euros."))
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError(_l("Enter an amount with at most two decimals."))


def version_number(form, field) -> None:
    # Not wtforms' NumberRange: it asks math.isnan() of the number, which overflows (a 500)
    # on an integer of more than 308 digits. A version out of range is a stale or forged form.
    if field.data is not None and not 0 <= field.data <= MAX_VERSION:
        raise ValidationError(_l("The form expired or did not come from this portal. Please reload the page and try again."))


def plausible_date(form, field) -> None:
    if field.data is not None and not EARLIEST <= field.data <= LATEST:
        raise ValidationError(_l("Enter a date between 2000 and 2100."))


class EuroField(DecimalField):
    """Euros as people type them here: a decimal comma is as good as a point."""

    widget = TextInput()  # a number input would refuse the comma in some browsers

    def process_formdata(self, valuelist):
        super().process_formdata([value.replace(",", ".").replace(" ", "") for value in valuelist])


def cents(value: Decimal | None) -> int | None:
    return None if value is None else int(value * 100)


KEPT = KeptChoicesSelect()  # the queue's and the decisions' choices change only with the language


class QueueFilterForm(BaseForm):
    class Meta:
        csrf = False  # a GET search; it changes nothing
        kept_fields = True  # and its fields, fixed but for their values, are written once (form_fields.py)

    state = SelectField(_l("State"), choices=[("", _l("All")), *STATE_CHOICES], default="shared", widget=KEPT)
    fund = SelectField(_l("Health fund"), choices=[("", _l("All")), *FUND_CHOICES], default="", widget=KEPT)
    date_from = DateField(_l("Shared from"), validators=[Optional(), plausible_date])
    date_to = DateField(_l("Shared until"), validators=[Optional(), plausible_date])
    doctor = StringField(
        _l("Doctor's provider code"),
        validators=[Optional(), Regexp(r"^[0-9A-Za-z]{1,12}$", message=_l("Enter a provider code of letters and digits."))],
    )
    amount_min = EuroField(_l("Total from (€)"), validators=[Optional(), euros])
    amount_max = EuroField(_l("Total up to (€)"), validators=[Optional(), euros])
    channel = SelectField(_l("Channel"), choices=[("", _l("All")), *CHANNEL_CHOICES], default="", widget=KEPT)
    sort = SelectField(_l("Order"), choices=SORT_CHOICES, default="oldest", widget=KEPT)
    submit = SubmitField(_l("Filter"))

    def validate_date_to(self, field) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date cannot be before the start date."))

    def validate_amount_max(self, field) -> None:
        low = self.amount_min.data
        if field.data is not None and low is not None and low.is_finite() and field.data.is_finite() and field.data < low:
            raise ValidationError(_l("The highest total cannot be below the lowest."))


class TakeUpForm(BaseForm):
    submit = SubmitField(_l("Take up this claim"))


class AcceptForm(BaseForm):
    class Meta:
        kept_fields = "blank"  # written once per language while empty (form_fields.py); the amount is the claim's

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired(), version_number])
    amount = EuroField(
        _l("Amount reimbursed (€)"), validators=[InputRequired(message=_l("Enter the amount.")), euros],
        description=_l("The amount computed from the nomenclature is filled in. Change it only with a reason."),
    )
    # Their own ids: the rejection form on the same page has `reason` and `note` fields too, and
    # a label points at the first element with its id. No reason is chosen in advance; one is
    # needed only for another amount than the computed one (review.check_acceptance).
    reason = SelectField(
        _l("Reason for a different amount"), id="adjustment_reason", validators=[Optional()],
        choices=[("", _l("Choose a reason")), *review.ADJUSTMENT_REASONS.items()], default="", widget=KEPT,
        description=_l("Only when you change the amount."),
    )
    note = TextAreaField(
        _l("Explanation of the amount for the patient"), id="adjustment_note", validators=[Optional(), Length(max=2000)],
        description=_l("Required with the reason \"Another reason, explained in the note\"."),
    )
    # Shown only when the patient's bank account changed recently (review.iban_is_new).
    iban_checked = BooleanField(_l("I checked that the new bank account belongs to the patient"))
    # Sent only by the confirmation page (cns/confirm_decision.html): without it a decision that
    # needs confirming is shown back to the agent to confirm, and nothing is saved.
    confirmed = BooleanField(widget=HiddenInput(), false_values=("", "false", "0", "n"))
    submit = SubmitField(_l("Accept and issue the statement"))
    confirm = SubmitField(_l("Confirm: accept this amount"))
    change = SubmitField(_l("Change the decision"))  # back to the claim's page, the form as it was filled


class ClaimRejectForm(BaseForm):
    class Meta:
        kept_fields = "blank"

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired(), version_number])
    # No reason is chosen in advance: a rejection is never one click on a form sent as it came.
    reason = SelectField(
        _l("Reason for rejection"), validators=[DataRequired(message=_l("Choose the reason for the rejection."))],
        choices=[("", _l("Choose a reason")), *((reason, REJECTION_LABELS[reason]) for reason in review.REJECTION_REASONS)],
        default="", widget=KEPT,
    )
    note = TextAreaField(
        _l("Explanation for the patient"), validators=[Optional(), Length(max=2000)],
        description=_l("Required when the reason is \"Other reason\"."),
    )
    confirmed = BooleanField(widget=HiddenInput(), false_values=("", "false", "0", "n"))
    submit = SubmitField(_l("Reject the claim"))
    confirm = SubmitField(_l("Confirm: reject the claim"))
    change = SubmitField(_l("Change the decision"))


class UndoDecisionForm(BaseForm):
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired(), version_number])
    submit = SubmitField(_l("Undo the rejection"))


class InfoRequestForm(BaseForm):
    class Meta:
        kept_fields = "blank"

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired(), version_number])
    question = written(_l("Question for the patient"), missing=_l("Write the question."), max_length=2000)
    submit = SubmitField(_l("Ask the patient"))


class PaperIntakeForm(BaseForm):
    photo = FileField(
        _l("Photo of the QR code"), description=_l("A JPEG or PNG picture, at most 5 MB."),
        render_kw={"accept": "image/png,image/jpeg"},
    )
    payload = StringField(
        _l("Text of the QR code"), validators=[Optional(), Length(max=1000)],
        description=_l("With a hand scanner: click here and scan the code; its text appears in this field."),
    )
    paid_on = DateField(
        _l("Date the patient paid"), validators=[Optional(), plausible_date],
        description=_l("As shown on the receipt or the bank statement in the envelope. Leave it empty if there is none."),
    )
    is_receipt_seen = BooleanField(_l("A receipt or another proof of payment is in the envelope"))
    submit = SubmitField(_l("Take in the invoice"))


class StatisticsForm(BaseForm):
    class Meta:
        csrf = False  # a GET report; it changes nothing

    date_from = DateField(_l("From"), validators=[Optional(), plausible_date])
    date_to = DateField(_l("To"), validators=[Optional(), plausible_date])
    submit = SubmitField(_l("Show"))

    def period(self, default: Period) -> Period | None:
        """The chosen period, a missing end taken from `default`; None with a field error if invalid."""
        if not self.validate():
            return None
        end = self.date_to.data or default.end
        start = self.date_from.data or end - (default.end - default.start)
        blamed = self.date_to if self.date_to.data else self.date_from
        if end < start:
            blamed.errors.append(_l("The end date cannot be before the start date."))
            return None
        if end > add_years(start, MAX_PERIOD_YEARS):
            blamed.errors.append(_l("Choose a period of two years at most."))
            return None
        return Period(start, end)


class GuardianConfirmForm(BaseForm):
    document_checked = ticked(_l("I checked a birth certificate or family book that shows this parental link."),
                              _l("Confirm that you checked the family document."))
    submit = SubmitField(_l("Confirm the link"))


class GuardianRefuseForm(BaseForm):
    submit = SubmitField(_l("Refuse the link"))


class AccountLookupForm(BaseForm):
    class Meta:
        csrf = False  # a GET search; it changes nothing

    login = StringField(_l("Login"), validators=[DataRequired(), Length(max=40)])
    submit = SubmitField(_l("Find the account"))


class _ReasonForm(BaseForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=200)])


class AdminBlockForm(_ReasonForm):
    submit = SubmitField(_l("Block the account"))


class AdminUnblockForm(_ReasonForm):
    submit = SubmitField(_l("Lift the block"))


class AdminDeactivateForm(_ReasonForm):
    confirm = ticked(_l("I understand that the account is closed for good."))
    submit = SubmitField(_l("Deactivate the account"))


class ActivationCheckForm(BaseForm):
    checked = ticked(_l("I checked this person's identity with the register and wrote to them by post."),
                     _l("Confirm that you checked the person and wrote to them."))
    submit = SubmitField(_l("Confirm the activation"))


class WaiveWaitForm(BaseForm):
    checked = ticked(_l("I checked with the person that this new activation is theirs."),
                     _l("Confirm that you checked with the person."))
    submit = SubmitField(_l("Apply it now"))
