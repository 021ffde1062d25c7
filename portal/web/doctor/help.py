"""The doctor writes to the CNS ("Contact the fund") and reads its answers."""

from __future__ import annotations

from flask_login import current_user

from portal.helpdesk import requests as helpdesk
from portal.web import help_pages
from portal.web.access import allow
from portal.web.doctor.blueprint import bp


@bp.route("/help", methods=["GET", "POST"])
@allow("doctor")
def help():
    return help_pages.person_page("doctor.help", None, lambda: helpdesk.of_doctor(current_user))
