"""(being written) "Manage my personal data": the overview and the rights exercised from it."""

from flask import render_template
from flask_login import current_user

from portal import guardians
from portal.access import allow
from portal.patient.views import bp


@bp.get("/my-data")
@allow("patient", before_terms=True)
def my_data():
    return render_template("patient/my_data.html", person=guardians.acting_patient(current_user))
