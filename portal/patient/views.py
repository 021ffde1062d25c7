"""The patient's space (their own, or a child's a parent opened)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user

from portal import htmx, ownership, reactivation
from portal.access import allow
from portal.extensions import db
from portal.forms import BaseForm
from portal.numbers import whole_number

bp = Blueprint("patient", __name__, url_prefix="/patient")


@bp.get("/")
@allow("patient")
def home():
    return render_template("patient/home.html", person=ownership.acting_patient(),
                           reactivation=reactivation.waiting(current_user), cancel_form=BaseForm())


@bp.post("/space")
@allow("patient")
def switch_space():
    if not BaseForm().validate_on_submit():
        abort(400)
    choice = request.form.get("space", "")
    target = None if choice in ("", "self") else (whole_number(choice) or -1)  # -1 names nobody
    ownership.enter_space(target)  # not one of their children: refused
    db.session.commit()
    return htmx.redirect(url_for("patient.home"))


from portal.patient import claims as _claims  # noqa: E402,F401
from portal.patient import erasure as _erasure  # noqa: E402,F401
from portal.patient import export as _export  # noqa: E402,F401
from portal.patient import invoices as _invoices  # noqa: E402,F401  (registers routes on bp)
from portal.patient import my_data as _my_data  # noqa: E402,F401
from portal.patient import notifications as _notifications  # noqa: E402,F401
from portal.patient import reactivation as _reactivation  # noqa: E402,F401
from portal.patient import sharing as _sharing  # noqa: E402,F401
