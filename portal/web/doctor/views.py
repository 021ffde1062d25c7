"""The doctor's space."""

from __future__ import annotations

from flask import render_template

from portal.claims import overview
from portal.web import ownership
from portal.web.access import allow
from portal.web.doctor.blueprint import bp


@bp.get("/")
@allow("doctor")
def home():
    doctor = ownership.current_doctor()
    facts = overview.for_doctor(doctor) if doctor else None
    return render_template("doctor/home.html", doctor=doctor, facts=facts)
