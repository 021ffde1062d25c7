"""The patient's choice of channels per kind of message, and of the language messages are
written in. Security alerts and codes are listed but cannot be switched off."""

from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, SelectField, SubmitField

from portal import accounts
from portal.core import htmx
from portal.core.forms import BaseForm
from portal.extensions import db
from portal.messaging import preferences
from portal.privacy import rights
from portal.web.access import allow
from portal.web.patient.blueprint import bp
from portal.web.templating import LANGUAGE_NAMES


class MessageSettingsForm(BaseForm):
    language = SelectField(_l("Language of my messages"), choices=list(LANGUAGE_NAMES.items()))
    submit = SubmitField(_l("Save my choices"))


# One checkbox per kind and channel, named "<kind>-<channel>".
for _kind, _label in preferences.KINDS.items():
    for _channel in preferences.CHANNELS:
        setattr(MessageSettingsForm, f"{_kind}-{_channel}", BooleanField(_label))


def _boxes(form: MessageSettingsForm) -> dict[str, dict[str, BooleanField]]:
    return {kind: {channel: form[f"{kind}-{channel}"] for channel in preferences.CHANNELS}
            for kind in preferences.KINDS}


@bp.route("/settings/messages", methods=["GET", "POST"])
@allow("patient")
def message_settings():
    account = current_user._get_current_object()
    person = accounts.profile(account)
    form = MessageSettingsForm()
    boxes = _boxes(form)
    if form.validate_on_submit():
        chosen = {kind: [channel for channel, box in row.items() if box.data] for kind, row in boxes.items()}
        changed = preferences.choose(account, chosen)
        # The language is the account's, as on the contact page: the same rule sets it.
        changed = bool(rights.update_contact(person, mobile=person.mobile, email=person.email,
                                             language=form.language.data, by=account)) or changed
        db.session.commit()
        flash(_("Your choices have been saved.") if changed else _("Nothing was changed."), "success")
        return htmx.redirect(url_for("patient.message_settings"))
    if request.method == "GET":
        form.language.data = account.preferred_language or "fr"
        for kind, row in boxes.items():
            for channel, box in row.items():
                box.data = channel in preferences.channels(account, kind)
    return render_template("patient/message_settings.html", form=form, boxes=boxes, person=person,
                           kinds=preferences.KINDS), 400 if form.errors else 200
