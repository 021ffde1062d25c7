"""Contact the fund without signing in: for people who cannot (a lost phone, no account yet).

Two things keep robots out, neither needing JavaScript: a rate limit per address on sending,
and a sum to work out, drawn on the server. The page shows the question; only a keyed digest of
its answer travels, in the signed session cookie, so the answer cannot be read from the page or
the cookie, and each question is good for one try within CHALLENGE_MINUTES."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from flask import current_app, flash, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import EmailField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length

from portal.core import htmx, i18n
from portal.core.forms import OnceForm, sent_before, typed
from portal.extensions import db, limiter
from portal.helpdesk import requests as helpdesk
from portal.models import HelpRequest
from portal.web.access import PUBLIC, allow
from portal.web.forms import help_category, help_message
from portal.web.public.blueprint import bp

CHALLENGE_KEY = "help_challenge"
CHALLENGE_MINUTES = 30


class PublicHelpForm(OnceForm):
    name = typed(_l("Your name"), max_length=200)
    email = EmailField(_l("Your e-mail address"), validators=[
        DataRequired(message=_l("Enter the e-mail address the answer should go to.")),
        Email(message=_l("Enter an e-mail address such as name@example.lu.")), Length(max=254)],
        description=_l("The fund's answer is sent to this address."))
    category = help_category()
    message = help_message()
    answer = StringField(_l("Your answer"), validators=[DataRequired(message=_l("Write the answer in figures.")),
                                                        Length(max=8)])
    submit = SubmitField(_l("Send to the health fund"))


def _digest(nonce: str, answer: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"help:{nonce}:{answer}".encode(), hashlib.sha256).hexdigest()


def _new_question() -> tuple[int, int]:
    first, second = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    nonce = secrets.token_hex(8)
    session[CHALLENGE_KEY] = {"nonce": nonce, "digest": _digest(nonce, str(first + second)),
                              "at": int(time.time())}
    return first, second


def _answered(answer: str | None) -> bool:
    """Whether `answer` solves the question last shown; the question is used up either way."""
    drawn = session.pop(CHALLENGE_KEY, None)
    if not isinstance(drawn, dict) or not answer:
        return False
    if int(time.time()) - int(drawn.get("at", 0)) > CHALLENGE_MINUTES * 60:
        return False
    given = "".join(answer.split())
    return hmac.compare_digest(_digest(str(drawn.get("nonce", "")), given), str(drawn.get("digest", "")))


def _help_limit() -> str:
    return current_app.config["HELP_RATE_LIMIT"]


@bp.route("/help", methods=["GET", "POST"])
@allow(PUBLIC)
@limiter.limit(_help_limit, methods=["POST"])
def help():
    form = PublicHelpForm()
    if form.validate_on_submit():
        if not _answered(form.answer.data):
            form.answer.errors = [_("The answer to the question is not right. Try the new question.")]
        else:
            earlier = sent_before(HelpRequest, form.sent_token, patient_id=None, account_id=None)
            if earlier is None:
                earlier = helpdesk.file(form.category.data, form.message.data, contact_name=form.name.data,
                                        contact_email=form.email.data, language=i18n.language(),
                                        form_token=form.sent_token)
                db.session.commit()
            flash(_("Your message %(reference)s was sent to the health fund. The answer will come to the "
                    "e-mail address you gave.", reference=earlier.reference), "success")
            return htmx.redirect(url_for("public.help"))
    form.answer.data = ""  # a new question needs a new answer
    first, second = _new_question()
    # The question is the answer field's help text, so a screen reader reads it with the field.
    form.answer.description = _("What is %(first)s plus %(second)s? Write the answer in figures.",
                                first=first, second=second)
    html = render_template("public/help.html", form=form)
    return html, 400 if form.errors else 200
