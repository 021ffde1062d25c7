"""The doctor's space."""

from __future__ import annotations

from flask import render_template

from portal.claims import sharing
from portal.web import ownership
from portal.web.access import allow
from portal.web.doctor.blueprint import bp


@bp.get("/")
@allow("doctor")
def home():
    doctor = ownership.current_doctor()
    return render_template("doctor/home.html", doctor=doctor, open_reports=sharing.open_report_count(doctor.id) if doctor else 0)
