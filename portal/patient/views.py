"""The patient's space (their own, or a child's a parent opened)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user

from portal import guardians, htmx
from portal.access import allow, refuse
from portal.extensions import db
from portal.forms import BaseForm

bp = Blueprint("patient", __name__, url_prefix="/patient")


@bp.get("/")
@allow("patient")
def home():
    return render_template("patient/home.html", person=guardians.acting_patient(current_user))


@bp.post("/space")
@allow("patient")
def switch_space():
    if not BaseForm().validate_on_submit():
        abort(400)
    choice = request.form.get("space", "")
    # An id is a few ASCII digits ("²".isdigit() is true too, and int() refuses it).
    digits = choice.isascii() and choice.isdigit() and len(choice) <= 9
    target = None if choice in ("", "self") else (int(choice) if digits else -1)
    if guardians.switch(current_user, target) is None:
        refuse("patient", target if target and 0 < target < 2**31 else None)  # not one of their children
    db.session.commit()
    return htmx.redirect(url_for("patient.home"))


from portal.patient import claims as _claims  # noqa: E402,F401
from portal.patient import erasure as _erasure  # noqa: E402,F401
from portal.patient import export as _export  # noqa: E402,F401
from portal.patient import invoices as _invoices  # noqa: E402,F401  (registers routes on bp)
from portal.patient import my_data as _my_data  # noqa: E402,F401
from portal.patient import notifications as _notifications  # noqa: E402,F401
from portal.patient import sharing as _sharing  # noqa: E402,F401
