"""The owner cancels a new activation of their account while it waits (portal.reactivation)."""

from __future__ import annotations

from flask import flash, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import htmx, reactivation
from portal.access import allow
from portal.extensions import db
from portal.forms import BaseForm, require_valid
from portal.patient.views import bp


@bp.post("/reactivation/cancel")
@allow("patient")
def cancel_reactivation():
    require_valid(BaseForm())
    pending = reactivation.waiting(current_user)
    if pending is not None and reactivation.cancel(pending, by="owner"):
        db.session.commit()
        flash(_("The new activation is cancelled. Your password and authenticator stay as they are."), "success")
    return htmx.redirect(url_for("patient.home"))
