"""The portable export, requested and downloaded from "Manage my personal data"."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import Response, abort, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.core import clock, htmx, i18n
from portal.core.forms import OnceForm, require_valid, sent_before
from portal.extensions import db, limiter
from portal.models import DataExport, DataRequest, ExportState
from portal.privacy import export
from portal.web import ownership
from portal.web.access import allow, refuse
from portal.web.patient.blueprint import bp

# The link's token is shown once and stored only as a hash, so the page can offer the link
# again only from the browser that asked: the signed session cookie keeps it for the hour.
SESSION_KEY = "export_token"
# The reference of the request just made, for the confirmation panel of the page it leads to.
REQUESTED_KEY = "export_requested"


class ExportForm(OnceForm):
    """The button that prepares an export: a second click while the first one builds the ZIP
    prepares no second export."""


def _limit_key() -> str:
    # Building the ZIP renders every PDF, so it is lightly limited per signed-in session.
    # The limiter runs before the session is loaded: key on a digest of the session cookie.
    sid = session.get("sid") or ""
    return "export:" + hashlib.sha256(sid.encode()).hexdigest()


def _language(person) -> str:
    account = person.account
    return (account.preferred_language if account else None) or i18n.language()


@bp.post("/my-data/export")
@allow("patient")
@limiter.limit("10/hour", key_func=_limit_key, methods=["POST"])
def export_request():
    form = require_valid(ExportForm())
    person = ownership.current_patient()
    if sent_before(DataRequest, form.sent_token, patient_id=person.id) is not None:
        # The same click again: the first answer carries the link. This one leaves the session
        # cookie alone, so it cannot overwrite the cookie that holds the link.
        return htmx.redirect(url_for("patient.my_data", _anchor="export"))
    made, token = export.create(person, by=current_user, language=_language(person), form_token=form.sent_token)
    db.session.commit()
    export.delete_replaced()
    session[SESSION_KEY] = token
    # The page answers with a confirmation panel, once, naming the request this form made. No
    # #export in the address: a page opened on a fragment ignores autofocus, and the panel's focus
    # brings it into view anyway.
    session[REQUESTED_KEY] = export.reference_of(made)
    return htmx.redirect(url_for("patient.my_data"))


@bp.get("/my-data/export/progress")
@allow("patient")
def export_progress():
    """What the export section says while a job builds the ZIP, polled by htmx every 2 seconds.
    Without JavaScript the page has a link that loads it again; this answers that with the page."""
    if not htmx.is_partial():
        return htmx.redirect(url_for("patient.my_data", _anchor="export"))
    offer = _export_section()
    html = render_template("patient/_export_progress.html", offer=offer, announce=True)
    # 286 tells htmx to stop polling, once there is nothing more to wait for.
    return html, 200 if offer and (offer["under_way"] or _link_on_its_way(offer)) else 286


# A job run in the request that asked for it (no Redis) finishes before that request's answer
# brings this browser the link's cookie: a poll in between sees the export ready but no link.
LINK_GRACE = timedelta(seconds=20)


def _link_on_its_way(offer: dict) -> bool:
    made = offer["export"]
    return offer["url"] is None and export.is_ready(made) and export.ready_since(made) < LINK_GRACE


@bp.get("/my-data/export/<token>")
@allow("patient")
def export_download(token: str):
    made = export.find(token, ownership.current_patient())
    if made is None:
        refuse("export")  # the token is a secret: never written to the trail
    if not export.is_ready(made):  # not built yet, or it failed: the page says which
        return htmx.redirect(url_for("patient.my_data", _anchor="export"))
    if not export.is_live(made):
        return render_template(
            "errors/error.html", code=410, title=_("This download link has expired"),
            message=_("For your safety, an export can be downloaded for one hour only. "
                      "Request a new one on the page “Manage my personal data”."),
        ), 410
    content = export.download(made, by=current_user)
    if content is None:
        abort(404)
    db.session.commit()
    name = f"my-data-{clock.today().isoformat()}.zip"
    return Response(content, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    })


def _export_section() -> dict | None:
    """What the export section of the page shows: the live export, and its link if this
    browser asked for it. A callable, so the query runs only where the section is shown."""
    if not getattr(current_user, "is_authenticated", False) or current_user.role != "patient":
        return None
    person = ownership.acting_patient()
    return section_of(export.live_for(person) if person is not None else None)


def section_of(made: DataExport | None) -> dict | None:
    """The export section for `made`, the live export, when the page already read it."""
    requested = None if htmx.is_partial() else session.pop(REQUESTED_KEY, None)
    if made is None:
        return None
    token = session.get(SESSION_KEY)
    offered = export.is_ready(made) and export.matches(made, token)
    return {
        "export": made,
        "under_way": made.state in ExportState.UNDER_WAY,
        "url": url_for("patient.export_download", token=token) if offered else None,
        # Set on the page the request leads to (once), never in the polled fragment.
        "requested": requested,
    }


@bp.app_context_processor
def _inject():
    return {"my_data_export": _export_section, "export_form": ExportForm}
