"""The doctor reads what patients reported wrong on their invoices."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from portal import accounts
from portal.claims import sharing
from portal.web.access import allow
from portal.web.doctor.blueprint import bp


@bp.get("/reports")
@allow("doctor")
def reports():
    doctor = accounts.profile(current_user)
    return render_template("doctor/reports.html", reports=sharing.open_reports(doctor.id))
