"""The doctor's space."""

from __future__ import annotations

from flask import Blueprint, render_template

from portal import claims, ownership
from portal.access import allow

bp = Blueprint("doctor", __name__, url_prefix="/doctor")


@bp.get("/")
@allow("doctor")
def home():
    doctor = ownership.current_doctor()
    return render_template("doctor/home.html", doctor=doctor, open_reports=claims.open_report_count(doctor.id) if doctor else 0)


from portal.doctor import activations as _activations  # noqa: E402,F401  (registers routes on bp)
from portal.doctor import invoices as _invoices  # noqa: E402,F401
from portal.doctor import reports as _reports  # noqa: E402,F401
