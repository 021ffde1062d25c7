from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.forms import BaseForm

TERMS_LIMIT = 100_000


class TermsPublishForm(BaseForm):
    text_fr = TextAreaField(_l("Text in French (authoritative)"), validators=[DataRequired(), Length(max=TERMS_LIMIT)])
    text_de = TextAreaField(_l("Text in German"), validators=[DataRequired(), Length(max=TERMS_LIMIT)])
    text_en = TextAreaField(_l("Text in English"), validators=[DataRequired(), Length(max=TERMS_LIMIT)])
    confirm = BooleanField(
        _l("I understand that every user will have to accept this version at their next visit."),
        validators=[DataRequired()],
    )
    submit = SubmitField(_l("Publish the new version"))


class ApproveForm(BaseForm):
    submit = SubmitField(_l("Approve and send an activation code"))


class RejectForm(BaseForm):
    reason = SelectField(_l("Reason"), validators=[DataRequired()])
    note = TextAreaField(_l("Note for the applicant (optional)"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Reject"))

    def __init__(self, *args, **kwargs):
        from portal.activation.requests import REJECTION_REASONS

        super().__init__(*args, **kwargs)
        self.reason.choices = list(REJECTION_REASONS.items())
