"""The doctor reads what patients reported wrong on their invoices."""

from __future__ import annotations

from flask import render_template

from portal import claims, ownership
from portal.access import allow
from portal.doctor.views import bp


@bp.get("/reports")
@allow("doctor")
def reports():
    doctor = ownership.current_doctor()
    return render_template("doctor/reports.html", reports=claims.open_reports(doctor.id))
