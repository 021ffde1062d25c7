"""The patient writes to their health fund ("Contact the fund") and reads its answers."""

from __future__ import annotations

from portal.helpdesk import requests as helpdesk
from portal.web import help_pages, ownership
from portal.web.access import allow
from portal.web.patient.blueprint import bp


@bp.route("/help", methods=["GET", "POST"])
@allow("patient")
def help():
    # In a child's space the message is about the child, and goes to the child's fund.
    patient = ownership.current_patient()
    return help_pages.person_page("patient.help", patient, lambda: helpdesk.of_patient(patient))
