"""The owner cancels a new activation of their account while it waits (portal.accounts.reactivation)."""

from __future__ import annotations

from flask import flash, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts import reactivation
from portal.core import htmx
from portal.core.forms import BaseForm, require_valid
from portal.extensions import db
from portal.web.access import allow
from portal.web.patient.blueprint import bp


@bp.post("/reactivation/cancel")
@allow("patient")
def cancel_reactivation():
    require_valid(BaseForm())
    pending = reactivation.waiting(current_user)
    if pending is not None and reactivation.cancel(pending, by="owner"):
        db.session.commit()
        flash(_("The new activation is cancelled. Your password and authenticator stay as they are."), "success")
    return htmx.redirect(url_for("patient.home"))
