"""The legal notice: who publishes the portal, where, and who hosts it, from the configuration."""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import lazy_gettext as _l

from portal.web.access import PUBLIC, allow
from portal.web.public.blueprint import bp

# (setting, label) in the order the page lists them.
ROWS = (
    ("LEGAL_PUBLISHER", _l("Publisher")),
    ("LEGAL_ADDRESS", _l("Address")),
    ("LEGAL_PHONE", _l("Telephone")),
    ("LEGAL_REGISTER", _l("Company or register number")),
    ("LEGAL_HOST", _l("Host")),
    ("PUBLIC_CONTACT_EMAIL", _l("Contact")),
)


@bp.get("/legal")
@allow(PUBLIC)
def legal_notice():
    config = current_app.config
    rows = [(name, label, config[name], name in config["LEGAL_DEMO_FIELDS"]) for name, label in ROWS]
    return render_template("public/legal.html", rows=rows, any_demo=bool(config["LEGAL_DEMO_FIELDS"]))
