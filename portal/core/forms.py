"""The base form every form of the portal extends, and the rules every form submission meets."""

from __future__ import annotations

import re
import secrets
from functools import cache

from babel import support
from flask import Flask, Response, abort, current_app, g, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.i18n import messages_path
from wtforms import BooleanField, FieldList, FormField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from portal.core import i18n
from portal.core.refused import Refused
from portal.extensions import db

# Control characters nobody types (tabs and line breaks are fine). PostgreSQL refuses NUL in
# text outright, and the others only hide what a text says: refused with a field error.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
NOT_ALLOWED = _l("This text contains a character that is not allowed.")


def strip(value):
    return value.strip() if isinstance(value, str) else value


def _leaves(fields):
    """Every plain field, including those inside lists of sub-forms."""
    for field in fields:
        if isinstance(field, FormField):
            yield from _leaves(field.form)
        elif isinstance(field, FieldList):
            yield from _leaves(field.entries)
        else:
            yield field


def _refuse_control_characters(form) -> bool:
    """Put the one clear error on each field whose input holds a control character."""
    clean = True
    for field in _leaves(form):
        if any(isinstance(raw, str) and CONTROL_CHARACTERS.search(raw) for raw in field.raw_data or ()):
            field.errors = [NOT_ALLOWED]
            clean = False
    if not clean:
        for field in form:  # a list keeps a copy of its entries' errors: take it again
            if isinstance(field, FieldList):
                field.errors = [entry.errors for entry in field.entries if entry.errors]
    return clean


@cache
def _wtforms_catalogue(language: str) -> support.NullTranslations:
    """WTForms' own messages ("Not a valid integer value.") in one language, read once per
    process. Flask-WTF reads the file again on every request, and asks for it through its
    context proxies for each field without a label (a form's hidden version, its CSRF token)."""
    return support.Translations.load(messages_path(), [language], domain="wtforms")


class BaseForm(FlaskForm):
    """Strips surrounding white space from every text field and refuses control characters."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            if issubclass(unbound_field.field_class, (FieldList, FormField)):
                return unbound_field.bind(form=form, **options)  # they take no filters
            filters = unbound_field.kwargs.get("filters", [])
            if strip not in filters:
                filters = [strip, *filters]
            return unbound_field.bind(form=form, filters=filters, **options)

        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _wtforms_catalogue(i18n.language())

        def wrap_formdata(self, form, formdata):
            # No page sends JSON, yet Flask-WTF reads a JSON body as the form and hands its
            # numbers, lists and objects to fields that expect text: such a body fills no field.
            # (Flask-WTF's "read the request" default is the only formdata without getlist.)
            if formdata is not None and not hasattr(formdata, "getlist") and request.is_json:
                return None
            return super().wrap_formdata(form, formdata)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        return _refuse_control_characters(self) and valid

    def validate_on_submit(self, extra_validators=None) -> bool:
        valid = super().validate_on_submit(extra_validators)
        if not valid and self.is_submitted():
            g.invalid_form = True  # see _answer_invalid_forms_with_400
        return valid


def ticked(label, message=None) -> BooleanField:
    """A box that must be ticked to send the form; `message` says so when it was not."""
    return BooleanField(label, validators=[DataRequired(message=message)])


def typed(label, *, max_length: int, description="") -> StringField:
    """A short text a person must type or copy in (a login, a code, a name), of at most `max_length` characters."""
    return StringField(label, validators=[DataRequired(), Length(max=max_length)], description=description)


def written(label, *, missing, max_length: int, too_long=None, description="") -> TextAreaField:
    """A text that must be written (`missing` when it was not), of at most `max_length` characters."""
    return TextAreaField(label, validators=[DataRequired(message=missing), Length(max=max_length, message=too_long)],
                         description=description)


class OnceForm(BaseForm):
    """A form whose effect must happen once however often it is sent.

    The page draws a token when it shows the form; a double click, a second tab or a browser
    resending the post carries the same token again, and the row the first submission
    created keeps it (a unique column `form_token`). A post without it is taken as new."""

    once = HiddenField(default=lambda: secrets.token_hex(16), validators=[Optional(), Regexp(r"^[0-9a-f]{32}$")])

    @property
    def sent_token(self) -> str | None:
        """The token the page sent back; None for a post without one (taken as new)."""
        return (self.once.data or None) if self.once.raw_data else None


def require_valid(form: BaseForm) -> BaseForm:
    """A form that fails only when a person did not send it as the page offered it (a
    button, a list of choices, an expired or forged post): it gets the plain 400 page."""
    if not form.validate_on_submit():
        abort(400)
    return form


def attach(form: BaseForm, refused: Refused, *, field: str | None = None) -> None:
    """Put each problem a domain operation found on the field it names (by its name in the
    form, `lines-0-code` for a field in a list), the others on `field`, else on the form as a
    whole: the one place a domain error becomes form errors. The view chooses the status (a
    preview with errors is still a 200)."""
    by_name = {leaf.name: leaf for leaf in _leaves(form)}
    for name, messages in refused.fields.items():
        target = by_name.get(name or field or "")
        if target is None:
            form.form_errors.extend(messages)
        else:
            target.errors = [*target.errors, *messages]
    for entry in form:  # a list keeps a copy of its entries' errors: take it again
        if isinstance(entry, FieldList):
            entry.errors = [sub.errors for sub in entry.entries if sub.errors]


def sent_before(model, token: str | None, **owner):
    """The row an earlier submission of the same form created, if there is one.

    `owner` names who the row must belong to (patient_id=…): a token found on someone else's
    row came from a page this person was never shown, and the request is refused (400).
    Two submissions of one signed-in account run one after the other (portal.accounts.sessions),
    so the first has committed by the time the second asks."""
    if not token:
        return None
    row = db.session.scalar(db.select(model).where(model.form_token == token))
    if row is not None and any(getattr(row, name) != value for name, value in owner.items()):
        abort(400)
    return row


def _answer_invalid_forms_with_400(response: Response) -> Response:
    # A form sent back with its errors is a 400, whichever view rendered it; htmx is told to
    # swap 400 answers in (templates/layouts/base.html), so the errors still show.
    if g.get("invalid_form") and response.status_code == 200 and "HX-Redirect" not in response.headers:
        response.status_code = 400
    return response


def init_app(app: Flask) -> None:
    app.after_request(_answer_invalid_forms_with_400)
