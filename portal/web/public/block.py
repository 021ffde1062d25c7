"""/block: "block my account" for its owner (portal.accounts.owner_block). Works without JavaScript."""

from __future__ import annotations

from flask import current_app, g, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SubmitField

from portal.accounts import owner_block
from portal.core import htmx, i18n
from portal.core.forms import BaseForm, typed
from portal.extensions import db, limiter
from portal.web.access import PUBLIC, allow
from portal.web.public.blueprint import bp


class BlockLoginForm(BaseForm):
    login = typed(_l("Login"), max_length=64,
                  description=_l("For patients, the login is the 13-digit matricule."))
    submit = SubmitField(_l("Send me a code"))


class BlockCodeForm(BaseForm):
    code = typed(_l("Code you received"), max_length=32)
    submit = SubmitField(_l("Block my account now"))


def _limit():
    # Each step sends or checks a code: the same per-address budget as the other code pages.
    return limiter.shared_limit(lambda: current_app.config["CODE_RATE_LIMIT"], scope="CODE_RATE_LIMIT",
                                methods=["POST"])


@bp.route("/block", methods=["GET", "POST"])
@allow(PUBLIC)
@_limit()
def block():
    g.no_store = True
    form = BlockLoginForm()
    if form.validate_on_submit():
        owner_block.begin(form.login.data, language=i18n.language())
        db.session.commit()
        return htmx.redirect(url_for("public.block_confirm"))
    return render_template("public/block.html", form=form)


@bp.route("/block/confirm", methods=["GET", "POST"])
@allow(PUBLIC)
@_limit()
def block_confirm():
    g.no_store = True
    if not owner_block.pending():
        return htmx.redirect(url_for("public.block"))
    form = BlockCodeForm()
    if form.validate_on_submit():
        if owner_block.finish(form.code.data):
            db.session.commit()
            return render_template("public/block_done.html")
        db.session.commit()  # the try counts
        form.code.errors.append(_("This code is not correct or no longer valid."))
        g.invalid_form = True
    return render_template("public/block_confirm.html", form=form)
