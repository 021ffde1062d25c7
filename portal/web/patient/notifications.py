"""The patient's notices: the page that lists (and reads) them, and the polled counter."""

from __future__ import annotations

from flask import render_template
from sqlalchemy.orm import joinedload

from portal.claims import states
from portal.core import htmx
from portal.core.database import requested_page
from portal.extensions import db
from portal.models import Notification
from portal.web import ownership
from portal.web.access import allow
from portal.web.patient.blueprint import bp

PAGE_SIZE = 20


@bp.get("/notifications", endpoint="notifications")
@allow("patient")
def notifications_list():
    patient = ownership.current_patient()
    listing = requested_page(
        db.select(Notification).where(Notification.patient_id == patient.id)
        .options(joinedload(Notification.claim))
        .order_by(Notification.created_at.desc(), Notification.id.desc()),
        PAGE_SIZE,
    )
    # Showing a notice reads it, as in a mail client: the ones on this page, not those of a
    # later page, which keep their mark until their page is shown, so the counter in the menu
    # always counts what the list marks "New". The rows loaded above keep their mark for this
    # rendering (the UPDATE does not touch loaded objects).
    new_ids = {notice.id for notice in listing["rows"] if notice.is_new}
    states.mark_read(patient.id, ids=new_ids)
    html = htmx.render(
        "patient/notifications.html", "patient/_notification_rows.html", **listing, person=patient, new_ids=new_ids,
    )
    db.session.commit()
    return html


@bp.get("/notifications/count", endpoint="notification_count")
@allow("patient", background=True)  # polling is not activity: it must not keep an idle session open
def notification_count():
    return render_template("patient/_notification_count.html")
