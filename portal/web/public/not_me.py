"""The "this wasn't me" link of a security alert (portal.accounts.security_alerts): one button blocks the
account at once and ends its sessions; CNS staff see the block in their list of blocked accounts."""

from __future__ import annotations

from flask import current_app, g, render_template
from flask_babel import lazy_gettext as _l
from wtforms import SubmitField

from portal.accounts import security_alerts
from portal.core.forms import BaseForm
from portal.extensions import db, limiter
from portal.web.access import PUBLIC, allow
from portal.web.public.blueprint import bp


class BlockForm(BaseForm):
    submit = SubmitField(_l("Block my account now"))


@bp.route("/not-me/<token>", methods=["GET", "POST"])
@allow(PUBLIC)
@limiter.limit(lambda: current_app.config["ACTIVATION_RATE_LIMIT"])
def not_me(token: str):
    g.no_store = True
    alert = security_alerts.find(token)
    if alert is None:
        return render_template("public/not_me.html", state="unknown"), 404
    form = BlockForm()
    if form.validate_on_submit():
        security_alerts.use(alert)
        db.session.commit()
        return render_template("public/not_me.html", state="blocked")
    return render_template("public/not_me.html", state="ask", form=form, kind=security_alerts.KINDS[alert.kind])
