"""The patient's space (their own, or a child's a parent opened)."""

from __future__ import annotations

from flask import g, render_template, request, url_for
from flask_login import current_user

from portal.accounts import reactivation
from portal.claims import overview
from portal.core import htmx
from portal.core.forms import BaseForm, require_valid
from portal.core.numbers import whole_number
from portal.extensions import db
from portal.web import ownership
from portal.web.access import allow
from portal.web.patient.blueprint import bp


@bp.get("/")
@allow("patient")
def home():
    person = ownership.acting_patient()
    facts = overview.for_patient(person, g.user_session) if person is not None else None
    # The counts tell whether a re-activation waits (almost never): only then is it read.
    waiting = reactivation.waiting(current_user) if facts is None or facts.reactivation_id else None
    return render_template("patient/home.html", person=person, facts=facts, reactivation=waiting,
                           cancel_form=BaseForm())


@bp.post("/space")
@allow("patient")
def switch_space():
    require_valid(BaseForm())
    choice = request.form.get("space", "")
    target = None if choice in ("", "self") else (whole_number(choice) or -1)  # -1 names nobody
    ownership.enter_space(target)  # not one of their children: refused
    db.session.commit()
    return htmx.redirect(url_for("patient.home"))
