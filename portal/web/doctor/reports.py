"""The doctor reads what patients reported wrong on their invoices."""

from __future__ import annotations

from flask import render_template

from portal.claims import sharing
from portal.web import ownership
from portal.web.access import allow
from portal.web.doctor.blueprint import bp


@bp.get("/reports")
@allow("doctor")
def reports():
    doctor = ownership.current_doctor()
    return render_template("doctor/reports.html", reports=sharing.open_reports(doctor.id))
